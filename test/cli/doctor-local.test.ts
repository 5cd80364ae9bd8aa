import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../cli/doctor/report';
import { runNimbus, type Run } from '../support/nimbus-cli';
import { authHeaders, localNimbusTarget, type RunningTarget } from '../support/registry-target';

/** `nimbus doctor --json`: the report on stdout, the lines on stderr. */
async function doctor(registry: RunningTarget, args: string[] = [], options: Parameters<typeof runNimbus>[1] = {}): Promise<{ run: Run; report: DoctorReport }> {
  const run = await runNimbus(['doctor', registry.url, '--json', ...args], options);
  let report: DoctorReport;
  try {
    report = JSON.parse(run.stdout) as DoctorReport;
  } catch {
    throw new Error(`doctor printed no JSON report (exit ${run.code})\n${run.stderr}\n--- registry ---\n${registry.logs()}`);
  }
  return { run, report };
}

/** Every check passed, and what doctor pushed is gone from the registry. */
async function expectHealthyAndClean(registry: RunningTarget, { run, report }: { run: Run; report: DoctorReport }): Promise<void> {
  expect(run.code, run.stderr).toBe(0);
  expect(report.checks.map(({ name, status }) => [name, status])).toEqual(report.checks.map(({ name }) => [name, 'ok']));
  expect(report.checks.map(({ name }) => name)).toEqual([
    'login', 'first upload (wake)', 'upload Location', 'chunked PATCH 1.0 MiB', 'chunked PATCH 100.0 MiB', 'sized PATCH 32.0 MiB',
    'monolithic POST 1.0 MiB', 'monolithic PUT 32.0 MiB', 'cross-repository mount', 'manifest push and pull', 'blob pull (307, Range)',
  ]);
  for (const name of ['chunked PATCH 100.0 MiB', 'sized PATCH 32.0 MiB', 'monolithic PUT 32.0 MiB', 'blob pull (307, Range)']) {
    expect(report.checks.find((check) => check.name === name)!.bytesPerSecond, name).toBeGreaterThan(0);
  }
  expect(run.stderr).toMatch(/^ok {4}chunked PATCH 100\.0 MiB +[\d.]+ m?s +[\d.]+ [KMG]iB\/s {2}as docker/m);
  expect(run.stderr).toContain('all 11 checks passed');
  expect(report.cleanup).toEqual({ deleted: 9, notDeleted: [] });
  const [repository] = report.repositories;
  const tags = await fetch(`${registry.url}/v2/${repository}/tags/list`, { headers: authHeaders(registry) });
  if (tags.status === 200) expect(((await tags.json()) as { tags: string[] }).tags ?? []).toEqual([]);
  else expect(tags.status).toBe(404);
}

describe('nimbus doctor against npm start', () => {
  let registry: RunningTarget;
  beforeAll(async () => {
    registry = await localNimbusTarget().start();
  });
  afterAll(() => registry?.stop());

  it('passes every check, anonymously, and deletes what it pushed', async () => {
    const result = await doctor(registry);
    await expectHealthyAndClean(registry, result);
    expect(result.report.login).toBeNull();
    expect(result.report.checks[0]!.detail).toContain('anonymous: the registry asks for no login');
    expect(result.report.checks[1]!.detail).toContain('upload Locations point at the registry itself');
  }, 120_000);

  it('prints its help: the checks, the credentials, the exit status', async () => {
    const help = await runNimbus(['doctor', '--help']);
    expect(help.code).toBe(0);
    for (const words of ['Usage: nimbus doctor', '--password-stdin', 'NIMBUS_USERNAME', 'chunked PATCH', '--large', '--json', 'Exit status']) expect(help.stdout).toContain(words);
  });

  it('refuses a registry URL with a path, before any request', async () => {
    const run = await runNimbus(['doctor', `${registry.url}/team/app`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/nimbus: .*give the registry's origin only/);
  });
});

describe('nimbus doctor against NIMBUS_AUTH=on npm start', () => {
  let registry: RunningTarget;
  beforeAll(async () => {
    registry = await localNimbusTarget({ auth: true }).start();
  });
  afterAll(() => registry?.stop());

  it('logs in with --username and --password-stdin, passes every check and cleans up', async () => {
    const { username, password } = registry.credentials!;
    const result = await doctor(registry, ['-u', username, '--password-stdin'], { input: `${password}\n` });
    await expectHealthyAndClean(registry, result);
    expect(result.report.login).toBe(username);
    expect(result.report.checks[0]!.detail).toMatch(new RegExp(`^as ${username}: token from ${registry.url}/token in `));
  }, 120_000);

  it('takes NIMBUS_USERNAME and NIMBUS_PASSWORD as nimbus push does', async () => {
    const { username, password } = registry.credentials!;
    const { run, report } = await doctor(registry, ['--repository', 'team/doctor-env'], { env: { NIMBUS_USERNAME: username, NIMBUS_PASSWORD: password } });
    expect(run.code, run.stderr).toBe(0);
    expect(report.repositories).toEqual(['team/doctor-env', 'team/doctor-env-mount']);
  }, 120_000);

  it('fails at the login with a wrong password: 401 at /token, the rest skipped, exit 1', async () => {
    const { run, report } = await doctor(registry, ['-u', registry.credentials!.username, '--password-stdin'], { input: 'not the password\n' });
    expect(run.code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.checks[0]).toMatchObject({ name: 'login', status: 'fail', diagnosis: { id: 'login-refused' } });
    expect(report.checks.slice(1).every((check) => check.status === 'skip')).toBe(true);
    expect(run.stderr).toMatch(/^FAIL {2}login .*401 at \/token: wrong credentials or no grant/m);
    expect(run.stderr).toContain('1 of 1 checks failed, 10 skipped because of them');
  }, 60_000);

  it('fails without credentials, saying how to log in', async () => {
    const { run, report } = await doctor(registry);
    expect(run.code).toBe(1);
    const failed = report.checks.find((check) => check.status === 'fail')!;
    expect(failed.diagnosis!.id).toBe('login-required');
    expect(failed.diagnosis!.fix).toContain('--password-stdin');
  }, 60_000);
});
