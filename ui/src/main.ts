/** The browse UI: hash routes (#/, #/repo?name=, #/manifest?name=&digest=) rendered from the registry's API. */
import { ApiError, authEnabled, currentUser, login, logout } from './api';
import { h, route } from './dom';
import { manifestView } from './views/manifest';
import { repositoryView } from './views/repository';
import { repositoriesView } from './views/repositories';

let generation = 0;

/** Renders the page the hash names; true when it kept the focus in an input of the page. */
async function render(): Promise<boolean> {
  const current = ++generation;
  const main = document.getElementById('main')!;
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  main.setAttribute('aria-busy', 'true');
  let view: HTMLElement;
  try {
    if (path === 'repo') view = await repositoryView(params, () => void render());
    else if (path === 'manifest') view = await manifestView(params);
    else view = await repositoriesView(params);
  } catch (error) {
    view = errorView(error);
  }
  if (current !== generation) return false;
  // Typing in the filter re-renders the page: keep the caret in the new filter box.
  const focused = document.activeElement instanceof HTMLInputElement && main.contains(document.activeElement) ? document.activeElement.id : '';
  main.replaceChildren(view);
  main.setAttribute('aria-busy', 'false');
  const title = view.querySelector('h1')?.textContent;
  document.title = title ? `${title} · Nimbus` : 'Nimbus registry';
  const again = focused ? document.getElementById(focused) : null;
  if (again instanceof HTMLInputElement) {
    again.focus();
    again.setSelectionRange(again.value.length, again.value.length);
    return true;
  }
  return false;
}

function errorView(error: unknown): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  const needsLogin = error instanceof ApiError && (error.status === 401 || error.status === 403) && !currentUser();
  return h('section', {}, h('h1', {}, needsLogin ? 'Log in to browse' : 'Something went wrong'),
    h('p', { class: 'error', role: 'alert' }, message),
    needsLogin ? h('p', {}, 'Anonymous browsing is not granted here: log in with your registry user or robot.') : null,
    openRepositoryForm());
}

/** Listing every repository needs pull on all of them; a grant on some still lets you open one by name. */
function openRepositoryForm(): HTMLElement {
  const input = h('input', { type: 'text', id: 'open-repo', name: 'name', autocomplete: 'off', placeholder: 'team/app' });
  const form = h('form', { class: 'bar' }, h('label', { for: 'open-repo' }, 'Open a repository by name'), input, h('button', { type: 'submit' }, 'Open'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim()) location.hash = route('repo', { name: input.value.trim() });
  });
  return form;
}

async function renderAccount(): Promise<void> {
  const nav = document.getElementById('account')!;
  if (!(await authEnabled())) {
    nav.replaceChildren(h('span', { class: 'muted' }, 'Authentication is off'));
    return;
  }
  const user = currentUser();
  if (user) {
    const out = h('button', { type: 'button' }, 'Log out');
    out.addEventListener('click', () => {
      logout();
      void renderAccount();
      void render();
    });
    nav.replaceChildren(h('span', {}, `Logged in as ${user} `), out);
    return;
  }
  nav.replaceChildren(loginForm());
}

function loginForm(): HTMLElement {
  const username = h('input', { type: 'text', id: 'login-user', name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', id: 'login-password', name: 'password', autocomplete: 'current-password', required: true });
  const status = h('span', { class: 'error', role: 'status' });
  const form = h('form', { class: 'login', 'aria-label': 'Log in' },
    h('label', { for: 'login-user' }, 'User'), username,
    h('label', { for: 'login-password' }, 'Password'), password,
    h('button', { type: 'submit' }, 'Log in'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.textContent = '';
    try {
      await login(username.value, password.value);
      await renderAccount();
      await render();
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : String(error);
    }
  });
  return form;
}

window.addEventListener('hashchange', () => {
  // A new page: move the focus to it (as a page load would), unless the user is typing in it.
  void render().then((kept) => kept || document.getElementById('main')?.focus({ preventScroll: true }));
});
void renderAccount();
void render();
