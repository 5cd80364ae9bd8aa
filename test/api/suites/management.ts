import { describe, expect, it } from 'vitest';
import { expectError, OCI_MANIFEST, rand, uniqueRepo } from '../client';
import type { SuiteContext } from '../suite';

/** Content management: deleting manifests, tags and blobs. */
export function managementTests(t: SuiteContext): void {
  describe('content management', () => {
    it('deletes a manifest by digest with 202; its tags stop resolving', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 'v1');
      await t.client.putManifest(repo, 'latest', image.body, OCI_MANIFEST);
      const keep = await t.client.pushImage(repo, 'keep');
      expect((await t.client.send('DELETE', `/v2/${repo}/manifests/${image.digest}`)).status).toBe(202);
      await expectError(await t.client.send('GET', `/v2/${repo}/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await t.client.send('GET', `/v2/${repo}/manifests/v1`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await t.client.send('GET', `/v2/${repo}/manifests/latest`), 404, 'MANIFEST_UNKNOWN');
      expect((await (await t.client.send('GET', `/v2/${repo}/tags/list`)).json()).tags).toEqual(['keep']);
      expect((await t.client.send('GET', `/v2/${repo}/manifests/${keep.digest}`)).status).toBe(200);
      await expectError(await t.client.send('DELETE', `/v2/${repo}/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
    });

    it('deletes a tag with 202 and keeps the manifest', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 'v1');
      expect((await t.client.send('DELETE', `/v2/${repo}/manifests/v1`)).status).toBe(202);
      await expectError(await t.client.send('GET', `/v2/${repo}/manifests/v1`), 404, 'MANIFEST_UNKNOWN');
      expect((await t.client.send('GET', `/v2/${repo}/manifests/${image.digest}`)).status).toBe(200);
      await expectError(await t.client.send('DELETE', `/v2/${repo}/manifests/v1`), 404, 'MANIFEST_UNKNOWN');
    });

    it('deletes a blob from one repository with 202, leaving other repositories alone', async () => {
      const repo = uniqueRepo();
      const other = uniqueRepo();
      const bytes = rand(100);
      const blob = await t.client.pushBlob(repo, bytes);
      await t.client.pushBlob(other, bytes);
      expect((await t.client.send('DELETE', `/v2/${repo}/blobs/${blob.digest}`)).status).toBe(202);
      await expectError(await t.client.send('GET', `/v2/${repo}/blobs/${blob.digest}`), 404, 'BLOB_UNKNOWN');
      await expectError(await t.client.send('DELETE', `/v2/${repo}/blobs/${blob.digest}`), 404, 'BLOB_UNKNOWN');
      expect(new Uint8Array(await (await t.client.send('GET', `/v2/${other}/blobs/${blob.digest}`)).arrayBuffer())).toEqual(bytes);
    });
  });
}
