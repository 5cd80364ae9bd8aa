/** Elements built from text only (never innerHTML): names, labels and annotations come from pushers. */
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string | boolean | ((event: Event) => void)> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(key, '');
    else if (value !== false) element.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function formatTime(ms: number | undefined): string {
  if (!ms) return '—';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return `${algorithm}:${(hex ?? '').slice(0, 12)}`;
}

export interface Platform { os: string; architecture: string; variant?: string }
export const platformName = (platform: Platform) => [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');

export function platformList(platforms: Platform[] | undefined): HTMLElement {
  if (!platforms || platforms.length === 0) return h('span', { class: 'muted' }, '—');
  return h('span', {}, ...platforms.map((platform) => h('span', { class: 'platform' }, platformName(platform))));
}

/** A read-only pull command with a copy button (the clipboard API, or selecting the text where it is unavailable). */
export function pullLine(command: string, label: string): HTMLElement {
  const input = h('input', { type: 'text', readonly: true, value: command, 'aria-label': label });
  const button = h('button', { type: 'button' }, 'Copy');
  button.addEventListener('click', async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(command);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Press Ctrl+C';
    }
  });
  return h('div', { class: 'pull' }, input, button);
}

export function route(path: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString();
  return `#/${path}${query ? `?${query}` : ''}`;
}

/** Asks before a delete, in a modal dialog (keyboard: Escape or Cancel, which has focus, declines). */
export function confirmDialog(text: string): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  document.getElementById('confirm-text')!.textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

export function registryHost(): string {
  return location.host;
}
