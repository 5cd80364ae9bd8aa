import { createServer } from 'node:net';

/**
 * A port the OS says is free now, for servers that cannot report the port they got for :0
 * (the emulators, a web function told its address). Another process may take it before the
 * server binds; callers that can retry on EADDRINUSE should.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
