import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogBuffer, ServerProcess } from '../../harness/server-process';
import { serverEntry } from '../support/server-entry';
import { defineAuthE2E, runNimbus } from './auth-e2e';
import { readLogLine } from '../../functions/adapters/node/logger';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// NIMBUS_AUTH=on npm start, its users and grants managed with `npx nimbus` in its data dir.
defineAuthE2E({
  name: 'NIMBUS_AUTH=on npm start',
  async start() {
    const dataDir = await mkdtemp(join(tmpdir(), 'nimbus-auth-e2e-data-'));
    const log = new LogBuffer();
    const server = new ServerProcess('nimbus (NIMBUS_AUTH=on npm start)', process.execPath, serverEntry(), {
      cwd: ROOT, log,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: '127.0.0.1', PORT: '0', NIMBUS_DATA_DIR: dataDir, NIMBUS_FSYNC: 'off', NIMBUS_AUTH: 'on' },
    });
    const stop = async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
    try {
      const url = await server.waitForLine((line) => {
        const entry = readLogLine(line, 'nimbus registry listening');
        return entry?.auth === 'on' ? (entry.url as string) : undefined;
      });
      return {
        host: new URL(url!).host,
        nimbus: (args, input) => runNimbus(args, { NIMBUS_DATA_DIR: dataDir }, input),
        logs: () => log.text(),
        stop,
      };
    } catch (error) {
      await stop();
      throw error;
    }
  },
});
