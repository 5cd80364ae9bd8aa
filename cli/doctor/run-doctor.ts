import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { isRepositoryName } from '../../functions/core/names';
import { CliError } from '../errors';
import { readStdin } from '../io';
import { resolveCredentials } from '../push/credentials';
import { createProgress } from '../push/progress';
import { MiB, type Check, type DoctorContext, type Need } from './checks';
import { diagnose } from './diagnosis';
import { locationCheck, wakeCheck } from './endpoint-checks';
import { closeConnections, type Exchange } from './http';
import { cleanUp, Ledger } from './ledger';
import { responder, type Observation } from './observation';
import { loginCheck } from './login-check';
import { mountCheck, manifestCheck, pullCheck } from './registry-checks';
import { formatCheck, formatCleanup, formatSummary, type CheckResult, type DoctorReport } from './report';
import { CheckFailed, DoctorSession } from './session';
import { DEFAULT_SIZES, LARGE_SIZE, uploadChecks } from './upload-checks';

export interface DoctorOptions {
  username?: string;
  passwordStdin?: boolean;
  repository?: string;
  large?: boolean;
  /** Seconds without progress before a request is given up. */
  timeout: number;
  insecure?: boolean;
  json?: boolean;
  keep?: boolean;
}

const LOCAL_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;
/** Transfers this large get a progress bar (on a terminal). */
const BAR_MIN_BYTES = 16 * MiB;

/** The registry's origin from what the user typed: a URL, or a host (HTTPS, HTTP for localhost). */
export function registryOrigin(input: string): URL {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input);
  const text = hasScheme ? input : `${LOCAL_HOSTS.test(input.replace(/\/.*$/, '')) ? 'http' : 'https'}://${input}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`"${input}" is not a registry URL: give it as https://HOST[:PORT], e.g. the RegistryUrl output of npx cdk deploy`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`"${input}": the registry is reached over http:// or https://, not ${url.protocol}//`);
  if (!['/', '/v2', '/v2/'].includes(url.pathname) || url.search || url.username) {
    throw new CliError(`"${input}": give the registry's origin only (https://HOST[:PORT]); it serves /v2/ at its root`);
  }
  return new URL(url.origin);
}

export function doctorChecks(large: boolean): Check[] {
  const sizes = large ? { ...DEFAULT_SIZES, chunked: [...DEFAULT_SIZES.chunked, LARGE_SIZE] } : DEFAULT_SIZES;
  return [loginCheck, wakeCheck, locationCheck, ...uploadChecks(sizes), mountCheck, manifestCheck, pullCheck];
}

/** Failures on the upload host that say nothing about whether it is up. */
const NOT_DOWN = new Set(['cancelled', 'cloudfront-504-mid-body', 'cloudfront-504-after-body', 'forged-capability-accepted', 'body-limit']);
/** Failures that every later request of the same login would repeat. */
const NO_ACCESS = new Set(['login-refused', 'login-throttled', 'login-required', 'no-grant']);
const NEED_WORDS: Record<Need, string> = { login: 'a login that may push', 'upload-host': 'the upload endpoint', blob: 'a pushed blob' };

/** `nimbus doctor REGISTRY_URL`: runs every check, cleans up, prints the report; exit 1 on any failure. */
export async function runDoctor(urlText: string, options: DoctorOptions): Promise<void> {
  const origin = registryOrigin(urlText);
  const runId = randomBytes(4).toString('hex');
  const repository = options.repository ?? `nimbus-doctor/${runId}`;
  const mountRepository = `${repository}-mount`;
  if (!isRepositoryName(repository) || !isRepositoryName(mountRepository)) throw new CliError(`--repository ${repository} is not a valid repository name`);
  const password = options.passwordStdin ? await readStdin('password') : undefined;
  const credentials = await resolveCredentials(origin.host, { ...(options.username ? { username: options.username } : {}), ...(password ? { password } : {}) });
  // Node's TLS reads this per connection: it covers the token endpoint (fetch) too.
  if (options.insecure) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

  const out = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const progress = createProgress(process.stderr.isTTY ? 'bar' : 'quiet');
  const controller = new AbortController();
  // The first Ctrl-C ends the checks and lets the clean-up run; a second one stops at once.
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.exitCode = 130;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const session = new DoctorSession({
    origin, credentials, repositories: [repository, mountRepository], idleTimeoutMs: options.timeout * 1000, insecure: !!options.insecure, signal: controller.signal,
  });
  const ctx: DoctorContext = {
    session, repository, mountRepository, runId, progress, ledger: new Ledger(), baselineMs: 0, blobs: [], broken: {},
    meter: (title, total) => (total >= BAR_MIN_BYTES ? progress.meter(title, total) : { add() {}, stop() {} }),
    sleep: (ms) => delay(ms, undefined, { signal: controller.signal }).catch(() => undefined),
  };
  const report: DoctorReport = {
    registry: origin.origin, login: session.login ?? null, repositories: [repository, mountRepository], ok: false, checks: [], cleanup: null,
  };
  out(`nimbus doctor ${origin.origin}: ${session.login ? `as ${session.login}` : 'anonymous'}, scratch repository ${repository}`);
  if (options.insecure) out('warning: --insecure: TLS certificates are not verified');
  try {
    await runChecks(ctx, doctorChecks(!!options.large), report, out);
    session.options.signal = new AbortController().signal;
    report.cleanup = options.keep
      ? { deleted: 0, notDeleted: [], skipped: `--keep: ${repository} and ${mountRepository} are left as they are` }
      : await cleanUp(session, ctx.ledger, ctx.broken['upload-host'] !== undefined);
    for (const line of formatCleanup(report.cleanup)) out(line);
  } finally {
    progress.close();
    closeConnections();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  report.ok = report.checks.every((each) => each.status !== 'fail');
  out(formatSummary(report));
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (!report.ok && process.exitCode === undefined) process.exitCode = 1;
}

async function runChecks(ctx: DoctorContext, checks: Check[], report: DoctorReport, out: (line: string) => void): Promise<void> {
  for (const check of checks) {
    const blocked = blockedBy(check, ctx);
    const { result, observation } = blocked ? { result: { name: check.name, status: 'skip', detail: blocked } as CheckResult, observation: undefined } : await runCheck(check, ctx);
    const id = result.diagnosis?.id;
    if (check.name === loginCheck.name && result.status === 'fail') ctx.broken.login ??= check.name;
    if (id && NO_ACCESS.has(id)) ctx.broken.login ??= check.name;
    if (id && observation?.role === 'upload' && !NOT_DOWN.has(id)) ctx.broken['upload-host'] ??= check.name;
    report.checks.push(result);
    for (const line of formatCheck(result)) out(line);
  }
}

function blockedBy(check: Check, ctx: DoctorContext): string | undefined {
  if (ctx.session.options.signal.aborted) return 'cancelled';
  for (const need of check.needs) {
    const brokenIn = ctx.broken[need];
    if (brokenIn) return `needs ${NEED_WORDS[need]}, which failed in "${brokenIn}" above`;
    if (need === 'blob' && ctx.blobs.length === 0) return 'needs a pushed blob, and no upload succeeded';
  }
  return undefined;
}

async function runCheck(check: Check, ctx: DoctorContext): Promise<{ result: CheckResult; observation?: Observation }> {
  const started = performance.now();
  try {
    const outcome = await check.run(ctx);
    const rate = outcome.bytes !== undefined && outcome.transferMs ? { bytes: outcome.bytes, bytesPerSecond: (outcome.bytes * 1000) / outcome.transferMs } : {};
    return { result: { name: check.name, status: outcome.status ?? 'ok', ms: performance.now() - started, ...rate, detail: outcome.detail } };
  } catch (error) {
    if (!(error instanceof CheckFailed)) throw error;
    const { observation } = error;
    const diagnosis = diagnose(observation);
    return {
      observation,
      result: {
        name: check.name, status: 'fail', ms: performance.now() - started, detail: diagnosis.cause, during: observation.doing, diagnosis, observed: observed(observation.exchange),
      },
    };
  }
}

/** The failed request for --json: no query strings (they carry upload capabilities and S3 signatures). */
function observed(exchange: Exchange): CheckResult['observed'] {
  return {
    method: exchange.method,
    url: `${exchange.url.origin}${exchange.url.pathname}`,
    status: exchange.status ?? null,
    failure: exchange.failure ?? null,
    elapsedMs: Math.round(exchange.elapsedMs),
    bytesSent: exchange.bytesSent,
    bodyBytes: exchange.bodyBytes,
    server: responder(exchange),
  };
}
