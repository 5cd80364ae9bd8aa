import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../cli/doctor/report';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { runNimbus, type Run } from '../support/nimbus-cli';

/** `nimbus doctor --json` logged in as the target's admin: the report on stdout, the lines on stderr. */
async function doctor(registry: RunningDevAws, args: string[] = []): Promise<{ run: Run; report: DoctorReport }> {
  const { username, password } = registry.credentials;
  const run = await runNimbus(['doctor', registry.url, '--json', '-u', username, '--password-stdin', ...args], { input: `${password}\n` });
  try {
    return { run, report: JSON.parse(run.stdout) as DoctorReport };
  } catch {
    throw new Error(`doctor printed no JSON report (exit ${run.code})\n${run.stderr}\n--- dev:aws ---\n${registry.logs()}`);
  }
}

const statuses = (report: DoctorReport) => Object.fromEntries(report.checks.map(({ name, status }) => [name, status]));

describe('nimbus doctor against npm run dev:aws', () => {
  let registry: RunningDevAws;
  beforeAll(async () => {
    registry = await devAwsTarget().start();
  }, 180_000);
  afterAll(() => registry?.stop(), 60_000);

  it('passes every check, through the upload endpoint and the 307 to S3, and deletes what it pushed', async () => {
    const { run, report } = await doctor(registry);
    expect(run.code, `${run.stderr}\n--- dev:aws ---\n${registry.logs()}`).toBe(0);
    expect(Object.values(statuses(report)).every((status) => status === 'ok'), run.stderr).toBe(true);
    expect(report.checks).toHaveLength(11);
    const uploadHost = new URL(registry.uploadEndpoint()!.url).host;
    const detail = (name: string) => report.checks.find((check) => check.name === name)!.detail;
    expect(detail('first upload (wake)')).toMatch(new RegExp(`^(warm|cold): the upload POST answered in .*${uploadHost}`));
    expect(detail('upload Location')).toContain(`on ${uploadHost}, another host: followed without Authorization, as docker does; a forged capability is refused (404)`);
    expect(detail('blob pull (307, Range)')).toContain(`through the 307 to ${new URL(registry.s3Endpoint).host} (no Authorization sent there); digest verified`);
    expect(report.cleanup).toEqual({ deleted: 9, notDeleted: [] });
  }, 240_000);

  it('fails with the right diagnosis when the upload endpoint is down (stopped: it takes connections, answers nothing)', async () => {
    const endpoint = registry.uploadEndpoint()!;
    // SIGSTOP, not a kill: dev:aws restarts an endpoint that dies, as ECS does, but a stopped one stays down.
    process.kill(endpoint.pid, 'SIGSTOP');
    let result: { run: Run; report: DoctorReport };
    try {
      // Longer than the upload POST may wait for the endpoint (API Gateway's 30 s), so the POST's answer is seen.
      result = await doctor(registry, ['--timeout', '35']);
    } finally {
      process.kill(endpoint.pid, 'SIGCONT');
    }
    const { run, report } = result;
    expect(run.code).toBe(1);
    expect(statuses(report)).toEqual({
      login: 'ok',
      'first upload (wake)': 'fail',
      'upload Location': 'skip',
      'chunked PATCH 1.0 MiB': 'skip',
      'chunked PATCH 100.0 MiB': 'skip',
      'sized PATCH 32.0 MiB': 'skip',
      'monolithic POST 1.0 MiB': 'ok',
      'monolithic PUT 32.0 MiB': 'skip',
      'cross-repository mount': 'ok',
      'manifest push and pull': 'ok',
      'blob pull (307, Range)': 'ok',
    });
    const failed = report.checks[1]!;
    const host = new URL(endpoint.url).host;
    expect(failed.diagnosis).toMatchObject({ id: 'upload-endpoint-hung' });
    expect(failed.diagnosis!.cause).toBe(`the upload endpoint at ${host} accepted the connection but sent no answer for 35 s: it is stopped or hung (a process that is not scheduled, a task that lost its storage connections)`);
    expect(failed.during).toMatch(new RegExp(`^GET on the upload Location \\(the first request to ${host}\\), after the upload POST took `));
    expect(run.stderr).toMatch(/^FAIL {2}first upload \(wake\) .*the upload endpoint at .* accepted the connection but sent no answer/m);
    expect(run.stderr).toContain('1 of 6 checks failed, 5 skipped because of them');
    expect(report.cleanup!.notDeleted).toEqual([{ what: expect.stringMatching(/^upload session /), why: expect.stringContaining('the upload endpoint is down') }]);
  }, 240_000);
});

describe('nimbus doctor against npm run dev:aws without the upload endpoint', () => {
  let registry: RunningDevAws;
  beforeAll(async () => {
    registry = await devAwsTarget({ uploadEndpoint: false }).start();
  }, 180_000);
  afterAll(() => registry?.stop(), 60_000);

  it('fails the uploads over ~4.45 MiB with 413 from API Gateway, and says the upload endpoint is off', async () => {
    const { run, report } = await doctor(registry);
    expect(run.code).toBe(1);
    expect(statuses(report)).toMatchObject({
      'first upload (wake)': 'ok', 'upload Location': 'ok', 'chunked PATCH 1.0 MiB': 'ok',
      'chunked PATCH 100.0 MiB': 'fail', 'sized PATCH 32.0 MiB': 'fail', 'monolithic PUT 32.0 MiB': 'fail',
      'monolithic POST 1.0 MiB': 'ok', 'cross-repository mount': 'ok', 'manifest push and pull': 'ok', 'blob pull (307, Range)': 'ok',
    });
    // Sized bodies get API Gateway's 413; the dev stand-in, like a proxy, may cut a long chunked one instead.
    for (const check of report.checks.filter(({ status }) => status === 'fail')) {
      expect(check.diagnosis!.cause, check.name).toMatch(/^(413 from API Gateway \(Request (Entity Too Large|Too Long)\)|API Gateway closed the connection after [\d.]+ MiB of [\d.]+ MiB): uploads are going through the function/);
      expect(check.diagnosis!.cause, check.name).toContain('the upload endpoint is off (nimbus:uploadEndpoint)');
    }
    expect(report.cleanup!.notDeleted).toEqual([]);
  }, 240_000);
});
