import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { awsEmulators, inProcessAwsRegistry, IN_PROCESS_BASE, MAX_LAMBDA_BODY_BYTES, selfCpuMs } from '../lib/aws';
import { blobContent, commitUpload, openUpload, patchChunks, patchStream, type FetchLike } from '../lib/blob-upload';
import { availableRegistries, interleaved } from '../lib/registry-runs';
import { REGISTRY_LABELS } from '../lib/servers';
import { firstLine, type Section, type Table } from '../lib/section';
import { formatBytes, formatRatio, formatSummary, ratio, summarize, type Summary } from '../lib/stats';

const MiB = 1024 * 1024;
const SIZES = [{ id: 'small', bytes: MiB }, { id: 'large', bytes: 1024 * MiB }] as const;

interface CommitRun {
  /** Wall time of the final PUT ?digest= (no body). */
  commitMs: number;
  /** CPU the registry spent on it (server process, or this process for the in-process AWS stores). */
  commitCpuMs: number;
  /** Wall time of the one PATCH that carried the bytes. */
  patchMs: number;
}

export interface CommitStore {
  label: string;
  smallMs: Summary;
  largeMs: Summary;
  smallCpuMs: Summary;
  largeCpuMs: Summary;
  largePatchMs: Summary;
  /** Median commit time at 1 GiB ÷ at 1 MiB. */
  ratio: number;
}

export interface CommitData {
  stores: Record<string, CommitStore>;
}

/**
 * One upload: POST, the bytes (one streamed PATCH, or PATCHes of `chunkSize` as through a
 * Lambda), then the timed final PUT.
 */
async function uploadAndCommit(fetch: FetchLike, base: string, size: number, cpuMs: () => number, chunkSize?: number): Promise<CommitRun> {
  const blob = blobContent(size);
  const opened = await openUpload(fetch, base, 'bench/commit');
  const patchStarted = performance.now();
  const location = chunkSize ? await patchChunks(fetch, opened, blob, chunkSize) : await patchStream(fetch, opened, blob.stream());
  const patchMs = performance.now() - patchStarted;
  const cpuBefore = cpuMs();
  const started = performance.now();
  await commitUpload(fetch, location, blob.digest);
  return { commitMs: performance.now() - started, commitCpuMs: cpuMs() - cpuBefore, patchMs };
}

function storeStats(label: string, runs: { small: CommitRun; large: CommitRun }[]): CommitStore {
  const smallMs = summarize(runs.map((r) => r.small.commitMs));
  const largeMs = summarize(runs.map((r) => r.large.commitMs));
  return {
    label, smallMs, largeMs,
    smallCpuMs: summarize(runs.map((r) => r.small.commitCpuMs)),
    largeCpuMs: summarize(runs.map((r) => r.large.commitCpuMs)),
    largePatchMs: summarize(runs.map((r) => r.large.patchMs)),
    ratio: ratio(largeMs.median, smallMs.median),
  };
}

/**
 * Section 4: what the final PUT ?digest= costs once every byte has arrived, for a 1 MiB
 * and a 1 GiB blob. Flat means commit does not touch the bytes again.
 */
export const commit: Section = {
  id: 'commit',
  title: 'Commit cost: final PUT of a 1 MiB and a 1 GiB blob',
  summary: 'time of the final PUT ?digest= after all bytes arrived, 1 MiB vs 1 GiB: Nimbus on disk, registry:2, Nimbus on S3/DynamoDB emulators',
  async run(ctx) {
    const { kinds, missing } = availableRegistries();
    const notes = [...missing];
    const data: CommitData = { stores: {} };
    const perKind = await interleaved(kinds, ctx.runs, ctx.repoRoot, async (server, kind, run) => {
      const runs: Partial<Record<(typeof SIZES)[number]['id'], CommitRun>> = {};
      for (const size of SIZES) {
        ctx.log(`commit ${formatBytes(size.bytes)} → ${kind}, run ${run + 1}/${ctx.runs}`);
        runs[size.id] = await uploadAndCommit((request) => fetch(request), server.url, size.bytes, () => server.cpuMs());
      }
      return runs as { small: CommitRun; large: CommitRun };
    });
    for (const [kind, runs] of perKind) data.stores[kind === 'nimbus' ? 'fs' : kind] = storeStats(REGISTRY_LABELS[kind], runs);

    try {
      const emulators = await awsEmulators(ctx);
      const aws = await inProcessAwsRegistry(emulators, ctx.log);
      const runs: { small: CommitRun; large: CommitRun }[] = [];
      for (let run = 0; run < ctx.runs; run++) {
        const pair: Partial<Record<(typeof SIZES)[number]['id'], CommitRun>> = {};
        for (const size of SIZES) {
          ctx.log(`commit ${formatBytes(size.bytes)} → Nimbus on AWS emulators, run ${run + 1}/${ctx.runs}`);
          pair[size.id] = await uploadAndCommit(aws.registry.fetch, IN_PROCESS_BASE, size.bytes, selfCpuMs, MAX_LAMBDA_BODY_BYTES);
        }
        runs.push(pair as { small: CommitRun; large: CommitRun });
        await dropBlobs(aws);
      }
      data.stores.aws = storeStats('Nimbus, S3 + DynamoDB (fauxqs + DynamoDB Local, in process)', runs);
      notes.push('AWS: the core on the S3 and DynamoDB adapters in this process, against fauxqs and DynamoDB Local, the bytes sent as a Lambda receives them (PATCHes of 4,669,440 bytes); commit is the staged tail\'s last part, CompleteMultipartUpload and DynamoDB writes, so the emulators\' speed, not S3\'s, sets the figure. "PATCH of 1 GiB" is then all 230 PATCHes.');
    } catch (error) {
      notes.push(`AWS stores not available: ${firstLine(error)}`);
    }
    notes.push(
      'Each upload is POST, one streamed PATCH with every byte, then the timed PUT ?digest= without a body; content is unique per upload. A fresh registry per run (1 MiB, then 1 GiB).',
      'Both disk registries make the bytes durable before the commit answers: Nimbus with NIMBUS_FSYNC=on (npm start\'s default), registry:2 by syncing the upload file when each PATCH ends. Whatever is still unflushed at the final PUT shows up as commit time.',
    );
    return { tables: [commitTable(data)], notes, data: data as unknown as Record<string, unknown> };
  },
};

/** Empties the bucket of this run's blobs: fauxqs keeps objects in memory. */
async function dropBlobs(aws: Awaited<ReturnType<typeof inProcessAwsRegistry>>): Promise<void> {
  const s3 = aws.stores.clients.s3;
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: aws.bucket }));
  for (const object of listed.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: aws.bucket, Key: object.Key! }));
}

function commitTable(data: CommitData): Table {
  return {
    title: 'Commit (final PUT ?digest=), median (min–max)',
    columns: ['store', 'commit 1 MiB', 'commit 1 GiB', '1 GiB ÷ 1 MiB', 'CPU 1 MiB', 'CPU 1 GiB', 'PATCH of 1 GiB'],
    rows: Object.values(data.stores).map((store) => [
      store.label, formatSummary(store.smallMs), formatSummary(store.largeMs), formatRatio(store.ratio),
      formatSummary(store.smallCpuMs), formatSummary(store.largeCpuMs), formatSummary(store.largePatchMs),
    ]),
  };
}
