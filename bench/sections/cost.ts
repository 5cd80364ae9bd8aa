import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { lambdaEnvironment, runWorker } from '../lib/lambda-worker';
import type { Section, Table } from '../lib/section';
import { formatUsd, summarize } from '../lib/stats';
import { LAMBDA_MEMORY_GB, PRICES, S3_FREE, S3_PUT_CLASS } from '../prices';
import type { Invocation } from '../workers/lambda-harness';

const GiB = 2 ** 30;

type Phase = 'push-fixed' | 'push-chunk' | 'pull';
interface WorkerResult {
  chunkBytes: number;
  chunks: number;
  layerBytes: number;
  invocations: (Omit<Invocation, 'headers'> & { phase: Phase })[];
}

/** What a set of invocations used, in billable units. */
export interface Usage {
  lambdaRequests: number;
  lambdaGbSeconds: number;
  apiGatewayRequests: number;
  s3PutClass: number;
  s3GetClass: number;
  dynamodbWriteUnits: number;
  dynamodbReadUnits: number;
  logBytes: number;
  transferOutGb: number;
}

const ZERO: Usage = { lambdaRequests: 0, lambdaGbSeconds: 0, apiGatewayRequests: 0, s3PutClass: 0, s3GetClass: 0, dynamodbWriteUnits: 0, dynamodbReadUnits: 0, logBytes: 0, transferOutGb: 0 };

/**
 * Billable units of `invocations`. Lambda bills duration in 1 ms steps; durations here are
 * against local emulators on a noisy machine, so each counts as the median of the set.
 */
function usageOf(invocations: WorkerResult['invocations']): Usage {
  const usage = { ...ZERO };
  const durationMs = Math.ceil(summarize(invocations.map((invocation) => invocation.wallMs)).median);
  for (const invocation of invocations) {
    usage.lambdaRequests += 1;
    usage.lambdaGbSeconds += (durationMs / 1000) * LAMBDA_MEMORY_GB;
    usage.apiGatewayRequests += Math.max(1, Math.ceil(invocation.requestBodyBytes / PRICES.apiGatewayMeteringBytes));
    usage.logBytes += invocation.logBytes;
    for (const call of invocation.calls) {
      if (call.service === 's3') {
        if (S3_PUT_CLASS.has(call.command)) usage.s3PutClass += 1;
        else if (!S3_FREE.has(call.command)) usage.s3GetClass += 1;
      } else {
        usage.dynamodbWriteUnits += call.writeUnits ?? 0;
        usage.dynamodbReadUnits += call.readUnits ?? 0;
      }
    }
  }
  return usage;
}

function add(a: Usage, b: Usage, times = 1): Usage {
  return Object.fromEntries(Object.entries(a).map(([key, value]) => [key, value + times * b[key as keyof Usage]])) as unknown as Usage;
}

function dollars(usage: Usage): number {
  return usage.lambdaRequests * PRICES.lambdaRequest
    + usage.lambdaGbSeconds * PRICES.lambdaArmGbSecond
    + usage.apiGatewayRequests * PRICES.apiGatewayHttpRequest
    + usage.s3PutClass * PRICES.s3PutClassRequest
    + usage.s3GetClass * PRICES.s3GetClassRequest
    + usage.dynamodbWriteUnits * PRICES.dynamodbWriteUnit
    + usage.dynamodbReadUnits * PRICES.dynamodbReadUnit
    + (usage.logBytes / GiB) * PRICES.logsIngestGb
    + usage.transferOutGb * PRICES.transferOutGb;
}

export interface CostData {
  perGbPushed: Usage & { usd: number };
  perGbPulled: Usage & { usd: number };
  idlePerMonthUsd: number;
  storagePerGbMonthUsd: number;
  secrets: number;
  raw: WorkerResult;
}

/**
 * Section 7: S3, DynamoDB and Lambda usage per GB pushed, per GB pulled and per idle month,
 * counted on the real Lambda entry against the emulators, times the prices in bench/prices.ts.
 */
export const cost: Section = {
  id: 'cost',
  title: 'Cost model: AWS calls per GB pushed, per GB pulled, per idle month',
  summary: 'counts S3/DynamoDB/Lambda/API Gateway usage of a chunked push and a pull through the Lambda entry, × public AWS prices (bench/prices.ts)',
  async run(ctx) {
    const environment = await lambdaEnvironment(ctx);
    let raw: WorkerResult;
    try {
      ctx.log('cost: push and pull of one image through the Lambda entry');
      raw = await runWorker<WorkerResult>(ctx, 'bench/workers/lambda-cost.ts', environment.env, ['16']);
    } finally {
      await environment.close();
    }
    const phase = (name: Phase) => raw.invocations.filter((invocation) => invocation.phase === name);
    // A 1 GiB layer: the fixed requests of one image plus as many chunks as 1 GiB takes.
    const chunkUsage = usageOf(phase('push-chunk'));
    const chunksPerGiB = Math.ceil(GiB / raw.chunkBytes);
    const pushed = add(usageOf(phase('push-fixed')), chunkUsage, chunksPerGiB / raw.chunks);
    // Pull: the manifest and two blob redirects, then the client's GET of each blob from S3.
    const pulled = add(usageOf(phase('pull')), { ...ZERO, s3GetClass: 2, transferOutGb: 1 });
    const secrets = Object.values(LAMBDA_ENV).filter((name) => name.endsWith('SECRET_ARN')).length;
    const data: CostData = {
      perGbPushed: { ...pushed, usd: dollars(pushed) },
      perGbPulled: { ...pulled, usd: dollars(pulled) },
      idlePerMonthUsd: secrets * PRICES.secretMonth,
      storagePerGbMonthUsd: PRICES.s3StorageGbMonth,
      secrets,
      raw,
    };
    return {
      tables: [{
        title: 'Cost (us-east-1 list prices, bench/prices.ts)',
        columns: ['', 'cost'],
        rows: [
          ['per GB pushed (one image, one 1 GiB layer)', formatUsd(data.perGbPushed.usd)],
          ['per GB pulled, to the internet (data transfer out: $0.09 of it)', formatUsd(data.perGbPulled.usd)],
          ['per GB pulled inside the region (no transfer charge)', formatUsd(data.perGbPulled.usd - PRICES.transferOutGb)],
          [`per month idle (${secrets} Secrets Manager secrets; nothing else runs)`, formatUsd(data.idlePerMonthUsd)],
          ['per GB stored per month (S3 Standard)', formatUsd(data.storagePerGbMonthUsd)],
        ],
      }, usageTable(data)],
      notes: [
        `Counted on the real Lambda entry against the emulators: a push of a config blob and a ${(raw.layerBytes / 2 ** 20).toFixed(0)} MiB layer in ${raw.chunks} PATCHes of ${raw.chunkBytes} bytes (OCI-Chunk-Max-Length), extrapolated per chunk to a 1 GiB layer (${chunksPerGiB} PATCHes); a pull of the same image.`,
        `DynamoDB units: ${raw.invocations.some((i) => i.calls.some((c) => c.estimated)) ? 'DynamoDB Local reports no consumed capacity, so each call counts 1 unit (item under 1 KB written, or under 4 KB read strongly consistent) and 2 per item of a transaction' : 'the ConsumedCapacity reported for each call'}. Lambda GB-s: the median wall time of each kind of request (fixed ones, chunks, pulls) against local emulators, 1 GB memory, 1 ms billing steps: real S3 round trips are slower, so take GB-s as a lower bound.`,
        'API Gateway meters HTTP API requests in 512 KB steps of the request. Pull assumes every client follows the 307 with one S3 GET per blob; data transfer out dominates any pull to the internet.',
      ],
      data: data as unknown as Record<string, unknown>,
    };
  },
};

function usageTable(data: CostData): Table {
  const row = (label: string, pick: (usage: Usage) => number, digits = 0): string[] =>
    [label, pick(data.perGbPushed).toFixed(digits), pick(data.perGbPulled).toFixed(digits)];
  return {
    title: 'Usage per GB (GiB) pushed and pulled',
    columns: ['', 'per GB pushed', 'per GB pulled'],
    rows: [
      row('Lambda invocations', (u) => u.lambdaRequests),
      row('Lambda GB-s (1 GB functions)', (u) => u.lambdaGbSeconds, 1),
      row('API Gateway metered requests', (u) => u.apiGatewayRequests),
      row('S3 PUT-class requests', (u) => u.s3PutClass),
      row('S3 GET-class requests', (u) => u.s3GetClass),
      row('DynamoDB write units', (u) => u.dynamodbWriteUnits, 1),
      row('DynamoDB read units', (u) => u.dynamodbReadUnits, 1),
      row('log bytes', (u) => u.logBytes),
      ...callRows(data),
    ],
  };
}

/** Calls per command in the measured push and pull (not scaled), for reading the units above. */
function callRows(data: CostData): string[][] {
  const count = (phases: string[]) => {
    const counts = new Map<string, number>();
    for (const invocation of data.raw.invocations.filter((i) => phases.includes(i.phase))) {
      for (const call of invocation.calls) counts.set(`${call.service === 's3' ? 'S3' : 'DynamoDB'} ${call.command}`, (counts.get(`${call.service === 's3' ? 'S3' : 'DynamoDB'} ${call.command}`) ?? 0) + 1);
    }
    return counts;
  };
  const push = count(['push-fixed', 'push-chunk']);
  const pull = count(['pull']);
  const names = [...new Set([...push.keys(), ...pull.keys()])].sort();
  return [[`calls in the measured push (${data.raw.chunks} chunks) / pull, by command:`, '', ''],
    ...names.map((name) => [`  ${name}`, String(push.get(name) ?? 0), String(pull.get(name) ?? 0)])];
}
