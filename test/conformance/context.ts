import { expect, it } from 'vitest';
import type { ConformanceClient, Exchange, SuiteResponse } from './client';
import type { Fixtures } from './fixtures';

/**
 * The suite's settings, named after the environment variables of v1.1.1 they stand for.
 * Not mirrored: OCI_TAG_NAME / OCI_MANIFEST_DIGEST / OCI_BLOB_DIGEST / OCI_TAG_LIST (they
 * make the suite read pre-seeded content instead of pushing its own: we always let it push),
 * OCI_AUTH_SCOPE (unset: the token request names the scope our challenge names), and the
 * report-only OCI_DEBUG, OCI_HIDE_SKIPPED_WORKFLOWS and OCI_REPORT_DIR (a failing spec here
 * prints its HTTP transcript, which is what OCI_DEBUG adds). Every workflow runs
 * (OCI_TEST_PULL, _PUSH, _CONTENT_DISCOVERY, _CONTENT_MANAGEMENT all 1). v1.1.1 has no
 * chunk-size setting: it grows its chunked blob when the registry sends OCI-Chunk-Min-Length.
 */
export interface SuiteSettings {
  /** OCI_NAMESPACE */
  namespace: string;
  /** OCI_CROSSMOUNT_NAMESPACE; unset, the suite makes up `conformance-<uuid>`. */
  crossmountNamespace?: string;
  /** OCI_AUTOMATIC_CROSSMOUNT; undefined when the variable is unset (both of its specs skip then). */
  automaticCrossmount?: boolean;
  /** OCI_DELETE_MANIFEST_BEFORE_BLOBS; the suite's default is true. */
  deleteManifestBeforeBlobs: boolean;
}

/** What every workflow shares: the settings, the content, and the client once the target is up. */
export interface SuiteContext {
  readonly settings: Required<Pick<SuiteSettings, 'namespace' | 'crossmountNamespace'>> & SuiteSettings;
  readonly fixtures: Fixtures;
  client(): ConformanceClient;
}

/**
 * One Go spec as one vitest test, under the spec's exact name, so a failure here names the
 * spec the Go suite would fail. A workflow's specs form one ordered script, as in the Go
 * suite (setup, then the checks, then teardown, sharing what earlier specs received): the
 * order is the suite's, and is part of what it tests. A failure prints the HTTP exchanges
 * the spec made.
 */
export function spec(ctx: SuiteContext, name: string, body: () => Promise<void>): void {
  it(name, async () => {
    const transcript = ctx.client().record();
    try {
      await body();
    } catch (error) {
      throw withTranscript(error, transcript);
    }
  });
}

function withTranscript(error: unknown, transcript: Exchange[]): unknown {
  if (!(error instanceof Error) || transcript.length === 0) return error;
  const lines = transcript.map((exchange, i) => `  ${i + 1}. ${exchange.request}\n     → ${exchange.response}`);
  error.message += `\n--- HTTP exchanges of this spec ---\n${lines.join('\n')}`;
  return error;
}

/** `Expect(resp.StatusCode()).To(...)` with the response in the message. */
export function expectStatus(response: SuiteResponse, ...allowed: number[]): void {
  expect(allowed, `${response.method} ${response.url} answered ${response.status}, expected ${allowed.join(' or ')}: ${response.text().slice(0, 300)}`)
    .toContain(response.status);
}

/** `SatisfyAll(BeNumerically(">=", 200), BeNumerically("<", 300))`, optionally or one of `alsoAllowed`. */
export function expectSuccess(response: SuiteResponse, ...alsoAllowed: number[]): void {
  const ok = (response.status >= 200 && response.status < 300) || alsoAllowed.includes(response.status);
  const expected = ['2xx', ...alsoAllowed.map(String)].join(' or ');
  expect(ok, `${response.method} ${response.url} answered ${response.status}, expected ${expected}: ${response.text().slice(0, 300)}`).toBe(true);
}

/** `Expect(resp.Header().Get("Location")).ToNot(BeEmpty())` */
export function expectLocation(response: SuiteResponse): void {
  expect(response.header('location'), `${response.method} ${response.url} (${response.status}) sent no Location`).not.toBe('');
}

/** The suite's upload: POST, then PUT ?digest= with the bytes on the Location; 2xx expected. */
export async function pushBlob(ctx: SuiteContext, blob: { content: Uint8Array; digest: string }): Promise<void> {
  const client = ctx.client();
  const session = await client.request('POST', '/v2/<name>/blobs/uploads/');
  const put = await client.request('PUT', session.relativeLocation(), {
    query: { digest: blob.digest }, headers: { 'Content-Type': 'application/octet-stream' }, body: blob.content,
  });
  expectSuccess(put);
}

/** The suite's manifest PUT by tag or digest (Content-Type given), returning the response. */
export function putManifest(ctx: SuiteContext, reference: string, content: Uint8Array, contentType: string): Promise<SuiteResponse> {
  return ctx.client().request('PUT', `/v2/<name>/manifests/${reference}`, { headers: { 'Content-Type': contentType }, body: content });
}

/** The tags of a tags/list answer, or [] when it is not one (setup.go's getTagList). */
export function tagList(response: SuiteResponse): string[] {
  try {
    const parsed = JSON.parse(response.text()) as { tags?: unknown };
    return Array.isArray(parsed.tags) ? parsed.tags.filter((tag): tag is string => typeof tag === 'string') : [];
  } catch {
    return [];
  }
}
