import { call, deleteScope, getJson, mayDelete, pullScope } from '../api';
import { confirmDialog, formatBytes, h, platformList, platformName, pullLine, registryHost, route, shortDigest, type Platform } from '../dom';

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Descriptor { mediaType: string; digest: string; size: number; platform?: Platform; artifactType?: string; annotations?: Record<string, string> }
interface Manifest { mediaType?: string; artifactType?: string; config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[]; subject?: Descriptor; annotations?: Record<string, string> }
interface Config { created?: string; entrypoint?: string[]; cmd?: string[]; env?: string[]; labels?: Record<string, string>; workingDir?: string; user?: string }
interface Summary { mediaType: string; kind: string; size: number; sizeComplete: boolean; platforms: Platform[]; artifactType?: string; config?: Config }

/** A manifest or index, fetched by digest (a pull by digest records no pull time). */
export async function manifestView(params: URLSearchParams): Promise<HTMLElement> {
  const name = params.get('name') ?? '';
  const digest = params.get('digest') ?? '';
  const tag = params.get('tag');
  const [manifest, summary, referrers, deletable] = await Promise.all([
    getJson<Manifest>(`/v2/${name}/manifests/${digest}`, pullScope(name), ACCEPT),
    getJson<Summary>(`/v2/${name}/_nimbus/summary/${digest}`, pullScope(name)),
    getJson<{ manifests: Descriptor[] }>(`/v2/${name}/referrers/${digest}`, pullScope(name)),
    mayDelete(name),
  ]);
  const reference = tag ? `${name}:${tag}` : `${name}@${digest}`;
  return h('section', {},
    h('p', {}, h('a', { href: route('repo', { name }) }, `← ${name}`)),
    h('h1', {}, reference),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Digest'), h('dd', {}, h('code', {}, digest)),
      h('dt', {}, 'Media type'), h('dd', {}, summary.mediaType),
      summary.artifactType ? h('dt', {}, 'Artifact type') : null, summary.artifactType ? h('dd', {}, summary.artifactType) : null,
      h('dt', {}, 'Size'), h('dd', { class: 'total-size' }, `${summary.sizeComplete ? '' : 'at least '}${formatBytes(summary.size)}`),
      h('dt', {}, 'Platforms'), h('dd', {}, platformList(summary.platforms)),
      manifest.subject ? h('dt', {}, 'Subject') : null,
      manifest.subject ? h('dd', {}, h('a', { href: route('manifest', { name, digest: manifest.subject.digest }) }, shortDigest(manifest.subject.digest))) : null),
    h('h2', {}, 'Pull'),
    pullLine(`docker pull ${registryHost()}/${name}@${digest}`, `Pull command for ${name}@${digest}`),
    manifest.manifests ? childrenTable(name, manifest.manifests) : layersTable(manifest),
    summary.config ? configSection(summary.config) : null,
    referrersSection(name, referrers.manifests),
    deletable ? deleteSection(name, digest) : null);
}

function childrenTable(name: string, children: Descriptor[]): HTMLElement {
  return h('section', {}, h('h2', {}, 'Manifests'), h('table', { 'aria-label': 'Manifests of the index' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Platform'), h('th', { scope: 'col' }, 'Digest'), h('th', { scope: 'col', class: 'num' }, 'Manifest size'))),
    h('tbody', {}, ...children.map((child) => h('tr', {},
      h('th', { scope: 'row' }, child.platform ? platformName(child.platform) : child.artifactType ?? '—'),
      h('td', {}, h('a', { href: route('manifest', { name, digest: child.digest }) }, h('code', {}, shortDigest(child.digest)))),
      h('td', { class: 'num' }, formatBytes(child.size)))))));
}

function layersTable(manifest: Manifest): HTMLElement {
  const rows = [...(manifest.config ? [{ ...manifest.config, role: 'config' }] : []), ...(manifest.layers ?? []).map((layer, index) => ({ ...layer, role: `layer ${index + 1}` }))];
  return h('section', {}, h('h2', {}, 'Layers'), h('table', { 'aria-label': 'Config and layers' },
    h('thead', {}, h('tr', {}, ...['', 'Digest', 'Media type'].map((title) => h('th', { scope: 'col' }, title)), h('th', { scope: 'col', class: 'num' }, 'Size'))),
    h('tbody', {}, ...rows.map((row) => h('tr', {},
      h('th', { scope: 'row' }, row.role), h('td', {}, h('code', { title: row.digest }, shortDigest(row.digest))),
      h('td', { class: 'mono' }, row.mediaType), h('td', { class: 'num' }, formatBytes(row.size)))))));
}

function configSection(config: Config): HTMLElement {
  const list = (values: string[] | undefined) => (values && values.length > 0 ? h('code', {}, JSON.stringify(values)) : '—');
  const labels = Object.entries(config.labels ?? {});
  return h('section', { class: 'config' }, h('h2', {}, 'Config'), h('dl', { class: 'facts' },
    h('dt', {}, 'Created'), h('dd', {}, config.created ?? '—'),
    h('dt', {}, 'Entrypoint'), h('dd', {}, list(config.entrypoint)),
    h('dt', {}, 'Cmd'), h('dd', {}, list(config.cmd)),
    config.workingDir ? h('dt', {}, 'Working dir') : null, config.workingDir ? h('dd', {}, config.workingDir) : null,
    config.user ? h('dt', {}, 'User') : null, config.user ? h('dd', {}, config.user) : null,
    h('dt', {}, 'Env'), h('dd', {}, config.env && config.env.length > 0 ? h('ul', {}, ...config.env.map((line) => h('li', {}, h('code', {}, line)))) : '—'),
    h('dt', {}, 'Labels'), h('dd', {}, labels.length > 0 ? h('ul', {}, ...labels.map(([key, value]) => h('li', {}, h('code', {}, `${key}=${value}`)))) : '—')));
}

function referrersSection(name: string, referrers: Descriptor[]): HTMLElement {
  const body = referrers.length === 0 ? h('p', { class: 'muted' }, 'Nothing refers to this manifest.') : h('table', { 'aria-label': 'Referrers' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Artifact type'), h('th', { scope: 'col' }, 'Digest'), h('th', { scope: 'col', class: 'num' }, 'Manifest size'))),
    h('tbody', {}, ...referrers.map((referrer) => h('tr', {},
      h('th', { scope: 'row' }, referrer.artifactType ?? referrer.mediaType),
      h('td', {}, h('a', { href: route('manifest', { name, digest: referrer.digest }) }, h('code', {}, shortDigest(referrer.digest)))),
      h('td', { class: 'num' }, formatBytes(referrer.size))))));
  return h('section', { class: 'referrers' }, h('h2', {}, 'Referrers (signatures, SBOMs, attestations)'), body);
}

function deleteSection(name: string, digest: string): HTMLElement {
  const button = h('button', { type: 'button', class: 'danger' }, 'Delete this manifest');
  button.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete the manifest ${shortDigest(digest)} from ${name}, with every tag that points at it?`))) return;
    try {
      await call(`/v2/${name}/manifests/${digest}`, deleteScope(name), { method: 'DELETE' });
      location.hash = route('repo', { name });
    } catch (error) {
      button.after(h('span', { class: 'error', role: 'alert' }, ` ${(error as Error).message}`));
    }
  });
  return h('section', {}, h('h2', {}, 'Delete'), button);
}
