import { call, catalogScope, getJson } from '../api';
import { h, route } from '../dom';

interface SearchPage { repositories: string[]; next?: string }

/** Names per page: 50, or `n` from the address (1 to 100). */
function pageSize(params: URLSearchParams): string {
  const n = Number(params.get('n'));
  return Number.isInteger(n) && n >= 1 && n <= 100 ? String(n) : '50';
}

/** One page of /v2/_catalog; the next page is where its Link header points. */
async function catalogPage(size: string, last: string): Promise<SearchPage> {
  const response = await call(`/v2/_catalog?${new URLSearchParams({ n: size, ...(last ? { last } : {}) })}`, catalogScope, { headers: { Accept: 'application/json' } });
  const body = await response.json() as { repositories: string[] };
  const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
  const next = link ? new URL(link, location.origin).searchParams.get('last') ?? undefined : undefined;
  return { repositories: body.repositories, ...(next ? { next } : {}) };
}

/**
 * The repositories page, one page at a time, never the whole catalog: /v2/_catalog, or with a
 * filter /v2/_nimbus/repositories, which matches part of a name.
 */
export async function repositoriesView(params: URLSearchParams): Promise<HTMLElement> {
  const query = params.get('q') ?? '';
  const last = params.get('last') ?? '';
  const size = pageSize(params);
  const page = query
    ? await getJson<SearchPage>(`/v2/_nimbus/repositories?${new URLSearchParams({ q: query, n: size, ...(last ? { last } : {}) })}`, catalogScope)
    : await catalogPage(size, last);
  // What every link of this page keeps: the filter and a page size other than the default.
  const kept = { ...(query ? { q: query } : {}), ...(size !== '50' ? { n: size } : {}) };
  const input = h('input', { type: 'search', id: 'repo-filter', name: 'q', value: query, placeholder: 'part of a name', autocomplete: 'off' });
  const form = h('form', { class: 'bar', role: 'search' },
    h('label', { for: 'repo-filter' }, 'Filter repositories'), input, h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = route('', input.value.trim() ? { q: input.value.trim() } : {});
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => form.requestSubmit(), 300);
  });
  const list = page.repositories.length === 0
    ? h('p', { class: 'muted' }, query ? `No repository name on this page contains “${query}”.` : 'No repositories yet.')
    : h('ul', { class: 'repositories', 'aria-label': 'Repositories' },
      ...page.repositories.map((name) => h('li', {}, h('a', { href: route('repo', { name }) }, name))));
  const nav = h('nav', { class: 'bar', 'aria-label': 'Pages' },
    last ? h('a', { href: route('', kept) }, 'First page') : null,
    page.next ? h('a', { href: route('', { ...kept, last: page.next }), rel: 'next' }, 'Next page') : null);
  return h('section', {}, h('h1', {}, 'Repositories'), form, list, nav);
}
