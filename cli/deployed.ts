import { readFile } from 'node:fs/promises';
import { awsClients } from '../functions/adapters/aws/clients';
import { DynamoIdentityStore } from '../functions/adapters/aws/dynamo-identity-store';
import type { IdentityStore } from '../functions/auth/identity-store';
import { CliError } from './errors';
import type { TargetOptions } from './target';

/** The output of the registry stack that names its table (infra/registry-stack.ts). */
const TABLE_OUTPUT = 'MetadataTableName';
const BUCKET_OUTPUT = 'BlobBucketName';
const OUTPUTS_FILE = 'cdk-outputs.json';

/** The table a deployed (--table/--stack) or dev:aws (--dynamodb-local with --table) target names. */
export async function resolveTable(options: TargetOptions): Promise<string> {
  if (options.dynamodbLocal) {
    if (!options.table) throw new CliError('--dynamodb-local needs --table too (npm run dev:aws prints both)');
    if (!URL.canParse(options.dynamodbLocal)) throw new CliError(`--dynamodb-local takes a URL such as http://127.0.0.1:8000, not "${options.dynamodbLocal}"`);
    return options.table;
  }
  return options.table ?? (await tableFromOutputs(options.stack!));
}

/** The blob bucket: --bucket, or the stack's BlobBucketName output; undefined when neither names it. */
export async function resolveBucket(options: TargetOptions & { bucket?: string }): Promise<string | undefined> {
  if (options.bucket || !options.stack) return options.bucket;
  const outputs = await readOutputs().catch(() => undefined);
  return outputs?.[options.stack]?.[BUCKET_OUTPUT];
}

async function readOutputs(): Promise<Record<string, Record<string, string>>> {
  return JSON.parse(await readFile(OUTPUTS_FILE, 'utf8')) as Record<string, Record<string, string>>;
}

/** A deployed stack's identity store: its DynamoDB table, named by --table or by the stack outputs. */
export async function openDeployedIdentityStore(options: TargetOptions): Promise<IdentityStore> {
  if (options.dynamodbLocal) return openDevIdentityStore(options.dynamodbLocal, options);
  const table = options.table ?? (await tableFromOutputs(options.stack!));
  const { dynamodb } = awsClients(options.region ? { region: options.region } : {});
  return new DynamoIdentityStore(dynamodb, table);
}

/**
 * The table of `npm run dev:aws` in DynamoDB Local. DynamoDB Local accepts any signature,
 * so placeholder credentials stand in for an AWS account the developer may not have.
 */
function openDevIdentityStore(endpoint: string, options: TargetOptions): IdentityStore {
  if (!options.table) throw new CliError('--dynamodb-local needs --table too (npm run dev:aws prints both)');
  if (!URL.canParse(endpoint)) throw new CliError(`--dynamodb-local takes a URL such as http://127.0.0.1:8000, not "${endpoint}"`);
  const { dynamodb } = awsClients({ region: options.region ?? 'us-east-1', endpoints: { dynamodb: endpoint }, emulator: true });
  return new DynamoIdentityStore(dynamodb, options.table);
}

/** Reads the table name from `cdk deploy --outputs-file cdk-outputs.json`. */
async function tableFromOutputs(stack: string): Promise<string> {
  const hint = `pass --table with the stack's ${TABLE_OUTPUT} output `
    + `(aws cloudformation describe-stacks --stack-name ${stack} --query "Stacks[0].Outputs"), `
    + `or deploy with --outputs-file ${OUTPUTS_FILE}`;
  let outputs: Record<string, Record<string, string>>;
  try {
    outputs = JSON.parse(await readFile(OUTPUTS_FILE, 'utf8')) as typeof outputs;
  } catch {
    throw new CliError(`no ${OUTPUTS_FILE} here to read stack ${stack}'s outputs from: ${hint}`);
  }
  const table = outputs[stack]?.[TABLE_OUTPUT];
  if (!table) throw new CliError(`${OUTPUTS_FILE} has no ${TABLE_OUTPUT} for stack ${stack}: ${hint}`);
  return table;
}
