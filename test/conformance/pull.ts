import { describe, expect } from 'vitest';
import { ERROR_CODES, INVALID_MANIFEST_CONTENT, NONEXISTENT_MANIFEST, OCI_MANIFEST, TEST_TAG_NAME } from './fixtures';
import { expectStatus, expectSuccess, pushBlob, putManifest, spec, type SuiteContext } from './context';
import type { SuiteResponse } from './client';

/**
 * v1.1.1 `01_pull_test.go`. Not mirrored: "Get tag name from environment", which runs only
 * when OCI_TAG_NAME & co. pre-seed content (then the Setup specs skip instead).
 */
export function pullWorkflow(ctx: SuiteContext): void {
  const { fixtures: f } = ctx;
  const accept = { Accept: OCI_MANIFEST };
  let tag = '';

  /** `if h := resp.Header().Get("Docker-Content-Digest"); h != "" { Expect(h).To(Equal(digest)) }` */
  const expectDigestHeaderIfAny = (response: SuiteResponse, digest: string) => {
    const header = response.header('docker-content-digest');
    if (header !== '') expect(header, 'Docker-Content-Digest').toBe(digest);
  };

  describe('Pull', () => {
    describe('Setup', () => {
      spec(ctx, 'Populate registry with test blob', () => pushBlob(ctx, f.configs[0]!));
      spec(ctx, 'Populate registry with test blob', () => pushBlob(ctx, f.configs[1]!));
      spec(ctx, 'Populate registry with test layer', () => pushBlob(ctx, f.layer));
      spec(ctx, 'Populate registry with test manifest', async () => {
        tag = TEST_TAG_NAME;
        expectSuccess(await putManifest(ctx, tag, f.manifests[0]!.content, OCI_MANIFEST));
      });
      spec(ctx, 'Populate registry with test manifest', async () => {
        expectSuccess(await putManifest(ctx, f.manifests[1]!.digest, f.manifests[1]!.content, OCI_MANIFEST));
      });
    });

    describe('Pull blobs', () => {
      spec(ctx, 'HEAD request to nonexistent blob should result in 404 response', async () => {
        expectStatus(await ctx.client().request('HEAD', `/v2/<name>/blobs/${f.dummyDigest}`), 404);
      });
      spec(ctx, 'HEAD request to existing blob should yield 200', async () => {
        const response = await ctx.client().request('HEAD', `/v2/<name>/blobs/${f.configs[0]!.digest}`);
        expectStatus(response, 200);
        expectDigestHeaderIfAny(response, f.configs[0]!.digest);
      });
      spec(ctx, 'GET nonexistent blob should result in 404 response', async () => {
        expectStatus(await ctx.client().request('GET', `/v2/<name>/blobs/${f.dummyDigest}`), 404);
      });
      spec(ctx, 'GET request to existing blob URL should yield 200', async () => {
        expectStatus(await ctx.client().request('GET', `/v2/<name>/blobs/${f.configs[0]!.digest}`), 200);
      });
    });

    describe('Pull manifests', () => {
      spec(ctx, 'HEAD request to nonexistent manifest should return 404', async () => {
        expectStatus(await ctx.client().request('HEAD', `/v2/<name>/manifests/${NONEXISTENT_MANIFEST}`), 404);
      });
      for (const i of [0, 1]) {
        spec(ctx, `HEAD request to manifest[${i}] path (digest) should yield 200 response`, async () => {
          const response = await ctx.client().request('HEAD', `/v2/<name>/manifests/${f.manifests[i]!.digest}`, { headers: accept });
          expectStatus(response, 200);
          expectDigestHeaderIfAny(response, f.manifests[i]!.digest);
        });
      }
      spec(ctx, 'HEAD request to manifest path (tag) should yield 200 response', async () => {
        expect(tag).not.toBe('');
        const response = await ctx.client().request('HEAD', `/v2/<name>/manifests/${tag}`, { headers: accept });
        expectStatus(response, 200);
        expectDigestHeaderIfAny(response, f.manifests[0]!.digest);
      });
      spec(ctx, 'GET nonexistent manifest should return 404', async () => {
        expectStatus(await ctx.client().request('GET', `/v2/<name>/manifests/${NONEXISTENT_MANIFEST}`), 404);
      });
      for (const i of [0, 1]) {
        spec(ctx, `GET request to manifest[${i}] path (digest) should yield 200 response`, async () => {
          expectStatus(await ctx.client().request('GET', `/v2/<name>/manifests/${f.manifests[i]!.digest}`, { headers: accept }), 200);
        });
      }
      spec(ctx, 'GET request to manifest path (tag) should yield 200 response', async () => {
        expect(tag).not.toBe('');
        expectStatus(await ctx.client().request('GET', `/v2/<name>/manifests/${tag}`, { headers: accept }), 200);
      });
    });

    describe('Error codes', () => {
      spec(ctx, '400 response body should contain OCI-conforming JSON message', async () => {
        // The suite sets a body on this GET; resty never sends a GET body, only the header.
        const response = await ctx.client().request('GET', '/v2/<name>/manifests/sha256:totallywrong', {
          headers: { 'Content-Type': OCI_MANIFEST }, body: INVALID_MANIFEST_CONTENT,
        });
        expectStatus(response, 400, 404);
        if (response.status === 400) {
          const errors = (JSON.parse(response.text()) as { errors?: Array<{ code?: string }> }).errors ?? [];
          expect(errors, 'errors').not.toHaveLength(0);
          expect(ERROR_CODES).toContain(errors[0]!.code);
        }
      });
    });

    describe('Teardown', () => {
      const deleteManifests = () => {
        for (const i of [0, 1]) {
          spec(ctx, `Delete manifest[${i}] created in setup`, async () => {
            expectSuccess(await ctx.client().request('DELETE', `/v2/<name>/manifests/${f.manifests[i]!.digest}`), 405);
          });
        }
      };
      if (ctx.settings.deleteManifestBeforeBlobs) deleteManifests();
      for (const [label, digest] of [['config[0] blob', f.configs[0]!.digest], ['config[1] blob', f.configs[1]!.digest], ['layer blob', f.layer.digest]] as const) {
        spec(ctx, `Delete ${label} created in setup`, async () => {
          expectSuccess(await ctx.client().request('DELETE', `/v2/<name>/blobs/${digest}`), 404, 405);
        });
      }
      if (!ctx.settings.deleteManifestBeforeBlobs) deleteManifests();
    });
  });
}
