import { describe, expect } from 'vitest';
import { chunkedBlob, EMPTY_LAYER_TEST_TAG, NONEXISTENT_MANIFEST, OCI_MANIFEST } from './fixtures';
import { expectLocation, expectStatus, expectSuccess, putManifest, spec, type SuiteContext } from './context';
import type { SuiteResponse } from './client';

const OCTET_STREAM = { 'Content-Type': 'application/octet-stream' };

/**
 * v1.1.1 `02_push_test.go`.
 *
 * Where v1.1.1 lets a spec pass without testing anything (a skip guarded by the previous
 * answer, or a warning), this port asserts the branch that does test it, so nothing slips
 * through as a skip; the Go suite passes whenever this does:
 * - the mount with `from` must answer 201 (the caller may pull from the source), so
 *   "GET request to test digest within cross-mount namespace" and, with
 *   OCI_AUTOMATIC_CROSSMOUNT=true, "Cross-mounting without from, … enabled" always run;
 *   their complements ("Cross-mounting of nonexistent blob should yield session id", run
 *   only after a 202, and "… disabled should return a 202") are then skipped by the Go
 *   suite, and not mirrored;
 * - "Registry should accept a manifest upload with no layers" must answer 201 (v1.1.1 only
 *   warns otherwise).
 */
export function pushWorkflow(ctx: SuiteContext): void {
  const { fixtures: f, settings } = ctx;
  let lastResponse: SuiteResponse | undefined;
  let prevResponse: SuiteResponse | undefined;
  let emptyLayerManifestRef = '';
  let testBlobB = f.testBlobB;
  const client = () => ctx.client();
  const last = () => {
    expect(lastResponse, 'the response of the previous spec').toBeDefined();
    return lastResponse!;
  };

  describe('Push', () => {
    describe('Blob Upload Streamed', () => {
      spec(ctx, 'PATCH request with blob in body should yield 202 response', async () => {
        const session = await client().request('POST', '/v2/<name>/blobs/uploads/');
        expectLocation(session);
        const patch = await client().request('PATCH', session.relativeLocation(), { headers: OCTET_STREAM, body: f.testBlobA.content });
        expectStatus(patch, 202);
        lastResponse = patch;
      });
      spec(ctx, 'PUT request to session URL with digest should yield 201 response', async () => {
        const put = await client().request('PUT', last().relativeLocation(), { query: { digest: f.testBlobA.digest }, headers: OCTET_STREAM });
        expectStatus(put, 201);
        expectLocation(put);
      });
    });

    describe('Blob Upload Monolithic', () => {
      spec(ctx, 'GET nonexistent blob should result in 404 response', async () => {
        expectStatus(await client().request('GET', `/v2/<name>/blobs/${f.dummyDigest}`), 404);
      });
      spec(ctx, 'POST request with digest and blob should yield a 201 or 202', async () => {
        const post = await client().request('POST', '/v2/<name>/blobs/uploads/', {
          query: { digest: f.configs[1]!.digest }, headers: OCTET_STREAM, body: f.configs[1]!.content,
        });
        expectLocation(post);
        expectStatus(post, 201, 202);
        lastResponse = post;
      });
      spec(ctx, 'GET request to blob URL from prior request should yield 200 or 404 based on response code', async () => {
        const get = await client().request('GET', `/v2/<name>/blobs/${f.configs[1]!.digest}`);
        expectStatus(get, last().status === 202 ? 404 : 200);
      });
      spec(ctx, 'POST request should yield a session ID', async () => {
        const post = await client().request('POST', '/v2/<name>/blobs/uploads/');
        expectStatus(post, 202);
        lastResponse = post;
      });
      spec(ctx, 'PUT upload of a blob should yield a 201 Response', async () => {
        const put = await client().request('PUT', last().relativeLocation(), {
          query: { digest: f.configs[1]!.digest }, headers: OCTET_STREAM, body: f.configs[1]!.content,
        });
        expectLocation(put);
        expectStatus(put, 201);
      });
      spec(ctx, 'GET request to existing blob should yield 200 response', async () => {
        expectStatus(await client().request('GET', `/v2/<name>/blobs/${f.configs[1]!.digest}`), 200);
      });
      spec(ctx, 'PUT upload of a layer blob should yield a 201 Response', async () => {
        const session = await client().request('POST', '/v2/<name>/blobs/uploads/');
        const put = await client().request('PUT', session.relativeLocation(), {
          query: { digest: f.layer.digest }, headers: OCTET_STREAM, body: f.layer.content,
        });
        expectLocation(put);
        expectStatus(put, 201);
      });
      spec(ctx, 'GET request to existing layer should yield 200 response', async () => {
        expectStatus(await client().request('GET', `/v2/<name>/blobs/${f.layer.digest}`), 200);
      });
    });

    describe('Blob Upload Chunked', () => {
      const patchChunk = (location: string, chunk: Uint8Array, range: string) =>
        client().request('PATCH', location, { headers: { ...OCTET_STREAM, 'Content-Range': range }, body: chunk });

      spec(ctx, 'Out-of-order blob upload should return 416', async () => {
        const session = await client().request('POST', '/v2/<name>/blobs/uploads/');
        expectLocation(session);
        // The suite grows its blob when the registry needs bigger chunks.
        const minLength = session.header('oci-chunk-min-length');
        if (minLength !== '') {
          const min = Number(minLength);
          expect(Number.isInteger(min), `OCI-Chunk-Min-Length "${minLength}"`).toBe(true);
          if (min > testBlobB.chunk1.byteLength) testBlobB = chunkedBlob(min * 2 - 2);
        }
        expectStatus(await patchChunk(session.relativeLocation(), testBlobB.chunk2, testBlobB.chunk2Range), 416);
      });
      spec(ctx, 'PATCH request with first chunk should return 202', async () => {
        const session = await client().request('POST', '/v2/<name>/blobs/uploads/');
        expectLocation(session);
        prevResponse = session;
        const patch = await patchChunk(session.relativeLocation(), testBlobB.chunk1, testBlobB.chunk1Range);
        expectStatus(patch, 202);
        expect(patch.header('range'), 'Range').toBe(testBlobB.chunk1Range);
        lastResponse = patch;
      });
      spec(ctx, 'Retry previous blob chunk should return 416', async () => {
        expect(prevResponse).toBeDefined();
        expectStatus(await patchChunk(prevResponse!.relativeLocation(), testBlobB.chunk1, testBlobB.chunk1Range), 416);
      });
      spec(ctx, 'Get on stale blob upload should return 204 with a range and location', async () => {
        expect(prevResponse).toBeDefined();
        const status = await client().request('GET', prevResponse!.relativeLocation());
        expectStatus(status, 204);
        expectLocation(status);
        expect(status.header('range'), 'Range').toBe(testBlobB.chunk1Range);
        lastResponse = status;
      });
      spec(ctx, 'PATCH request with second chunk should return 202', async () => {
        const patch = await patchChunk(last().relativeLocation(), testBlobB.chunk2, testBlobB.chunk2Range);
        expectStatus(patch, 202);
        expectLocation(patch);
        lastResponse = patch;
      });
      spec(ctx, 'PUT request with digest should return 201', async () => {
        const put = await client().request('PUT', last().relativeLocation(), { query: { digest: testBlobB.digest }, headers: OCTET_STREAM });
        expectStatus(put, 201);
        expectLocation(put);
      });
    });

    describe('Cross-Repository Blob Mount', () => {
      const mountIntoCrossmount = (query: Record<string, string>) =>
        client().request('POST', '/v2/<name>/blobs/uploads/', { name: settings.crossmountNamespace, query });

      spec(ctx, 'Cross-mounting of a blob without the from argument should yield session id', async () => {
        const post = await mountIntoCrossmount({ mount: f.dummyDigest });
        expectStatus(post, 202);
        expectLocation(post);
      });
      spec(ctx, "POST request to mount another repository's blob should return 201 or 202", async () => {
        const post = await mountIntoCrossmount({ mount: f.testBlobA.digest, from: settings.namespace });
        expectStatus(post, 201, 202);
        lastResponse = post;
      });
      spec(ctx, 'GET request to test digest within cross-mount namespace should return 200', async () => {
        expect(last().status, 'v1.1.1 runs this spec only after the mount answered 201: the caller may pull from the source, so it must').toBe(201);
        expect(last().relativeLocation()).toBe(`/v2/${settings.crossmountNamespace}/blobs/${f.testBlobA.digest}`);
        expectStatus(await client().request('GET', last().relativeLocation()), 200);
      });
      if (settings.automaticCrossmount === true) {
        spec(ctx, 'Cross-mounting without from, and automatic content discovery enabled should return a 201', async () => {
          expect(last().status, 'v1.1.1 runs this spec only after the mount with from answered 201').toBe(201);
          expectStatus(await mountIntoCrossmount({ mount: f.testBlobA.digest }), 201);
        });
      }
      if (settings.automaticCrossmount === false) {
        spec(ctx, 'Cross-mounting without from, and automatic content discovery disabled should return a 202', async () => {
          expect(last().status, 'v1.1.1 runs this spec only after the mount with from answered 201').toBe(201);
          expectStatus(await mountIntoCrossmount({ mount: f.testBlobA.digest }), 202);
        });
      }
    });

    describe('Manifest Upload', () => {
      spec(ctx, 'GET nonexistent manifest should return 404', async () => {
        expectStatus(await client().request('GET', `/v2/<name>/manifests/${NONEXISTENT_MANIFEST}`), 404);
      });
      spec(ctx, 'PUT should accept a manifest upload', async () => {
        for (let i = 0; i < 4; i++) {
          const put = await putManifest(ctx, `test${i}`, f.manifests[1]!.content, OCI_MANIFEST);
          expectLocation(put);
          expectStatus(put, 201);
        }
      });
      spec(ctx, 'Registry should accept a manifest upload with no layers', async () => {
        const put = await putManifest(ctx, EMPTY_LAYER_TEST_TAG, f.emptyLayerManifest.content, OCI_MANIFEST);
        expectStatus(put, 201); // v1.1.1 warns "image manifest with no layers is not supported" on anything else
        expectLocation(put);
        emptyLayerManifestRef = put.header('location');
      });
      spec(ctx, 'GET request to manifest URL (digest) should yield 200 response', async () => {
        expectStatus(await client().request('GET', `/v2/<name>/manifests/${f.manifests[1]!.digest}`, { headers: { Accept: OCI_MANIFEST } }), 200);
      });
    });

    describe('Teardown', () => {
      const deleteManifests = () => spec(ctx, 'Delete manifest created in tests', async () => {
        expectSuccess(await client().request('DELETE', `/v2/<name>/manifests/${f.manifests[1]!.digest}`), 405);
        if (emptyLayerManifestRef !== '') {
          expectSuccess(await client().request('DELETE', `/v2/<name>/manifests/${f.emptyLayerManifest.digest}`), 405);
        }
      });
      if (settings.deleteManifestBeforeBlobs) deleteManifests();
      spec(ctx, 'Delete config blob created in tests', async () => {
        expectSuccess(await client().request('DELETE', `/v2/<name>/blobs/${f.configs[1]!.digest}`), 404, 405);
      });
      spec(ctx, 'Delete layer blob created in setup', async () => {
        expectSuccess(await client().request('DELETE', `/v2/<name>/blobs/${f.layer.digest}`), 404, 405);
      });
      if (!settings.deleteManifestBeforeBlobs) deleteManifests();
    });
  });
}
