import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../../harness/clients/process';
import type { RegistryTarget } from './registry-target';
import { LogBuffer, ServerProcess } from '../../harness/server-process';
import { freePort, waitForHttp } from '../../harness/net';

/**
 * CNCF distribution (registry:2, Debian's docker-registry), as a reference: a client
 * harness that fails against it has a harness problem, not a Nimbus bug. Benchmarks use
 * it as the baseline.
 */
export function distributionTarget(options: { htpasswd?: string } = {}): RegistryTarget {
  return {
    name: 'distribution',
    async start() {
      const binary = requireTool('docker-registry', 'docker-registry');
      const dir = await mkdtemp(join(tmpdir(), 'nimbus-e2e-distribution-'));
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const configPath = join(dir, 'config.yml');
      // Basic auth (htpasswd, bcrypt entries): distribution's token auth needs a token server.
      const auth = options.htpasswd === undefined ? {} : { auth: { htpasswd: { realm: 'nimbus-test', path: join(dir, 'htpasswd') } } };
      if (options.htpasswd !== undefined) await writeFile(join(dir, 'htpasswd'), options.htpasswd);
      // JSON is YAML, so the config needs no YAML writer.
      await writeFile(configPath, JSON.stringify({
        version: 0.1,
        log: { level: 'info', formatter: 'text' },
        storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
        http: { addr: `127.0.0.1:${port}` },
        ...auth,
      }));
      const log = new LogBuffer();
      const launch = async () => {
        // Only PATH: distribution reads REGISTRY_* variables as configuration overrides.
        const server = new ServerProcess('docker-registry', binary, ['serve', configPath], { log, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
        await waitForHttp(options.htpasswd === undefined ? `${url}/v2/` : `${url}/`, server).catch(async (error: unknown) => {
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


