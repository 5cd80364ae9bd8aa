import { Skopeo } from '../../harness/clients/skopeo';
import type { AwsEmulators } from '../../functions/dev/emulators';
import { awsEmulators } from '../lib/aws';
import { dropResources, startDevAws, type DevAws } from '../lib/dev-aws';
import { chunkedUpload, NIMBUS_CLI_SCRIPT, nimbusPush, skopeoCacheDir, skopeoPush, streamedUpload } from '../lib/lane-clients';
import { lanesNotes, lanesTables, summarizeLanes, type LaneId, type LaneRun, type LanesData } from '../lib/lanes-report';
import { PeakRssWatch, type KnownProcess, type SpawnedProcess } from '../lib/peak-rss';
import { descendants, processRssBytes } from '../lib/proc';
import { timeRawMultipart } from '../lib/s3-raw';
import { firstLine, type BenchContext, type Section } from '../lib/section';
import { benchImages } from '../lib/shared';
import { formatBytes } from '../lib/stats';

const MiB = 1024 * 1024;
/** dev:aws cuts 8 MiB parts, direct uploads included: fauxqs refuses bodies over ~11 MiB. */
const PART_SIZE = 8 * MiB;
/** `nimbus push --parallel` default (cli/push.ts). */
const CLI_PARALLEL = 4;
/** Lane 2 carries fewer bytes: ~23 Lambda invocations of 4.45 MiB already show its rate. */
const CHUNKED_BYTES = 100 * MiB;
/**
 * What the upload endpoint may hold besides its part buffers: the same allowance for
 * garbage not yet collected, module code loaded on first use and socket buffers as
 * test/e2e/dev-aws-big-layers.e2e.test.ts grants.
 */
const RSS_CONSTANT = 96 * MiB;

/**
 * Upload lanes against the S3 emulator's own multipart throughput, with the peak RSS of
 * every process of each lane. Per run, in this order: raw multipart sequential and ×4;
 * dev:aws with the upload endpoint (a streamed PATCH, then skopeo); dev:aws without it
 * (chunked PATCHes through the Lambda, then nimbus push). Each dev:aws is fresh, on a new
 * table and bucket, dropped afterwards: fauxqs keeps every byte in memory.
 */
export const lanes: Section = {
  id: 'lanes',
  title: 'Upload lanes vs raw S3-emulator multipart, with peak RSS per process',
  summary: 'MB/s of the upload endpoint (streamed PATCH, skopeo), the Lambda path (chunked PATCHes) and nimbus push (direct to S3) through dev:aws, ÷ raw fauxqs multipart; peak RSS of every process',
  async run(ctx) {
    const dir = await ctx.tmp('nimbus-bench-lanes-');
    const emulators = await awsEmulators(ctx);
    const image = (await benchImages(ctx)).find((candidate) => candidate.id === '500mib');
    if (!image) throw new Error('the bench has no 500 MiB image');
    const emulatorProcesses = findEmulators();
    const notes: string[] = [];
    let skopeo: Skopeo | undefined;
    try {
      skopeo = await Skopeo.create(dir);
    } catch (error) {
      notes.push(`skopeo lane not available: ${firstLine(error)}`);
    }
    const runs: Record<LaneId, LaneRun[]> = { 'raw-sequential': [], 'raw-parallel': [], 'endpoint-patch': [], 'endpoint-skopeo': [], 'lambda-chunks': [], direct: [] };
    for (let run = 0; run < ctx.runs; run++) {
      const step = (what: string) => ctx.log(`lanes run ${run + 1}/${ctx.runs}: ${what}`);
      const raw = await emulators.createResources();
      try {
        for (const [id, parallel] of [['raw-sequential', 1], ['raw-parallel', CLI_PARALLEL]] as const) {
          step(`raw multipart, ${parallel} at a time`);
          runs[id].push(await measure(emulatorProcesses, [], image.bytes, () => timeRawMultipart(emulators, raw.bucket, image.bytes, PART_SIZE, parallel)));
        }
      } finally {
        await dropResources(emulators, raw.table, raw.bucket);
      }

      step('dev:aws with the upload endpoint');
      await withDevAws(ctx, emulators, true, async (dev) => {
        const processes = [...devProcesses(dev), ...emulatorProcesses];
        const endpointIdleBytes = processRssBytes(dev.uploadEndpoint!.pid);
        step(`streamed PATCH of ${formatBytes(image.bytes)} to the upload endpoint`);
        runs['endpoint-patch'].push({ ...await measure(processes, [], image.bytes, () => streamedUpload(dev, image.bytes)), endpointIdleBytes });
        if (skopeo) {
          step('skopeo copy to the upload endpoint');
          const client: SpawnedProcess = { label: 'client', matches: (command) => /(^|\/)skopeo /.test(command) };
          runs['endpoint-skopeo'].push({ ...await measure(processes, [client], image.bytes, () => skopeoPush(dev, skopeo!, skopeoCacheDir(dir), image)), endpointIdleBytes });
        }
      });

      step('dev:aws without the upload endpoint');
      await withDevAws(ctx, emulators, false, async (dev) => {
        const processes = [...devProcesses(dev), ...emulatorProcesses];
        step(`chunked PATCHes of ${formatBytes(CHUNKED_BYTES)} through the Lambda`);
        let chunkBytes = Number.NaN;
        const chunked = await measure(processes, [], CHUNKED_BYTES, async () => {
          const upload = await chunkedUpload(dev, CHUNKED_BYTES);
          chunkBytes = upload.chunkBytes;
          return upload.ms;
        });
        runs['lambda-chunks'].push({ ...chunked, chunkBytes });
        step('nimbus push, direct to S3');
        const client: SpawnedProcess = { label: 'client', matches: (command) => command.includes(NIMBUS_CLI_SCRIPT) };
        runs.direct.push(await measure(processes, [client], image.bytes, () => nimbusPush(ctx.repoRoot, dev, image, CLI_PARALLEL)));
      });
    }
    const data: LanesData = summarizeLanes(runs, { partSize: PART_SIZE, parallel: CLI_PARALLEL, constantBytes: RSS_CONSTANT });
    return {
      tables: lanesTables(data),
      notes: [...notes, ...lanesNotes(data, image.label)],
      data: data as unknown as Record<string, unknown>,
    };
  },
};

let devAwsStarted = 0;

/**
 * Runs `measure` on a fresh dev:aws, stopped (and its table and bucket dropped) afterwards,
 * or when the bench ends (an interrupted run), whichever comes first.
 */
async function withDevAws(ctx: BenchContext, emulators: AwsEmulators, uploadEndpoint: boolean, measure: (dev: DevAws) => Promise<void>): Promise<void> {
  const dev = await ctx.shared(`lanes-dev-aws-${++devAwsStarted}`, () => startDevAws(ctx.repoRoot, emulators, uploadEndpoint), (started) => started.stop());
  try {
    await measure(dev);
  } catch (error) {
    throw new Error(`${firstLine(error)}\n--- dev:aws log ---\n${dev.logs()}`);
  } finally {
    await dev.stop();
  }
}

async function measure(known: KnownProcess[], spawned: SpawnedProcess[], bytes: number, action: () => Promise<number>): Promise<LaneRun> {
  const watch = new PeakRssWatch(known, spawned).start();
  try {
    const ms = await action();
    return { bytes, ms, rss: watch.stop() };
  } catch (error) {
    watch.stop();
    throw error;
  }
}

function devProcesses(dev: DevAws): KnownProcess[] {
  return [{ label: 'dev:aws', pid: dev.pid }, ...(dev.uploadEndpoint ? [{ label: 'upload endpoint', pid: dev.uploadEndpoint.pid }] : [])];
}

/** The bench's emulators are its own children: found by command line. */
function findEmulators(): KnownProcess[] {
  const children = descendants(process.pid);
  const find = (label: string, marker: string): KnownProcess => {
    const found = children.find((child) => child.command.includes(marker));
    if (!found) throw new Error(`no ${label} process among the bench's children`);
    return { label, pid: found.pid };
  };
  return [find('fauxqs', 'fauxqs'), find('DynamoDB Local', 'DynamoDBLocal.jar')];
}
