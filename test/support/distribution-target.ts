import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from './clients/process';
import type { RegistryTarget } from './registry-target';
import { LogBuffer, ServerProcess } from './server-process';

/**
 * CNCF distribution (registry:2, Debian's docker-registry), as a reference: a client
 * harness that fails against it has a harness problem, not a Nimbus bug. Benchmarks use
 * it as the baseline.
 */
export function distributionTarget(): RegistryTarget {
  return {
    name: 'distribution',
    async start() {
      const binary = requireTool('docker-registry', 'docker-registry');
      const dir = await mkdtemp(join(tmpdir(), 'nimbus-e2e-distribution-'));
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const configPath = join(dir, 'config.yml');
      // JSON is YAML, so the config needs no YAML writer.
      await writeFile(configPath, JSON.stringify({
        version: 0.1,
        log: { level: 'info', formatter: 'text' },
        storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
        http: { addr: `127.0.0.1:${port}` },
      }));
      const log = new LogBuffer();
      const launch = async () => {
        // Only PATH: distribution reads REGISTRY_* variables as configuration overrides.
        const server = new ServerProcess('docker-registry', binary, ['serve', configPath], { log, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
        await waitForHttp(`${url}/v2/`, server).catch(async (error: unknown) => {
          await server.stop();
          throw error;
        });
        return server;
      };
      let server = await launch();
      return {
        host: `127.0.0.1:${port}`,
        url,
        logs: () => log.text(),
        async restart() {
          await server.stop();
          log.push('----- restart (same data directory, same port) -----');
          server = await launch();
        },
        async stop() {
          await server.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** A port the OS says is free now (distribution cannot report the port it got for :0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForHttp(url: string, server: ServerProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw server.failure('exited before it was ready');
    const ok = await fetch(url).then((response) => response.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw server.failure(`did not answer ${url} within ${timeoutMs / 1000} s`);
}
