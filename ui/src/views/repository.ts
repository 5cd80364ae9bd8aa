import { call, deleteScope, getJson, mayDelete, pullScope } from '../api';
import { confirmDialog, formatBytes, formatTime, h, platformList, pullLine, registryHost, route, shortDigest, type Platform } from '../dom';

interface TagRow { tag: string; digest: string; mediaType?: string; kind?: string; size?: number; sizeComplete?: boolean; platforms?: Platform[]; artifactType?: string; pushedAt?: number; pulledAt?: number }
interface TagPage { name: string; tags: TagRow[]; next?: string }
interface Storage { manifests: number; blobs: number; bytes: number }

/** A repository: its storage and a page of tags with digest, size, platforms, push and pull times. */
export async function repositoryView(params: URLSearchParams, rerender: () => void): Promise<HTMLElement> {
  const name = params.get('name') ?? '';
  const last = params.get('last') ?? '';
  const [page, storage, deletable] = await Promise.all([
    getJson<TagPage>(`/v2/${name}/_nimbus/tags?${new URLSearchParams({ n: '50', ...(last ? { last } : {}) })}`, pullScope(name)),
    getJson<Storage>(`/v2/${name}/_nimbus/storage`, pullScope(name)).catch(() => undefined),
    mayDelete(name),
  ]);
  const rows = page.tags.map((tag) => tagRow(name, tag, deletable, rerender));
  const table = rows.length === 0 ? h('p', { class: 'muted' }, 'No tags.') : h('table', { 'aria-label': `Tags of ${name}` },
    h('thead', {}, h('tr', {}, ...['Tag', 'Digest', 'Size', 'Platforms', 'Pushed', 'Last pulled', 'Pull'].map((title) => h('th', { scope: 'col', class: title === 'Size' ? 'num' : '' }, title)),
      deletable ? h('th', { scope: 'col' }, h('span', { class: 'muted' }, 'Delete')) : null)),
    h('tbody', {}, ...rows));
  return h('section', {},
    h('p', {}, h('a', { href: route('') }, '← Repositories')),
    h('h1', {}, name),
    storage ? h('p', { class: 'storage' }, `Storage: ${formatBytes(storage.bytes)} in ${plural(storage.manifests, 'manifest')} and ${plural(storage.blobs, 'blob')}`) : null,
    h('h2', {}, 'Tags'),
    table,
    page.next ? h('nav', { class: 'bar', 'aria-label': 'Pages' }, h('a', { href: route('repo', { name, last: page.next }), rel: 'next' }, 'Next page')) : null,
    h('p', { class: 'muted' }, 'Last pulled: recorded at most once a day per tag.'));
}

function tagRow(name: string, tag: TagRow, deletable: boolean, rerender: () => void): HTMLElement {
  const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete tag ${tag.tag}` }, 'Delete');
  remove.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete the tag ${name}:${tag.tag}? The manifest ${shortDigest(tag.digest)} stays.`))) return;
    try {
      await call(`/v2/${name}/manifests/${encodeURIComponent(tag.tag)}`, deleteScope(name), { method: 'DELETE' });
      rerender();
    } catch (error) {
      remove.after(h('span', { class: 'error', role: 'alert' }, ` ${(error as Error).message}`));
    }
  });
  return h('tr', { 'data-tag': tag.tag },
    h('th', { scope: 'row' }, h('a', { href: route('manifest', { name, digest: tag.digest, tag: tag.tag }) }, tag.tag)),
    h('td', {}, h('code', { title: tag.digest }, shortDigest(tag.digest))),
    h('td', { class: 'num' }, `${tag.sizeComplete === false ? '≥ ' : ''}${formatBytes(tag.size)}`),
    h('td', {}, platformList(tag.platforms)),
    h('td', {}, formatTime(tag.pushedAt)),
    h('td', {}, formatTime(tag.pulledAt)),
    h('td', {}, pullLine(`docker pull ${registryHost()}/${name}:${tag.tag}`, `Pull command for ${name}:${tag.tag}`)),
    deletable ? h('td', {}, remove) : null);
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
