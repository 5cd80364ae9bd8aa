import { describe, expect } from 'vitest';
import { OCI_MANIFEST } from './fixtures';
import { expectStatus, expectSuccess, pushBlob, putManifest, spec, tagList, type SuiteContext } from './context';

/**
 * v1.1.1 `04_management_test.go`. Its last spec runs only when the blob DELETEs were
 * allowed (not 405); this port requires them to be (Nimbus deletes blobs), so that spec
 * always runs. Its other tolerances (tag DELETE 400/405, digest DELETE 404, a 200 on the
 * deleted manifest) are the spec's own alternatives and are accepted as v1.1.1 accepts them.
 */
export function managementWorkflow(ctx: SuiteContext): void {
  const { fixtures: f } = ctx;
  const defaultTagName = 'tagtest0';
  let tagToDelete = '';
  let numTags = 0;
  let blobDeleteAllowed = true;
  const client = () => ctx.client();

  describe('Content Management', () => {
    describe('Setup', () => {
      spec(ctx, 'Populate registry with test config blob', () => pushBlob(ctx, f.configs[3]!));
      spec(ctx, 'Populate registry with test layer', () => pushBlob(ctx, f.layer));
      spec(ctx, 'Populate registry with test tag', async () => {
        tagToDelete = defaultTagName;
        expectSuccess(await putManifest(ctx, tagToDelete, f.manifests[3]!.content, OCI_MANIFEST));
      });
      spec(ctx, 'Check how many tags there are before anything gets deleted', async () => {
        const response = await client().request('GET', '/v2/<name>/tags/list');
        expectStatus(response, 200);
        expect(() => JSON.parse(response.text()) as unknown, 'tags/list body').not.toThrow();
        numTags = tagList(response).length;
      });
    });

    describe('Manifest delete', () => {
      spec(ctx, 'DELETE request to manifest tag should return 202, unless tag deletion is disallowed (400/405)', async () => {
        const response = await client().request('DELETE', `/v2/<name>/manifests/${tagToDelete}`);
        expectStatus(response, 400, 202, 405);
        if (response.status === 400) {
          const errors = (JSON.parse(response.text()) as { errors?: Array<{ code?: string }> }).errors ?? [];
          expect(errors).not.toHaveLength(0);
          expect(errors[0]!.code).toBe('UNSUPPORTED');
        }
      });
      spec(ctx, 'DELETE request to manifest (digest) should yield 202 response unless already deleted', async () => {
        expectStatus(await client().request('DELETE', `/v2/<name>/manifests/${f.manifests[3]!.digest}`), 202, 404);
      });
      spec(ctx, 'GET request to deleted manifest URL should yield 404 response, unless delete is disallowed', async () => {
        expectStatus(await client().request('GET', `/v2/<name>/manifests/${f.manifests[3]!.digest}`), 404, 200);
      });
      spec(ctx, 'GET request to tags list should reflect manifest deletion', async () => {
        const response = await client().request('GET', '/v2/<name>/tags/list');
        expectStatus(response, 200);
        expect(() => JSON.parse(response.text()) as unknown, 'tags/list body').not.toThrow();
        expect(tagList(response).length).toBeLessThan(numTags);
      });
    });

    describe('Blob delete', () => {
      spec(ctx, 'DELETE request to blob URL should yield 202 response', async () => {
        expectStatus(await client().request('DELETE', `/v2/<name>/blobs/${f.configs[3]!.digest}`), 202, 404, 405);
        const layer = await client().request('DELETE', `/v2/<name>/blobs/${f.layer.digest}`);
        expectStatus(layer, 202, 404, 405);
        if (layer.status === 405) blobDeleteAllowed = false;
      });
      spec(ctx, 'GET request to deleted blob URL should yield 404 response', async () => {
        expect(blobDeleteAllowed, 'v1.1.1 runs this spec only when the layer DELETE was not refused with 405').toBe(true);
        expectStatus(await client().request('GET', `/v2/<name>/blobs/${f.configs[3]!.digest}`), 404);
      });
    });
  });
}
