import { describe, expect } from 'vitest';
import {
  ARTIFACT_TYPE_FILTER, OCI_INDEX, OCI_MANIFEST, REF_ARTIFACT_TYPE_A, TEST_ANNOTATION_KEY, TEST_TAG_NAME, type TestBlob,
} from './fixtures';
import { expectStatus, expectSuccess, pushBlob, putManifest, spec, tagList, type SuiteContext } from './context';
import type { SuiteResponse } from './client';

interface IndexBody {
  manifests?: Array<{ digest?: string; annotations?: Record<string, string> }>;
}

/**
 * v1.1.1 `03_discovery_test.go`. Not mirrored: "Populate registry with test tags (no push)",
 * which runs only when OCI_TAG_LIST pre-seeds tags. Where v1.1.1 accepts an unfiltered
 * referrers list with a warning, this port requires the filter (OCI-Filters-Applied).
 */
export function discoveryWorkflow(ctx: SuiteContext): void {
  const { fixtures: f, settings } = ctx;
  const { refs } = f;
  let numTags = 4;
  let tags: string[] = [];
  const client = () => ctx.client();

  /** PUT by digest, 2xx, and OCI-Subject naming the subject (no tolerance for its absence in v1.1.1). */
  const putReferrer = async (manifest: TestBlob, subject: TestBlob, contentType = OCI_MANIFEST) => {
    const put = await putManifest(ctx, manifest.digest, manifest.content, contentType);
    expectSuccess(put);
    expect(put.header('oci-subject'), `OCI-Subject of ${manifest.digest}`).toBe(subject.digest);
  };

  const referrers = async (digest: string, query?: Record<string, string>): Promise<{ response: SuiteResponse; index: IndexBody }> => {
    const response = await client().request('GET', `/v2/<name>/referrers/${digest}`, { query });
    expectStatus(response, 200);
    expect(response.header('content-type'), 'Content-Type').toBe(OCI_INDEX);
    return { response, index: JSON.parse(response.text()) as IndexBody };
  };

  const expectAnnotated = (index: IndexBody) => {
    for (const descriptor of index.manifests ?? []) {
      expect(Object.keys(descriptor.annotations ?? {}), `annotations of ${descriptor.digest}`).toHaveLength(1);
      expect(descriptor.annotations?.[TEST_ANNOTATION_KEY], `annotation of ${descriptor.digest}`).toBe(f.annotationValues.get(descriptor.digest ?? ''));
    }
  };

  describe('Content Discovery', () => {
    describe('Setup', () => {
      spec(ctx, 'Populate registry with test blob', () => pushBlob(ctx, f.configs[2]!));
      spec(ctx, 'Populate registry with test layer', () => pushBlob(ctx, f.layer));
      spec(ctx, 'Populate registry with test tags', async () => {
        for (let i = 0; i < numTags; i++) {
          expectSuccess(await putManifest(ctx, `test${i}`, f.manifests[2]!.content, OCI_MANIFEST));
        }
        tags = tagList(await client().request('GET', '/v2/<name>/tags/list'));
      });
      spec(ctx, 'References setup', async () => {
        expect(f.emptyJson.digest).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
        await pushBlob(ctx, f.emptyJson);
        await pushBlob(ctx, f.refBlobA); // before the subject is pushed
        await putReferrer(refs.aConfig, f.manifests[4]!);
        await putReferrer(refs.aLayer, f.manifests[4]!);
        await putReferrer(refs.index, f.manifests[4]!, OCI_INDEX);
        await pushBlob(ctx, f.configs[4]!);
        await pushBlob(ctx, f.layer);
        expectSuccess(await putManifest(ctx, TEST_TAG_NAME, f.manifests[4]!.content, OCI_MANIFEST));
        await pushBlob(ctx, f.refBlobB); // after the subject is pushed
        await putReferrer(refs.bConfig, f.manifests[4]!);
        await putReferrer(refs.bLayer, f.manifests[4]!);
        await putReferrer(refs.cLayer, f.manifests[3]!); // a subject that does not exist
      });
    });

    describe('Test content discovery endpoints (listing tags)', () => {
      spec(ctx, 'GET request to list tags should yield 200 response', async () => {
        const response = await client().request('GET', '/v2/<name>/tags/list');
        expectStatus(response, 200);
        tags = tagList(response);
        numTags = tags.length;
      });
      spec(ctx, 'GET number of tags should be limitable by `n` query parameter', async () => {
        const numResults = Math.trunc(numTags / 2);
        const response = await client().request('GET', '/v2/<name>/tags/list', { query: { n: String(numResults) } });
        expectStatus(response, 200);
        tags = tagList(response);
        expect(tags).toHaveLength(numResults);
      });
      spec(ctx, 'GET start of tag is set by `last` query parameter', async () => {
        const numResults = Math.trunc(numTags / 2);
        tags = tagList(await client().request('GET', '/v2/<name>/tags/list', { query: { n: String(numResults) } }));
        const lastTag = tags[numResults - 1]!;
        const response = await client().request('GET', '/v2/<name>/tags/list', { query: { n: String(numResults), last: lastTag } });
        expectStatus(response, 200);
        // v1.1.1 checks only the status here (it re-reads the first page); the next page
        // must also hold what the title says: at most n tags, none of them `last` or before it.
        const next = tagList(response);
        expect(next.length).toBeLessThanOrEqual(numResults);
        expect(next).not.toContain(lastTag);
        for (const tag of next) expect(tag > lastTag, `"${tag}" after "${lastTag}"`).toBe(true);
      });
    });

    describe('Test content discovery endpoints (listing references)', () => {
      spec(ctx, 'GET request to nonexistent blob should result in empty 200 response', async () => {
        const { index } = await referrers(f.dummyDigest);
        expect(index.manifests ?? []).toHaveLength(0);
      });
      spec(ctx, 'GET request to existing blob should yield 200', async () => {
        const { index } = await referrers(f.manifests[4]!.digest);
        expect(index.manifests ?? []).toHaveLength(5);
        expect(index.manifests![0]!.digest).not.toBe(index.manifests![1]!.digest);
        expectAnnotated(index);
      });
      spec(ctx, 'GET request to existing blob with filter should yield 200', async () => {
        const { response, index } = await referrers(f.manifests[4]!.digest, { artifactType: REF_ARTIFACT_TYPE_A });
        // v1.1.1 accepts the unfiltered list (5, with a warning) when the header is absent.
        expect(response.header('oci-filters-applied'), 'OCI-Filters-Applied').toBe(ARTIFACT_TYPE_FILTER);
        expect(index.manifests ?? []).toHaveLength(2);
        expectAnnotated(index);
      });
      spec(ctx, 'GET request to missing manifest should yield 200', async () => {
        const { index } = await referrers(f.manifests[3]!.digest);
        expect(index.manifests ?? []).toHaveLength(1);
        expect(index.manifests![0]!.digest).toBe(refs.cLayer.digest);
      });
    });

    describe('Teardown', () => {
      const references = [
        refs.index.digest, f.manifests[2]!.digest, f.manifests[4]!.digest, refs.aConfig.digest, refs.aLayer.digest,
        TEST_TAG_NAME, refs.bConfig.digest, refs.bLayer.digest, refs.cLayer.digest,
      ];
      const deleteAll = async (paths: string[]) => {
        for (const path of paths) expectSuccess(await client().request('DELETE', path), 404, 405);
      };
      const manifestPaths = (digests: string[]) => digests.map((digest) => `/v2/<name>/manifests/${digest}`);
      const referrerManifests = manifestPaths([refs.index.digest, refs.aConfig.digest, refs.aLayer.digest, f.manifests[4]!.digest, refs.bConfig.digest, refs.bLayer.digest]);
      const referenceBlobs = [f.configs[4]!.digest, f.refBlobA.digest, f.refBlobB.digest, f.emptyJson.digest].map((digest) => `/v2/<name>/blobs/${digest}`);
      const deleteManifests = () => spec(ctx, 'Delete created manifest & associated tags', () => deleteAll(manifestPaths(references)));

      if (settings.deleteManifestBeforeBlobs) deleteManifests();
      spec(ctx, 'Delete config blob created in tests', async () => {
        expectSuccess(await client().request('DELETE', `/v2/<name>/blobs/${f.configs[2]!.digest}`), 405);
      });
      spec(ctx, 'Delete layer blob created in setup', async () => {
        expectSuccess(await client().request('DELETE', `/v2/<name>/blobs/${f.layer.digest}`), 405);
      });
      if (!settings.deleteManifestBeforeBlobs) deleteManifests();
      spec(ctx, 'References teardown', async () => {
        if (settings.deleteManifestBeforeBlobs) await deleteAll(referrerManifests);
        await deleteAll(referenceBlobs);
        if (!settings.deleteManifestBeforeBlobs) await deleteAll(referrerManifests);
      });
    });
  });
}
