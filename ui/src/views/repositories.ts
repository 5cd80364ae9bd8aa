import { call, catalogScope, getJson } from '../api';
import { h, route } from '../dom';

interface SearchPage { repositories: string[]; next?: string }

const PAGE = '50';

/** One page of /v2/_catalog; the next page is where its Link header points. */
async function catalogPage(last: string): Promise<SearchPage> {
  const response = await call(`/v2/_catalog?${new URLSearchParams({ n: PAGE, ...(last ? { last } : {}) })}`, catalogScope, { headers: { Accept: 'application/json' } });
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
  const page = query
    ? await getJson<SearchPage>(`/v2/_nimbus/repositories?${new URLSearchParams({ q: query, n: PAGE, ...(last ? { last } : {}) })}`, catalogScope)
    : await catalogPage(last);
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
    last ? h('a', { href: route('', query ? { q: query } : {}) }, 'First page') : null,
    page.next ? h('a', { href: route('', { ...(query ? { q: query } : {}), last: page.next }), rel: 'next' }, 'Next page') : null);
  return h('section', {}, h('h1', {}, 'Repositories'), form, list, nav);
}
