import * as z from 'zod/mini';
import { safeParse } from '../validation';
import { RegistryError } from '../errors';
import { tryParseDigest } from '../digest';
import type { Descriptor } from '../records';
import { FOREIGN_LAYER_TYPES, GENERIC_TYPES, MANIFEST_KINDS, type ManifestKind } from './media-types';

const descriptorSchema = z.looseObject({
  mediaType: z.string().check(z.minLength(1), z.maxLength(255)),
  digest: z.string().check(z.refine((value) => tryParseDigest(value) !== undefined, 'must be a sha256 or sha512 digest')),
  size: z.int().check(z.nonnegative()),
  urls: z.optional(z.array(z.string())),
  annotations: z.optional(z.record(z.string(), z.string())),
  artifactType: z.optional(z.string()),
  platform: z.optional(z.looseObject({ architecture: z.string(), os: z.string() })),
});

const common = {
  schemaVersion: z.literal(2),
  mediaType: z.optional(z.string()),
  artifactType: z.optional(z.string()),
  subject: z.optional(descriptorSchema),
  annotations: z.optional(z.record(z.string(), z.string())),
};
const imageSchema = z.looseObject({ ...common, config: descriptorSchema, layers: z.array(descriptorSchema) });
const indexSchema = z.looseObject({ ...common, manifests: z.array(descriptorSchema) });

export interface ParsedManifest {
  kind: ManifestKind;
  mediaType: string;
  /** Blobs this manifest needs in the repository (config and layers, not foreign ones). */
  blobs: Descriptor[];
  /** Manifests an index needs in the repository. */
  children: Descriptor[];
  subject?: Descriptor;
  /** The artifactType its referrers-index descriptor carries. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Validates a pushed manifest: the media type comes from Content-Type (or the body when
 * the header is generic), must be one we know, and must agree with the body's own field.
 */
export function parseManifest(body: Uint8Array, contentType: string | null): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw invalid('manifest is not valid UTF-8 JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('manifest must be a JSON object');
  const declared = (json as { mediaType?: unknown }).mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('mediaType must be a string');

  const header = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const mediaType = GENERIC_TYPES.has(header) ? declared : header;
  if (!mediaType) throw invalid('manifest media type is unknown: send Content-Type or a mediaType field');
  const kind = MANIFEST_KINDS[mediaType];
  if (!kind) {
    throw invalid(`manifest media type "${mediaType.slice(0, 100)}" is not supported`, { supported: Object.keys(MANIFEST_KINDS) });
  }
  if (declared !== undefined && declared !== mediaType) {
    throw invalid(`Content-Type ${mediaType} does not match the manifest's mediaType ${declared.slice(0, 100)}`);
  }

  if (kind === 'image') {
    const result = safeParse(imageSchema, json);
    if (!result.success) throw invalid('image manifest is malformed', issues(result.error));
    const manifest = result.data;
    const blobs = [manifest.config, ...manifest.layers].filter((d) => !isExternal(d));
    return withOptional({ kind, mediaType, blobs, children: [] }, manifest.subject,
      manifest.artifactType ?? manifest.config.mediaType, manifest.annotations);
  }
  const result = safeParse(indexSchema, json);
  if (!result.success) throw invalid('image index is malformed', issues(result.error));
  const index = result.data;
  return withOptional({ kind, mediaType, blobs: [], children: index.manifests }, index.subject, index.artifactType, index.annotations);
}

function withOptional(
  parsed: ParsedManifest, subject: Descriptor | undefined, artifactType: string | undefined, annotations: Record<string, string> | undefined,
): ParsedManifest {
  if (subject) parsed.subject = subject;
  if (artifactType) parsed.artifactType = artifactType;
  if (annotations) parsed.annotations = annotations;
  return parsed;
}

function isExternal(descriptor: Descriptor): boolean {
  return FOREIGN_LAYER_TYPES.has(descriptor.mediaType) || (descriptor.urls !== undefined && descriptor.urls.length > 0);
}

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message, { detail });
}

function issues(error: z.core.$ZodError): Array<{ path: string; message: string }> {
  return error.issues.slice(0, 10).map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}
