// Cold start probe, plain JavaScript so nothing but Node loads the bundle: times the
// module's init (import) and, for an API Gateway entry ("http"), the first invocation
// (GET /v2/, which waits for the Secrets Manager reads started during init), as Lambda's
// Init and first Duration. Other entries (async tasks) are only imported.
/* global process, performance */
import { writeFileSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, resultFile, kind] = process.argv.slice(2);
const cpuBefore = process.cpuUsage();
const started = performance.now();
const { handler } = await import(pathToFileURL(bundle).href);
const initMs = performance.now() - started;
const initCpu = process.cpuUsage(cpuBefore);
const initCpuMs = (initCpu.user + initCpu.system) / 1000;
const rssAfterInit = process.memoryUsage().rss;
const event = {
  version: '2.0', routeKey: '$default', rawPath: '/v2/', rawQueryString: '',
  headers: { host: 'nimbus.bench', 'x-forwarded-proto': 'https' },
  requestContext: {
    accountId: '000000000000', apiId: 'bench', domainName: 'nimbus.bench', domainPrefix: 'nimbus', requestId: 'probe',
    http: { method: 'GET', path: '/v2/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'probe' },
    routeKey: '$default', stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
  },
  isBase64Encoded: false,
};
const context = { awsRequestId: 'probe', functionName: 'probe', getRemainingTimeInMillis: () => 29000 };
let firstInvokeMs = null;
let status = null;
if (kind === 'http') {
  const invoked = performance.now();
  status = (await handler(event, context))?.statusCode ?? null;
  firstInvokeMs = performance.now() - invoked;
}
const peak = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
writeFileSync(resultFile, JSON.stringify({ initMs, initCpuMs, firstInvokeMs, status, rssAfterInit, peakRssBytes: peak }));
process.exit(0);
