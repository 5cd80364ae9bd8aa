export { freePort } from '../functions/dev/free-port';
import type { ServerProcess } from './server-process';

/** Polls `url` until it answers 2xx, failing early (with the server's log) if the server exits. */
export async function waitForHttp(url: string, server: ServerProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw server.failure('exited before it was ready');
    if (await fetch(url).then((response) => response.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw server.failure(`did not answer ${url} within ${timeoutMs / 1000} s`);
}
