/**
 * The least a Node blob receiver can do: POST opens an upload, a PATCH body is hashed
 * (node:crypto) and written (1 MiB writev batches, datasync at the end) to a file, PUT
 * ?digest= checks the digest and renames the file, a manifest PUT is read and dropped.
 * No sessions, no checkpoints, no web streams. The `raw` section sets its server CPU per GiB
 * beside Nimbus's and registry:2's: what node:http, sha256 and the page cache cost here.
 * Prints "receiver-port=<port>" once listening. Data in the directory given as argv[2].
 */
import { createHash, type Hash } from 'node:crypto';
import { open, rename } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const dir = process.argv[2]!;
const uploads = new Map<string, Hash>();
let next = 0;

async function receive(req: IncomingMessage, path: string, hash: Hash): Promise<void> {
  const file = await open(path, 'a');
  let batch: Buffer[] = [];
  let bytes = 0;
  let inFlight: Promise<unknown> | undefined;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    hash.update(chunk);
    batch.push(chunk);
    bytes += chunk.byteLength;
    if (bytes >= 1024 * 1024) {
      await inFlight;
      inFlight = file.writev(batch);
      batch = [];
      bytes = 0;
    }
  }
  await inFlight;
  if (bytes > 0) await file.writev(batch);
  await file.datasync();
  await file.close();
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://receiver');
  const id = /\/blobs\/uploads\/(\d+)$/.exec(url.pathname)?.[1];
  const answer = (status: number, location?: string) => {
    res.writeHead(status, location ? { location } : {});
    res.end();
  };
  void (async () => {
    if (req.method === 'POST') {
      const upload = String(next++);
      uploads.set(upload, createHash('sha256'));
      req.resume();
      return answer(202, `${url.pathname}${upload}`);
    }
    if (req.method === 'PATCH' && id && uploads.has(id)) {
      await receive(req, join(dir, id), uploads.get(id)!);
      return answer(202, url.pathname);
    }
    if (req.method === 'PUT' && id && uploads.has(id)) {
      req.resume();
      const digest = `sha256:${uploads.get(id)!.digest('hex')}`;
      uploads.delete(id);
      if (digest !== url.searchParams.get('digest')) return answer(400);
      await rename(join(dir, id), join(dir, digest.slice(7)));
      return answer(201, url.pathname);
    }
    req.resume();
    req.once('end', () => answer(req.method === 'PUT' ? 201 : 404));
  })().catch(() => answer(500));
});
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`receiver-port=${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
