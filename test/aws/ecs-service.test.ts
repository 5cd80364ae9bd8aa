import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ecsServiceScaler } from '../../functions/adapters/aws/ecs-service';

let close: (() => void) | undefined;
afterEach(() => close?.());

/** A stand-in for the ECS API that records one request and answers with `status`. */
async function fakeEcs(status: number): Promise<{ endpoint: string; received: Promise<{ headers: IncomingHttpHeaders; body: string }> }> {
  let resolve: (value: { headers: IncomingHttpHeaders; body: string }) => void;
  const received = new Promise<{ headers: IncomingHttpHeaders; body: string }>((r) => (resolve = r));
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      resolve({ headers: req.headers, body });
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(status === 200 ? '{"service":{}}' : '{"__type":"AccessDeniedException","message":"nope"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  close = () => server.close();
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

describe('ECS UpdateService', () => {
  it('sends a SigV4-signed UpdateService with the desired count only', async () => {
    const ecs = await fakeEcs(200);
    await ecsServiceScaler({ region: 'eu-west-1', cluster: 'nimbus', service: 'uploads', endpoint: ecs.endpoint, credentials }).setDesiredCount(0);
    const { headers, body } = await ecs.received;
    expect(headers['x-amz-target']).toBe('AmazonEC2ContainerServiceV20141113.UpdateService');
    expect(headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ecs\/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/);
    expect(JSON.parse(body)).toEqual({ cluster: 'nimbus', service: 'uploads', desiredCount: 0 });
  });

  it('fails with the service\'s answer when ECS refuses', async () => {
    const ecs = await fakeEcs(400);
    await expect(ecsServiceScaler({ region: 'eu-west-1', cluster: 'c', service: 's', endpoint: ecs.endpoint, credentials }).setDesiredCount(1))
      .rejects.toThrow(/400 .*AccessDeniedException/);
  });
});
