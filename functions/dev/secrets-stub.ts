import { readFileSync } from 'node:fs';
import { writeFile, rename } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsStub {
  readonly endpoint: string;
  close(): Promise<void>;
}

export interface SecretsStubOptions {
  /**
   * Where secrets the registry writes at run time (CreateSecret, PutSecretValue, DeleteSecret:
   * webhook secrets, cache credentials) are kept across restarts, as the real service keeps them.
   * A JSON file, mode 0600. Without it they live as long as the stub.
   */
  readonly persistTo?: string;
}

type Reply = (status: number, body: unknown) => void;

/**
 * The Secrets Manager calls the registry makes, answered locally for dev:aws, so the functions'
 * real paths run unchanged: GetSecretValue of the stack's keys (given, never rotated), and the
 * create / put / delete of the secrets the registry keeps at run time. Neither DynamoDB Local
 * nor the S3 emulator covers Secrets Manager.
 */
export async function startSecretsStub(fixed: ReadonlyMap<string, string>, options: SecretsStubOptions = {}): Promise<SecretsStub> {
  const written = new Map<string, string>(options.persistTo ? loadPersisted(options.persistTo) : []);
  let saving = Promise.resolve();
  const persist = () => {
    const file = options.persistTo;
    if (!file) return Promise.resolve();
    const body = JSON.stringify(Object.fromEntries(written));
    saving = saving.then(async () => {
      await writeFile(`${file}.tmp`, body, { mode: 0o600 });
      await rename(`${file}.tmp`, file);
    });
    return saving;
  };
  const handlers: Record<string, (input: Record<string, unknown>, reply: Reply) => Promise<void> | void> = {
    GetSecretValue(input, reply) {
      const secretId = String(input.SecretId ?? '');
      const value = fixed.get(secretId) ?? written.get(secretId);
      if (value === undefined) return reply(400, notFound(`Secrets Manager can't find the specified secret: ${secretId}`));
      // Each secret here has one version, never rotated: only AWSCURRENT exists, as for a fresh stack.
      const stage = String(input.VersionStage ?? 'AWSCURRENT');
      if (stage !== 'AWSCURRENT') return reply(400, notFound(`Secrets Manager can't find the specified secret value for staging label: ${stage}`));
      return reply(200, {
        ARN: secretId, Name: secretId.split(':').at(-1), VersionId: 'dev', VersionStages: ['AWSCURRENT'],
        SecretString: value, CreatedDate: Math.floor(Date.now() / 1000),
      });
    },
    async CreateSecret(input, reply) {
      const name = String(input.Name ?? '');
      if (fixed.has(name) || written.has(name)) return reply(400, { __type: 'ResourceExistsException', message: `The operation failed because the secret ${name} already exists.` });
      written.set(name, String(input.SecretString ?? ''));
      await persist();
      return reply(200, { ARN: name, Name: name, VersionId: 'dev' });
    },
    async PutSecretValue(input, reply) {
      const secretId = String(input.SecretId ?? '');
      if (!written.has(secretId)) return reply(400, notFound(`Secrets Manager can't find the specified secret: ${secretId}`));
      written.set(secretId, String(input.SecretString ?? ''));
      await persist();
      return reply(200, { ARN: secretId, Name: secretId, VersionId: 'dev', VersionStages: ['AWSCURRENT'] });
    },
    async DeleteSecret(input, reply) {
      const secretId = String(input.SecretId ?? '');
      if (!written.delete(secretId)) return reply(400, notFound(`Secrets Manager can't find the specified secret: ${secretId}`));
      await persist();
      return reply(200, { ARN: secretId, Name: secretId, DeletionDate: Math.floor(Date.now() / 1000) });
    },
  };
  const server: Server = createServer((req, res) => {
    const reply: Reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    void readJson(req).then(async (input) => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
      const handler = Object.hasOwn(handlers, operation) ? handlers[operation] : undefined;
      if (!handler) return reply(400, { __type: 'UnsupportedOperation', message: `dev:aws does not answer ${req.headers['x-amz-target']}` });
      if (!input) return reply(400, { __type: 'InvalidRequestException', message: 'body is not a JSON object' });
      await handler(input, reply);
    }).catch((error: unknown) => reply(500, { __type: 'InternalServiceError', message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await saving;
    },
  };
}

const notFound = (message: string) => ({ __type: 'ResourceNotFoundException', message });

function loadPersisted(file: string): [string, string][] {
  try {
    return Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`dev:aws secrets file ${file} is unreadable (${String(error)}); remove it to start with no run-time secrets`);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}
