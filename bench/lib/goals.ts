import type { SectionResult } from './report';
import type { Summary } from './stats';
import { formatBytes, formatMs, formatRatio, ratio } from './stats';

/** A goal from the issue, with what this run measured. Reported, never asserted. */
export interface Goal {
  name: string;
  target: string;
  measured: string;
  verdict: 'met' | 'missed' | 'not measured';
  value?: number;
  /** The sections whose data it reads. */
  sections: string[];
}

/** The shapes of the section data the goals read (each section exports its full type). */
interface CopyData { images?: Record<string, { registries: Partial<Record<string, { totalMs: Summary }>> }> }
interface FloorData { sizes?: Record<string, { pushPullFloorMs: number }> }
interface LambdaData { chunkCpuMs?: Summary; floorMs?: Summary }
interface ColdStartData { bundles?: { entry: string; bytes: number; initMs: Summary }[] }
interface RatioPair { ratio: number }
interface ListingData { stores?: Record<string, { tags?: RatioPair; catalog?: RatioPair }> }
interface CommitData { stores?: Record<string, RatioPair> }
interface GcData { stores?: Record<string, { perChangedRatio: number }> }
interface RawData { largeFloorMs?: number; registries?: Partial<Record<string, { pushCpuPerGiBMs: Summary; largePatchMs: Summary }>> }
interface IdleRss { idleAfterStartBytes: Summary; idleAfterPushBytes: Summary }
interface MemoryData { registries?: Partial<Record<string, IdleRss & { peakUnderLoadBytes: Summary }>>; receiver?: IdleRss }
interface LanesData { boundBytes?: number; uploadEndpoint?: Record<string, { worstGrowthBytes: number }> }

const BIG_IMAGE = '500mib';
const REGISTRY_ENTRY = 'functions/lambda/registry.ts';

export function evaluateGoals(sections: SectionResult[]): Goal[] {
  const data = <T>(id: string): T | undefined => sections.find((s) => s.id === id && s.status === 'ok')?.data as T | undefined;
  const push = data<CopyData>('push')?.images?.[BIG_IMAGE]?.registries;
  const floor = data<FloorData>('floor')?.sizes?.[BIG_IMAGE];
  const lambda = data<LambdaData>('lambda');
  const listing = data<ListingData>('listing')?.stores;
  const commit = data<CommitData>('commit')?.stores;
  const lanes = data<LanesData>('lanes');
  const endpointGrowth = Object.values(lanes?.uploadEndpoint ?? {}).map((memory) => memory.worstGrowthBytes);

  const raw = data<RawData>('raw');
  const goals = [
    goal(['push'], 'push + pull, 500 MiB image (skopeo): Nimbus ÷ registry:2 wall time', 0.8,
      ratio(push?.nimbus?.totalMs.median, push?.distribution?.totalMs.median)),
    goal(['push', 'floor'], 'push + pull, 500 MiB image (skopeo): Nimbus ÷ physical floor', 1.5,
      ratio(push?.nimbus?.totalMs.median, floor?.pushPullFloorMs)),
    goal(['raw'], 'raw client, parallel push: Nimbus server CPU per GiB ÷ registry:2\'s', 0.5,
      ratio(raw?.registries?.nimbus?.pushCpuPerGiBMs.median, raw?.registries?.distribution?.pushCpuPerGiBMs.median)),
    goal(['raw'], 'raw client, one streamed 512 MiB PATCH: Nimbus wall time ÷ floor (sha256 + write with fsync + loopback HTTP)', 1.3,
      ratio(raw?.registries?.nimbus?.largePatchMs.median, raw?.largeFloorMs)),
    withFloor(limitGoal(['memory'], 'npm start idle RSS (the higher of after start and after a push and pull)', 60 * 1024 * 1024,
      idleRss(data<MemoryData>('memory')?.registries?.nimbus), formatBytes), 'minimal node receiver', idleRss(data<MemoryData>('memory')?.receiver), formatBytes),
    goal(['memory'], 'peak RSS under 50 concurrent clients: Nimbus ÷ registry:2', 1.5,
      ratio(data<MemoryData>('memory')?.registries?.nimbus?.peakUnderLoadBytes.median, data<MemoryData>('memory')?.registries?.distribution?.peakUnderLoadBytes.median)),
    goal(['lambda'], 'Lambda 4 MiB PATCH: CPU ÷ floor (base64 decode + sha256)', 10,
      ratio(lambda?.chunkCpuMs?.median, lambda?.floorMs?.median)),
  ];
  const registryBundle = data<ColdStartData>('coldstart')?.bundles?.find((bundle) => bundle.entry === REGISTRY_ENTRY);
  goals.push(limitGoal(['coldstart'], 'registry Lambda: JavaScript loaded at cold start (entry + chunks it imports statically)', 500 * 1024,
    registryBundle?.bytes, formatBytes));
  goals.push(limitGoal(['coldstart'], 'registry Lambda: module init, median', 150, registryBundle?.initMs.median, formatMs));
  for (const store of ['fs', 'aws']) {
    goals.push(goal(['listing'], `tags/list page at 10,000 tags ÷ at 10 (${store})`, 1.5, listing?.[store]?.tags?.ratio ?? Number.NaN));
    goals.push(goal(['listing'], `_catalog page at 10,000 repositories ÷ at 10 (${store})`, 1.5, listing?.[store]?.catalog?.ratio ?? Number.NaN));
  }
  for (const store of ['fs', 'aws']) {
    goals.push(goal(['commit'], `commit (final PUT) of a 1 GiB blob ÷ a 1 MiB blob (${store})`, 2, commit?.[store]?.ratio ?? Number.NaN));
  }
  const gc = data<GcData>('gc')?.stores;
  for (const [store, sizes] of [['fs', '100,000 ÷ 10,000'], ['aws', '10,000 ÷ 1,000']] as const) {
    goals.push(goal(['gc'], `GC incremental pass per changed blob (1% changed), ${sizes} blobs (${store})`, 1.5, gc?.[store]?.perChangedRatio ?? Number.NaN));
  }
  goals.push(goal(['lanes'], 'upload endpoint, 500 MiB pushed: peak RSS over idle ÷ (2 parts + a constant), worst run', 1,
    endpointGrowth.length ? ratio(Math.max(...endpointGrowth), lanes?.boundBytes) : Number.NaN));
  return goals;
}

function goal(sections: string[], name: string, limit: number, value: number): Goal {
  if (!Number.isFinite(value)) return { name, target: `≤ ${limit}×`, measured: 'n/a', verdict: 'not measured', sections };
  return { name, target: `≤ ${limit}×`, measured: formatRatio(value), verdict: value <= limit ? 'met' : 'missed', value, sections };
}

/** A goal on an absolute figure (bytes, milliseconds) rather than a ratio. */
function limitGoal(sections: string[], name: string, limit: number, value: number | undefined, format: (value: number) => string): Goal {
  const target = `≤ ${format(limit)}`;
  if (value === undefined || !Number.isFinite(value)) return { name, target, measured: 'n/a', verdict: 'not measured', sections };
  return { name, target, measured: format(value), verdict: value <= limit ? 'met' : 'missed', value, sections };
}

/** Adds the same figure for the least a Node server can be, so a reader sees how far the goal is from it. */
function withFloor(target: Goal, label: string, floor: number | undefined, format: (value: number) => string): Goal {
  if (floor === undefined || !Number.isFinite(floor) || target.verdict === 'not measured') return target;
  return { ...target, measured: `${target.measured} (${label}: ${format(floor)})` };
}

/** npm start's idle RSS: the higher of after start and after a push and pull. */
function idleRss(nimbus: IdleRss | undefined): number | undefined {
  return nimbus && Math.max(nimbus.idleAfterStartBytes.median, nimbus.idleAfterPushBytes.median);
}
