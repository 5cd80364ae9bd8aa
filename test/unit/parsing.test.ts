import { describe, expect, it } from 'vitest';
import { parseDigest, tryParseDigest } from '../../functions/core/digest';
import { isRepositoryName, isTag, parseRepositoryName } from '../../functions/core/names';
import { parseContentRange, parseRangeHeader, uploadRangeHeader } from '../../functions/core/http/range';
import { parseManifest } from '../../functions/core/manifest/parse';
import { RegistryError } from '../../functions/core/errors';

const hex64 = 'a'.repeat(64);
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const errorCode = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof RegistryError ? `${error.code}/${error.status}` : String(error);
  }
  return 'no error';
};

describe('digests', () => {
  it('accepts sha256 and sha512 in canonical form only', () => {
    expect(tryParseDigest(`sha256:${hex64}`)).toEqual({ algorithm: 'sha256', hex: hex64, value: `sha256:${hex64}` });
    expect(tryParseDigest(`sha512:${'b'.repeat(128)}`)?.algorithm).toBe('sha512');
    for (const bad of [`sha256:${hex64.toUpperCase()}`, `sha256:${hex64}0`, `sha512:${hex64}`, `sha384:${'c'.repeat(96)}`, 'sha256', ':abc', '']) {
      expect(tryParseDigest(bad)).toBeUndefined();
    }
  });

  it('explains why a digest is rejected', () => {
    expect(() => parseDigest('md5:abcd')).toThrow(/not supported; use sha256 or sha512/);
    expect(() => parseDigest('sha256:abcd')).toThrow(/64 lowercase hex/);
    expect(() => parseDigest('nope')).toThrow(/algorithm:hex/);
    expect(() => parseDigest(null)).toThrow(/required/);
  });
});

describe('names and tags', () => {
  it('follows the distribution-spec grammar', () => {
    for (const good of ['a', 'library/ubuntu', 'team/app/api', 'a.b_c__d---e', 'x0/y1', `${'a'.repeat(255)}`]) expect(isRepositoryName(good)).toBe(true);
    for (const bad of ['A', 'a/', '/a', 'a//b', 'a..b', 'a._b', '_a', 'a-', 'a___b', `${'a'.repeat(256)}`, 'a b']) expect(isRepositoryName(bad)).toBe(false);
    expect(errorCode(() => parseRepositoryName('Bad'))).toBe('NAME_INVALID/400');
  });

  it('accepts tags of up to 128 characters that do not start with . or -', () => {
    expect(isTag('latest')).toBe(true);
    expect(isTag('_x')).toBe(true);
    expect(isTag('v1.2.3-rc_1')).toBe(true);
    expect(isTag('a'.repeat(128))).toBe(true);
    expect(isTag('a'.repeat(129))).toBe(false);
    expect(isTag('.x')).toBe(false);
    expect(isTag('-x')).toBe(false);
    expect(isTag('a/b')).toBe(false);
  });
});

describe('ranges', () => {
  it('parses blob Range headers against a size', () => {
    expect(parseRangeHeader('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRangeHeader('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRangeHeader('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRangeHeader('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRangeHeader('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRangeHeader('items=0-1', 100)).toBeUndefined();
    expect(parseRangeHeader(null, 100)).toBeUndefined();
    expect(errorCode(() => parseRangeHeader('bytes=100-', 100))).toBe('SIZE_INVALID/416');
    expect(errorCode(() => parseRangeHeader('bytes=-0', 100))).toBe('SIZE_INVALID/416');
  });

  it('parses upload Content-Range in the forms clients send', () => {
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange(null)).toBeUndefined();
    expect(errorCode(() => parseContentRange('5-4'))).toBe('BLOB_UPLOAD_INVALID/416');
    expect(errorCode(() => parseContentRange('abc'))).toBe('BLOB_UPLOAD_INVALID/416');
  });

  it('reports upload progress as distribution does', () => {
    expect(uploadRangeHeader(0)).toBe('0-0');
    expect(uploadRangeHeader(1)).toBe('0-0');
    expect(uploadRangeHeader(100)).toBe('0-99');
  });
});

describe('manifest parsing', () => {
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${hex64}`, size: 10 };
  const image = { schemaVersion: 2, config, layers: [{ ...config, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }] };

  it('takes the media type from Content-Type, or from the body when the header is generic', () => {
    expect(parseManifest(encode(image), 'application/vnd.oci.image.manifest.v1+json; charset=utf-8').mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    const withField = { ...image, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' };
    expect(parseManifest(encode(withField), 'application/json').mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(parseManifest(encode(withField), null).kind).toBe('image');
  });

  it('lists the blobs a manifest needs, skipping foreign layers', () => {
    const foreign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: `sha256:${'f'.repeat(64)}`, size: 5, urls: ['https://example.com/l'] };
    const parsed = parseManifest(encode({ ...image, layers: [...image.layers, foreign] }), 'application/vnd.oci.image.manifest.v1+json');
    expect(parsed.blobs.map((b) => b.digest)).toEqual([config.digest, config.digest]);
    expect(parsed.artifactType).toBe(config.mediaType);
  });

  it('reads an index, its children, subject and artifactType', () => {
    const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'d'.repeat(64)}`, size: 3 };
    const parsed = parseManifest(encode({ schemaVersion: 2, artifactType: 'application/x', manifests: [subject], subject }), 'application/vnd.oci.image.index.v1+json');
    expect(parsed.kind).toBe('index');
    expect(parsed.children).toHaveLength(1);
    expect(parsed.subject?.digest).toBe(subject.digest);
    expect(parsed.artifactType).toBe('application/x');
  });

  it('rejects what is not a valid manifest with MANIFEST_INVALID', () => {
    const oci = 'application/vnd.oci.image.manifest.v1+json';
    for (const [body, type] of [
      [new TextEncoder().encode('{'), oci],
      [encode({ ...image, schemaVersion: 1 }), oci],
      [encode({ ...image, config: { ...config, digest: 'sha256:123' } }), oci],
      [encode({ ...image, config: { ...config, size: -1 } }), oci],
      [encode({ ...image, layers: 'nope' }), oci],
      [encode(image), 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
      [encode({ ...image, mediaType: 'application/vnd.oci.image.index.v1+json' }), oci],
      [encode(image), null],
    ] as const) {
      expect(errorCode(() => parseManifest(body, type))).toBe('MANIFEST_INVALID/400');
    }
  });
});
