import { createHash, randomBytes, randomInt } from 'node:crypto';

/**
 * The content the OCI distribution-spec conformance suite v1.1.1 pushes, built as its
 * `conformance/setup.go` builds it: one config per workflow made unique by a random
 * author, manifests serialised the way Go's json.MarshalIndent(…, "", "\t") writes them
 * (so descriptors carry `"newUnspecifiedField": null` and a base64 `data` field, which a
 * registry must store and serve untouched), the referrers artifacts and their index.
 */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/** A gzipped tar of one small text file (setup.go's layerBase64String). */
const LAYER_BASE64 = 'H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0'
  + 'WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6YRBumSzOlGtjkd+qD'
  + 'jMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA';

export const TEST_TAG_NAME = 'tagtest0';
export const EMPTY_LAYER_TEST_TAG = 'emptylayer';
/** What the suite asks for when it wants a manifest that cannot exist: neither a digest nor a valid tag. */
export const NONEXISTENT_MANIFEST = '.INVALID_MANIFEST_NAME';
export const INVALID_MANIFEST_CONTENT = new TextEncoder().encode('blablabla');
export const ARTIFACT_TYPE_FILTER = 'artifactType';
export const TEST_ANNOTATION_KEY = 'org.opencontainers.conformance.test';
export const REF_ARTIFACT_TYPE_A = 'application/vnd.nhl.peanut.butter.bagel';
export const REF_ARTIFACT_TYPE_B = 'application/vnd.nba.strawberry.jam.croissant';
const REF_ARTIFACT_TYPE_INDEX = 'application/vnd.food.stand';
export const ERROR_CODES = [
  'BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'MANIFEST_UNVERIFIED', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID',
  'TAG_INVALID', 'UNAUTHORIZED', 'DENIED', 'UNSUPPORTED',
] as const;

/** Content plus what the suite sends alongside it. */
export interface TestBlob {
  content: Uint8Array;
  digest: string;
}

/** setup.go's chunked blob: split after size/2+1 bytes, with the Content-Range of each half. */
export interface ChunkedBlob extends TestBlob {
  chunk1: Uint8Array;
  chunk2: Uint8Array;
  chunk1Range: string;
  chunk2Range: string;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function blob(content: Uint8Array): TestBlob {
  return { content, digest: sha256(content) };
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** json.MarshalIndent with a tab; key order is the Go structs' field order, kept by insertion. */
function goJson(value: unknown): Uint8Array {
  return utf8(JSON.stringify(value, null, '\t'));
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** setup.go's randomString: its alphabet, crypto-random. */
function randomString(length: number): string {
  const letters = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-';
  return Array.from({ length }, () => letters[randomInt(letters.length)]).join('');
}

export function chunkedBlob(size: number): ChunkedBlob {
  const content = new Uint8Array(randomBytes(size));
  const split = Math.floor(size / 2) + 1;
  return {
    ...blob(content),
    chunk1: content.subarray(0, split),
    chunk2: content.subarray(split),
    chunk1Range: `0-${split - 1}`,
    chunk2Range: `${split}-${size - 1}`,
  };
}

/**
 * Go's descriptor struct: mediaType, digest and size always; data, artifactType and
 * annotations when set; newUnspecifiedField always (null unless given), as Go writes a nil []byte.
 */
function descriptor(mediaType: string, target: TestBlob, extra: { data?: Uint8Array; unspecified?: Uint8Array } = {}): Record<string, unknown> {
  return {
    mediaType,
    digest: target.digest,
    size: target.content.byteLength,
    ...(extra.data ? { data: base64(extra.data) } : {}),
    newUnspecifiedField: extra.unspecified ? base64(extra.unspecified) : null,
  };
}

function configDescriptor(config: TestBlob): Record<string, unknown> {
  return descriptor(OCI_CONFIG, config, { data: config.content, unspecified: utf8('hello world') });
}

function imageConfig(): TestBlob {
  return blob(goJson({ author: randomString(16), architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
}

export interface Fixtures {
  /** One config per workflow slot (setup.go makes numWorkflows of them; the suite uses 0 to 4). */
  configs: TestBlob[];
  /** manifests[i]: configs[i] plus the layer, as an OCI image manifest. */
  manifests: TestBlob[];
  layer: TestBlob;
  /** Push: a manifest with no mediaType field and no layers, on configs[1]. */
  emptyLayerManifest: TestBlob;
  testBlobA: TestBlob;
  testBlobB: ChunkedBlob;
  dummyDigest: string;
  emptyJson: TestBlob;
  refBlobA: TestBlob;
  refBlobB: TestBlob;
  /** Referrers of manifests[4] (A/B by config media type or by artifactType, and an index), and refsC of the never-pushed manifests[3]. */
  refs: {
    aConfig: TestBlob;
    aLayer: TestBlob;
    bConfig: TestBlob;
    bLayer: TestBlob;
    cLayer: TestBlob;
    index: TestBlob;
  };
  /** The annotation value each referrer of manifests[4] carries, by digest. */
  annotationValues: Map<string, string>;
}

const WORKFLOW_SLOTS = 5;

export function buildFixtures(): Fixtures {
  const configs = Array.from({ length: WORKFLOW_SLOTS }, imageConfig);
  const layer = blob(new Uint8Array(Buffer.from(LAYER_BASE64, 'base64')));
  const layers = [descriptor(OCI_LAYER_GZIP, layer)];
  const manifests = configs.map((config) => blob(goJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDescriptor(config), layers })));
  const emptyLayerManifest = blob(goJson({ schemaVersion: 2, config: configDescriptor(configs[1]!), layers: [] }));
  const emptyJson = blob(utf8('{}'));
  const refBlobA = blob(utf8('NHL Peanut Butter on my NHL bagel'));
  const refBlobB = blob(utf8('NBA Strawberry Jam on my NBA croissant'));
  const annotationValues = new Map<string, string>();
  const subject = (target: TestBlob) => descriptor(OCI_MANIFEST, target);
  const annotated = (value: string | undefined, document: Record<string, unknown>): TestBlob => {
    const built = blob(goJson(value === undefined ? document : { ...document, annotations: { [TEST_ANNOTATION_KEY]: value } }));
    if (value !== undefined) annotationValues.set(built.digest, value);
    return built;
  };
  const configArtifact = (type: string, content: TestBlob, note: string) => annotated(note, {
    schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(type, content),
    layers: [descriptor(OCI_EMPTY, emptyJson)], subject: subject(manifests[4]!),
  });
  const layerArtifact = (type: string, content: TestBlob, of: TestBlob, note?: string) => annotated(note, {
    schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: type, config: descriptor(OCI_EMPTY, emptyJson),
    layers: [descriptor(type, content)], subject: subject(of),
  });
  const aConfig = configArtifact(REF_ARTIFACT_TYPE_A, refBlobA, 'test config a');
  const bConfig = configArtifact(REF_ARTIFACT_TYPE_B, refBlobB, 'test config b');
  const aLayer = layerArtifact(REF_ARTIFACT_TYPE_A, refBlobA, manifests[4]!, 'test layer a');
  const bLayer = layerArtifact(REF_ARTIFACT_TYPE_B, refBlobB, manifests[4]!, 'test layer b');
  const cLayer = layerArtifact(REF_ARTIFACT_TYPE_B, refBlobB, manifests[3]!);
  const index = annotated('test index', {
    schemaVersion: 2, mediaType: OCI_INDEX, artifactType: REF_ARTIFACT_TYPE_INDEX,
    manifests: [descriptor(OCI_MANIFEST, aConfig), descriptor(OCI_MANIFEST, aLayer)], subject: subject(manifests[4]!),
  });
  return {
    configs, manifests, layer, emptyLayerManifest,
    testBlobA: blob(new Uint8Array(randomBytes(42))),
    testBlobB: chunkedBlob(42),
    dummyDigest: sha256(utf8('hello world')),
    emptyJson, refBlobA, refBlobB,
    refs: { aConfig, aLayer, bConfig, bLayer, cLayer, index },
    annotationValues,
  };
}
