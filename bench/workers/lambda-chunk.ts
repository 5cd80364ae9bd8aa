/**
 * Section 3's worker: one upload through the real Lambda entry in PATCHes of 4 MiB, each
 * timed for CPU, wall time and RSS; then the floor (base64 decode + sha256 of 4 MiB).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Crc32 } from '@smithy/core/checksum';
import { createSHA256 } from 'hash-wasm';
import { expectStatus, loadLambda, nextTarget, peakRssBytes, writeResult, type Invocation } from './lambda-harness';

const CHUNK = 4 * 1024 * 1024;
const chunks = Number(process.argv[2] ?? 12);
const floorRuns = Number(process.argv[3] ?? 20);

const lambda = await loadLambda();
const rssAfterInit = process.memoryUsage().rss;
await lambda.authorize(['bench/lambda']);
const blob = randomBytes(CHUNK * chunks);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

let target = nextTarget(expectStatus(await lambda.invoke('POST', '/v2/bench/lambda/blobs/uploads/'), 202));
const patches: Invocation[] = [];
for (let i = 0; i < chunks; i++) {
  const body = blob.subarray(i * CHUNK, (i + 1) * CHUNK);
  const patch = expectStatus(await lambda.invoke('PATCH', target, body, {
    'content-type': 'application/octet-stream', 'content-range': `${i * CHUNK}-${(i + 1) * CHUNK - 1}`,
  }), 202);
  patches.push(patch);
  target = nextTarget(patch);
}
const url = new URL(target, 'https://nimbus.bench');
url.searchParams.set('digest', digest);
const commit = expectStatus(await lambda.invoke('PUT', `${url.pathname}${url.search}`), 201);

// The floor: what any function must do with a 4 MiB chunk: decode the event's base64, hash it.
const encoded = blob.subarray(0, CHUNK).toString('base64');
const floorCpuMs: number[] = [];
const floorWallMs: number[] = [];
for (let i = 0; i < floorRuns; i++) {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  createHash('sha256').update(Buffer.from(encoded, 'base64')).digest('hex');
  floorWallMs.push(performance.now() - wall);
  const used = process.cpuUsage(cpu);
  floorCpuMs.push((used.user + used.system) / 1000);
}

// Where the rest goes: the steps a PATCH takes besides the floor, each timed alone (CPU ms).
const eventText = JSON.stringify({ body: encoded, isBase64Encoded: true });
const wasm = await createSHA256();
const steps: Record<string, () => unknown> = {
  'JSON.parse of the event': () => JSON.parse(eventText),
  'base64 decode': () => Buffer.from(encoded, 'base64'),
  'sha256, node:crypto': () => createHash('sha256').update(blob.subarray(0, CHUNK)).digest(),
  'sha256, hash-wasm (the function\'s hasher)': () => wasm.init().update(blob.subarray(0, CHUNK)).digest(),
  'CRC32 of the S3 SDK': () => new Crc32().update(blob.subarray(0, CHUNK)),
};
const stepCpuMs: Record<string, number[]> = {};
for (let i = 0; i < floorRuns; i++) {
  for (const [name, step] of Object.entries(steps)) {
    const cpu = process.cpuUsage();
    step();
    const used = process.cpuUsage(cpu);
    (stepCpuMs[name] ??= []).push((used.user + used.system) / 1000);
  }
}

writeResult({
  initMs: lambda.initMs, rssAfterInit, peakRssBytes: peakRssBytes(),
  patches: patches.map(({ headers: _headers, ...rest }) => rest),
  commit: { wallMs: commit.wallMs, cpuMs: commit.cpuMs, calls: commit.calls },
  floorCpuMs, floorWallMs, stepCpuMs,
});
