import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RetentionReport } from '../../functions/core/policy/runner';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { runNimbus } from '../support/nimbus-cli';
import { authHeaders } from '../support/registry-target';

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

let devAws: RunningDevAws;
beforeAll(async () => {
  devAws = await devAwsTarget({ uploadEndpoint: false }).start();
}, 180_000);
afterAll(() => devAws?.stop());

/** Pushes a one-layer image through the Lambda, with the admin login. */
async function pushImage(repository: string, tag: string): Promise<Response> {
  const auth = authHeaders(devAws);
  const blobs = [randomBytes(32), randomBytes(300)];
  for (const bytes of blobs) {
    const put = await fetch(`${devAws.url}/v2/${repository}/blobs/uploads/?digest=${sha256(bytes)}`, { method: 'POST', body: bytes, headers: auth });
    expect(put.status).toBe(201);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(blobs[0]!), size: 32 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(blobs[1]!), size: 300 }],
  });
  return fetch(`${devAws.url}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT', body: manifest, headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
}

it('serves retention and immutability through the Lambda, to an admin only', async () => {
  expect((await fetch(`${devAws.url}/v2/_nimbus/immutability`)).status).toBe(401);
  const env = { NIMBUS_USERNAME: devAws.credentials.username, NIMBUS_PASSWORD: devAws.credentials.password };
  const nimbus = (args: string[], input?: string) => runNimbus([...args, '--registry', devAws.url], { env, ...(input === undefined ? {} : { input }) });

  const added = await nimbus(['immutability', 'add', '--repository', 'rel/*', '--tags', 'v*', '--id', 'releases']);
  expect(added.stderr).toBe('');
  expect((await pushImage('rel/app', 'v1')).status).toBe(201);
  const overwrite = await pushImage('rel/app', 'v1');
  expect(overwrite.status).toBe(403);
  expect(await overwrite.text()).toContain('releases');
  expect((await pushImage('rel/app', 'edge')).status).toBe(201);
  expect((await pushImage('rel/app', 'edge')).status).toBe(201);

  for (const tag of ['a', 'b', 'c']) expect((await pushImage('ci/app', tag)).status).toBe(201);
  expect((await nimbus(['retention', 'set', '-'], JSON.stringify({ rules: [{ repositories: 'ci/*', keepLast: 1, untaggedOlderThanDays: 0 }] }))).code).toBe(0);
  const dry = JSON.parse((await nimbus(['retention', 'run', '--dry-run', '--json'])).stdout) as RetentionReport;
  const real = JSON.parse((await nimbus(['retention', 'run', '--json'])).stdout) as RetentionReport;
  expect(dry.deleted.map((d) => d.tag).filter(Boolean)).toEqual(['a', 'b']);
  expect(real.deleted).toEqual(dry.deleted);
  const tags = await fetch(`${devAws.url}/v2/ci/app/tags/list`, { headers: authHeaders(devAws) }).then((r) => r.json()) as { tags: string[] };
  expect(tags.tags).toEqual(['c']);
}, 180_000);
