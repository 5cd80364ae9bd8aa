import { readFile } from 'node:fs/promises';
import { awsClients, type AwsClientOptions } from '../functions/adapters/aws/clients';
import { DynamoMetadataStore } from '../functions/adapters/aws/dynamo-metadata-store';
import { DynamoGcStore } from '../functions/adapters/aws/gc-store';
import type { MetadataStore } from '../functions/core/index';
import type { GcStore } from '../functions/core/gc/ports';
import { CliError } from './errors';
import type { TargetOptions } from './target';

/** The stack outputs that name the table and the bucket (infra/registry-stack.ts). */
const TABLE_OUTPUT = 'MetadataTableName';
const BUCKET_OUTPUT = 'BlobBucketName';
const OUTPUTS_FILE = 'cdk-outputs.json';

export interface DeployedGcOptions extends TargetOptions {
  /** The blob bucket; else the stack's BlobBucketName output. */
  bucket?: string;
  /** The S3 emulator endpoint of `npm run dev:aws` (with --dynamodb-local). */
  s3Local?: string;
}

/**
 * The GC stores of a deployed stack (--table/--stack, AWS credentials from the default chain)
 * or of `npm run dev:aws` (--dynamodb-local, --s3-local, --table and --bucket, as its startup
 * log prints them), for `npx nimbus gc`: the same runner the scheduled Lambda runs.
 */
export async function openDeployedGc(options: DeployedGcOptions): Promise<{ gc: GcStore; metadata: MetadataStore }> {
  const local = options.dynamodbLocal !== undefined || options.s3Local !== undefined;
  if (local && (!options.dynamodbLocal || !options.s3Local || !options.table || !options.bucket)) {
    throw new CliError('garbage collection on npm run dev:aws needs --dynamodb-local, --s3-local, --table and --bucket (its startup log prints them)');
  }
  for (const endpoint of [options.dynamodbLocal, options.s3Local]) {
    if (endpoint !== undefined && !URL.canParse(endpoint)) throw new CliError(`--dynamodb-local and --s3-local take URLs such as http://127.0.0.1:8000, not "${endpoint}"`);
  }
  const outputs = options.table && options.bucket ? {} : await stackOutputs(options.stack);
  const table = options.table ?? outputs[TABLE_OUTPUT];
  const bucket = options.bucket ?? outputs[BUCKET_OUTPUT];
  if (!table || !bucket) throw new CliError(`name the table and bucket with --table and --bucket, or --stack with ${OUTPUTS_FILE} from cdk deploy --outputs-file`);
  const clientOptions: AwsClientOptions = local
    ? { region: options.region ?? 'us-east-1', endpoints: { dynamodb: options.dynamodbLocal!, s3: options.s3Local! }, emulator: true }
    : (options.region ? { region: options.region } : {});
  const clients = awsClients(clientOptions);
  return {
    gc: new DynamoGcStore(clients.dynamodb, clients.s3, { table, bucket }),
    metadata: new DynamoMetadataStore(clients.dynamodb, clients.s3, { table, bucket }),
  };
}

/** The outputs of `cdk deploy --outputs-file cdk-outputs.json` for the stack. */
async function stackOutputs(stack: string | undefined): Promise<Record<string, string>> {
  if (!stack) return {};
  const hint = `(aws cloudformation describe-stacks --stack-name ${stack} --query "Stacks[0].Outputs" names them)`;
  let outputs: Record<string, Record<string, string>>;
  try {
    outputs = JSON.parse(await readFile(OUTPUTS_FILE, 'utf8')) as typeof outputs;
  } catch {
    throw new CliError(`no ${OUTPUTS_FILE} here to read stack ${stack}'s outputs from: pass --table and --bucket ${hint}`);
  }
  return outputs[stack] ?? {};
}
