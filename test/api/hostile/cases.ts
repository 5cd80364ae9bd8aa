import { OCI_MANIFEST, sha256 } from '../client';
import type { World } from './world';

/** What a hostile request must get: a status, and the spec error code or API Gateway's own message. */
export interface Answer {
  readonly status: number;
  /** errors[0].code of the spec's JSON body. */
  readonly code?: string;
  /** API Gateway's own {"message": ...} body: the function never ran. */
  readonly message?: string;
}

export interface HostileCase {
  readonly name: string;
  readonly method: string;
  readonly target: (w: World) => string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: (w: World) => string | Uint8Array;
  readonly expect: Answer;
  /** Exact bytes for the wire, for what a web Request cannot carry (the API suite skips these). */
  readonly raw?: (w: World, host: string) => string;
  /** The answer through the API Gateway stand-in, where API Gateway answers itself. */
  readonly gateway?: Answer;
}

export const spec = (status: number, code: string): Answer => ({ status, code });
export const apiGateway = (status: number, message: string): Answer => ({ status, message });

/** The world's upload Location, capability included. */
export const upload = (w: World) => `${w.uploadPath}?_state=${w.state}`;
const tags = (w: World) => `/v2/${w.repo}/tags/list`;
const manifestBody = { headers: { 'Content-Type': OCI_MANIFEST }, body: (w: World) => w.manifest };
const long = (length: number) => 'a'.repeat(length);

/** Manifest references: GET/HEAD/DELETE of one that names nothing is 404, a PUT of one 400. */
const references: HostileCase[] = [
  { name: 'GET of a reference that is neither digest nor tag', method: 'GET', target: (w) => `/v2/${w.repo}/manifests/.INVALID_MANIFEST_NAME`, expect: spec(404, 'MANIFEST_UNKNOWN') },
  { name: 'HEAD of a reference that is neither digest nor tag', method: 'HEAD', target: (w) => `/v2/${w.repo}/manifests/-bad`, expect: spec(404, 'MANIFEST_UNKNOWN') },
  { name: 'DELETE of a reference that is neither digest nor tag', method: 'DELETE', target: (w) => `/v2/${w.repo}/manifests/_x:`, expect: spec(404, 'MANIFEST_UNKNOWN') },
  { name: 'GET of a malformed digest', method: 'GET', target: (w) => `/v2/${w.repo}/manifests/sha256:totallywrong`, expect: spec(404, 'MANIFEST_UNKNOWN') },
  { name: 'GET of a digest in an unsupported algorithm', method: 'GET', target: (w) => `/v2/${w.repo}/manifests/md5:${'0'.repeat(32)}`, expect: spec(404, 'MANIFEST_UNKNOWN') },
  { name: 'GET of a 129-character tag', method: 'GET', target: (w) => `/v2/${w.repo}/manifests/${long(129)}`, expect: spec(404, 'MANIFEST_UNKNOWN') },
  { name: 'GET of an 8 KB reference', method: 'GET', target: (w) => `/v2/${w.repo}/manifests/${long(8192)}`, expect: spec(404, 'MANIFEST_UNKNOWN') },
  { name: 'GET of a reference that decodes to a path', method: 'GET', target: (w) => `/v2/${w.repo}/manifests/v1%2Fx`, expect: spec(404, 'MANIFEST_UNKNOWN') },
  { name: 'DELETE of a digest not in the repository', method: 'DELETE', target: (w) => `/v2/${w.repo}/manifests/${sha256('absent')}`, expect: spec(404, 'MANIFEST_UNKNOWN') },
  { name: 'PUT of a valid manifest under an invalid tag', method: 'PUT', target: (w) => `/v2/${w.repo}/manifests/.evil`, ...manifestBody, expect: spec(400, 'MANIFEST_INVALID') },
  { name: 'PUT of a valid manifest under a malformed digest', method: 'PUT', target: (w) => `/v2/${w.repo}/manifests/sha256:totallywrong`, ...manifestBody, expect: spec(400, 'DIGEST_INVALID') },
  { name: 'PUT of a manifest that is not JSON', method: 'PUT', target: (w) => `/v2/${w.repo}/manifests/evil`, headers: { 'Content-Type': OCI_MANIFEST }, body: () => '{', expect: spec(400, 'MANIFEST_INVALID') },
];

/** Names are taken as sent: never resolved, never decoded into another repository. */
const names: HostileCase[] = [
  { name: '".." segment resolving into the repository', method: 'GET', target: (w) => `/v2/${w.ns}/x/../app/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: '"%2e%2e" segment', method: 'GET', target: (w) => `/v2/${w.ns}/x/%2e%2e/app/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: '"%2E%2E" segment', method: 'GET', target: (w) => `/v2/${w.ns}/x/%2E%2E/app/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: '".%2e" segment', method: 'GET', target: (w) => `/v2/${w.ns}/x/.%2e/app/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: '"." segment', method: 'GET', target: (w) => `/v2/${w.ns}/./app/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: '".." after the route', method: 'GET', target: (w) => `/v2/${w.repo}/tags/list/..`, expect: spec(400, 'NAME_INVALID') },
  { name: '"%2F" joining name components', method: 'GET', target: (w) => `/v2/${w.ns}%2Fapp/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: '"%2f" joining name components', method: 'GET', target: (w) => `/v2/${w.ns}%2fapp/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: '"%2e" inside a name component', method: 'GET', target: (w) => `/v2/${w.repo}%2ex/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: 'backslash segments', method: 'GET', target: (w) => `/v2/${w.ns}\\x\\..\\app/tags/list`, expect: spec(400, 'UNSUPPORTED') },
  { name: 'PUT of a valid manifest through ".."', method: 'PUT', target: (w) => `/v2/${w.ns}/x/../app/manifests/evil`, ...manifestBody, expect: spec(400, 'NAME_INVALID') },
  { name: 'DELETE of a tag through ".."', method: 'DELETE', target: (w) => `/v2/${w.ns}/x/../app/manifests/v1`, expect: spec(400, 'NAME_INVALID') },
  { name: 'PATCH of the upload through "%2e%2e"', method: 'PATCH', target: (w) => `/v2/${w.ns}/x/%2e%2e/${w.uploadPath.slice(`/v2/${w.ns}/`.length)}?_state=${w.state}`, body: (w) => w.bytes, expect: spec(400, 'NAME_INVALID') },
  { name: 'uppercase name', method: 'GET', target: (w) => `/v2/${w.ns.toUpperCase()}/app/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: '300-character name', method: 'GET', target: () => `/v2/${long(300)}/tags/list`, expect: spec(400, 'NAME_INVALID') },
  { name: 'a fragment in the target', method: 'GET', target: (w) => `${tags(w)}#x`, expect: spec(400, 'UNSUPPORTED') },
];

/** Pagination parameters: refused, never handed to a store that cannot hold them. */
const listing: HostileCase[] = [
  { name: 'negative n', method: 'GET', target: (w) => `${tags(w)}?n=-1`, expect: spec(400, 'UNSUPPORTED') },
  { name: 'non-numeric n', method: 'GET', target: (w) => `${tags(w)}?n=1e3`, expect: spec(400, 'UNSUPPORTED') },
  { name: 'empty n', method: 'GET', target: (w) => `${tags(w)}?n=`, expect: spec(400, 'UNSUPPORTED') },
  { name: '30-digit n is capped, not an error', method: 'GET', target: (w) => `${tags(w)}?n=${'9'.repeat(30)}`, expect: { status: 200 } },
  { name: '8 KB last', method: 'GET', target: (w) => `${tags(w)}?last=${long(8192)}`, expect: spec(400, 'UNSUPPORTED') },
  { name: 'last that is no tag', method: 'GET', target: (w) => `${tags(w)}?last=%00`, expect: spec(400, 'UNSUPPORTED') },
  { name: 'catalog last that is no repository name', method: 'GET', target: () => `/v2/_catalog?last=${long(300)}`, expect: spec(400, 'UNSUPPORTED') },
  { name: 'catalog n with garbage', method: 'GET', target: () => '/v2/_catalog?n=ten', expect: spec(400, 'UNSUPPORTED') },
  { name: 'HEAD of tags/list, served as GET without a body', method: 'HEAD', target: tags, expect: { status: 200 } },
];

/** Digests, upload sessions and their capabilities. */
const content: HostileCase[] = [
  { name: 'GET of a short blob digest', method: 'GET', target: (w) => `/v2/${w.repo}/blobs/sha256:abc`, expect: spec(400, 'DIGEST_INVALID') },
  { name: 'GET of an 8 KB blob digest', method: 'GET', target: (w) => `/v2/${w.repo}/blobs/sha256:${long(8192)}`, expect: spec(400, 'DIGEST_INVALID') },
  { name: 'referrers of a malformed digest', method: 'GET', target: (w) => `/v2/${w.repo}/referrers/sha256:zz`, expect: spec(400, 'DIGEST_INVALID') },
  { name: 'monolithic upload with a malformed digest', method: 'POST', target: (w) => `/v2/${w.repo}/blobs/uploads/?digest=sha256:zz`, body: (w) => w.bytes, expect: spec(400, 'DIGEST_INVALID') },
  { name: 'Range starting 10^25 bytes in', method: 'GET', target: (w) => `/v2/${w.repo}/blobs/${w.layer}`, headers: { Range: `bytes=${'9'.repeat(25)}-` }, expect: spec(416, 'SIZE_INVALID') },
  { name: 'Content-Range of 10^20 bytes', method: 'PATCH', target: upload, headers: { 'Content-Range': `0-${'9'.repeat(20)}` }, body: (w) => w.bytes, expect: spec(400, 'SIZE_INVALID') },
  { name: 'Content-Range that is garbage', method: 'PATCH', target: upload, headers: { 'Content-Range': 'bytes=-5--1' }, body: (w) => w.bytes, expect: spec(416, 'BLOB_UPLOAD_INVALID') },
  { name: 'Content-Range starting past the offset', method: 'PATCH', target: upload, headers: { 'Content-Range': '5-1028' }, body: (w) => w.bytes, expect: spec(416, 'BLOB_UPLOAD_INVALID') },
  { name: 'a session id that is no UUID', method: 'PATCH', target: (w) => `/v2/${w.repo}/blobs/uploads/x?_state=${w.state}`, body: (w) => w.bytes, expect: spec(404, 'BLOB_UPLOAD_UNKNOWN') },
  { name: 'a direct-upload session that decodes to a path', method: 'GET', target: (w) => `/v2/${w.repo}/_nimbus/direct-uploads/..%2F..%2Fmeta`, expect: spec(404, 'BLOB_UPLOAD_UNKNOWN') },
  { name: 'an 8 KB direct-upload session id', method: 'GET', target: (w) => `/v2/${w.repo}/_nimbus/direct-uploads/${long(8192)}`, expect: spec(404, 'BLOB_UPLOAD_UNKNOWN') },
  { name: 'the capability with a stray bit', method: 'PATCH', target: (w) => `${w.uploadPath}?_state=${w.stateAlias}`, body: (w) => w.bytes, expect: spec(404, 'BLOB_UPLOAD_UNKNOWN') },
  { name: 'the capability percent-encoded', method: 'PATCH', target: (w) => `${w.uploadPath}?_state=%${w.state.charCodeAt(0).toString(16)}${w.state.slice(1)}`, body: (w) => w.bytes, expect: spec(404, 'BLOB_UPLOAD_UNKNOWN') },
  { name: 'the capability padded', method: 'PATCH', target: (w) => `${upload(w)}=`, body: (w) => w.bytes, expect: spec(404, 'BLOB_UPLOAD_UNKNOWN') },
  { name: 'the capability followed by a second one', method: 'PATCH', target: (w) => `${upload(w)}&_state=x`, body: (w) => w.bytes, expect: spec(404, 'BLOB_UPLOAD_UNKNOWN') },
  { name: 'an empty capability', method: 'PATCH', target: (w) => `${w.uploadPath}?_state=`, body: (w) => w.bytes, expect: spec(404, 'BLOB_UPLOAD_UNKNOWN') },
];

/** Methods a route does not serve (those a web Request can carry; the rest are wire cases). */
const methods: HostileCase[] = [
  { name: 'PROPFIND', method: 'PROPFIND', target: upload, expect: spec(405, 'UNSUPPORTED') },
  { name: 'OPTIONS on a manifest', method: 'OPTIONS', target: (w) => `/v2/${w.repo}/manifests/v1`, expect: spec(405, 'UNSUPPORTED') },
  { name: 'DELETE of the base route', method: 'DELETE', target: () => '/v2/', expect: spec(405, 'UNSUPPORTED') },
  { name: 'PATCH of tags/list', method: 'PATCH', target: tags, body: (w) => w.bytes, expect: spec(405, 'UNSUPPORTED') },
  { name: 'POST to the catalog', method: 'POST', target: () => '/v2/_catalog', body: (w) => w.bytes, expect: spec(405, 'UNSUPPORTED') },
];

/** Cases every registry built from the core must answer so, in process and on every transport. */
export const HOSTILE_CASES: readonly HostileCase[] = [...references, ...names, ...listing, ...content, ...methods];
