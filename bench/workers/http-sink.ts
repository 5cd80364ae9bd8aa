/**
 * A loopback HTTP server that reads request bodies and throws them away: the cheapest
 * possible receiver, for the physical floor of moving bytes over HTTP on this machine.
 * Prints "sink-port=<port>" once listening. Runs in its own process, as a registry would.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
  req.on('end', () => {
    res.writeHead(201, { 'content-type': 'text/plain' });
    res.end(String(bytes));
  });
});
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`sink-port=${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
