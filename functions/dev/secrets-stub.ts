import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsStub {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * The one Secrets Manager call the registry function makes (GetSecretValue), answered
 * locally for dev:aws, so the function's real cold-start path runs unchanged. Neither
 * DynamoDB Local nor the S3 emulator covers Secrets Manager.
 */
export async function startSecretsStub(secrets: ReadonlyMap<string, string>): Promise<SecretsStub> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        return reply(400, { __type: 'UnsupportedOperation', message: `dev:aws answers GetSecretValue only, not ${req.headers['x-amz-target']}` });
      }
      let input: { SecretId?: unknown; VersionStage?: unknown };
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof input;
      } catch {
        return reply(400, { __type: 'InvalidRequestException', message: 'body is not JSON' });
      }
      const secretId = String(input.SecretId ?? '');
      const value = secrets.get(secretId);
      if (value === undefined) return reply(400, { __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret: ${secretId}` });
      // Each secret here has one version, never rotated: only AWSCURRENT exists, as for a fresh stack.
      const stage = String(input.VersionStage ?? 'AWSCURRENT');
      if (stage !== 'AWSCURRENT') {
        return reply(400, { __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret value for staging label: ${stage}` });
      }
      return reply(200, {
        ARN: secretId, Name: secretId.split(':').at(-1), VersionId: 'dev', VersionStages: ['AWSCURRENT'],
        SecretString: value, CreatedDate: Math.floor(Date.now() / 1000),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
