import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { CliError } from '../../errors';
import type { Meter } from '../progress';
import type { MemberFile } from './model';

/** Where a tar's members end up: read in place from the tar file, or unpacked into a directory. */
export type TarTarget = { inPlace: string } | { unpackTo: string };

const TAR_HEADER = 512;
const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Reads a tar once, streamed, hashing every regular file: docker-archive layers are named
 * by those hashes, and OCI blobs are checked against their names with them. A plain tar
 * file is indexed in place (each member is a byte range of it, so nothing is copied); a
 * gzipped tar or stdin cannot be read at an offset, so its members are unpacked.
 */
export async function readTarMembers(input: AsyncIterable<Buffer>, target: TarTarget, meter: Meter, what: string): Promise<Map<string, MemberFile>> {
  const files = new Map<string, MemberFile>();
  const links: Array<{ name: string; target: string }> = [];
  const source = Readable.from('unpackTo' in target ? gunzipIfNeeded(counted(input, meter)) : counted(input, meter));
  const tar = extract();
  source.on('error', (error) => tar.destroy(error));
  source.pipe(tar);
  try {
    for await (const entry of tar) {
      const { header } = entry;
      const name = memberName(header.name);
      // streamx readables are async-iterable, though their types do not say so.
      const content = entry as unknown as AsyncIterable<Buffer>;
      if (name && (header.type === 'file' || header.type === 'contiguous-file')) {
        const file = 'unpackTo' in target
          ? await unpack(content, join(target.unpackTo, name), what)
          : { path: target.inPlace, offset: entry.offset + TAR_HEADER, ...(await hashed(content, new Writable({ write: (_c, _e, done) => done() }))) };
        files.set(name, file);
        continue;
      }
      if (name && header.linkname && (header.type === 'symlink' || header.type === 'link')) {
        // docker save links repeated layers to their first copy.
        const linked = header.type === 'symlink' ? posix.join(posix.dirname(name), header.linkname) : header.linkname;
        links.push({ name, target: memberName(linked) ?? '' });
      }
      entry.resume();
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${what} is not a tar archive (${(error as Error).message}): give an OCI layout directory, a docker save tar, or an OCI layout tar`);
  }
  for (const link of links) {
    const file = files.get(link.target);
    if (file) files.set(link.name, file);
  }
  if (files.size === 0) throw new CliError(`${what} holds no files: give an OCI layout directory, a docker save tar, or an OCI layout tar`);
  return files;
}

/** Whether a file starts like a gzip stream (then it cannot be indexed in place). */
export function isGzip(head: Uint8Array): boolean {
  return head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/** Normalised member name, or undefined for names that would escape the directory. */
function memberName(raw: string): string | undefined {
  const name = posix.normalize(raw.replace(/^(\.\/)+/, '')).replace(/\/$/, '');
  if (!name || name === '.' || name === '..' || name.startsWith('../') || posix.isAbsolute(name)) return undefined;
  return name;
}

async function unpack(entry: AsyncIterable<Buffer>, path: string, what: string): Promise<MemberFile> {
  try {
    await mkdir(dirname(path), { recursive: true });
    return { path, offset: 0, ...(await hashed(entry, createWriteStream(path))) };
  } catch (error) {
    throw new CliError(`cannot unpack ${what} into ${dirname(path)} (${(error as Error).message}): point TMPDIR at a disk with room for the image`);
  }
}

/** Streams a member into `sink`, hashing it on the way. */
async function hashed(entry: AsyncIterable<Buffer>, sink: Writable): Promise<{ size: number; digest: string }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(async function* () {
    for await (const chunk of entry) {
      hash.update(chunk);
      size += chunk.byteLength;
      yield chunk;
    }
  }, sink);
  return { size, digest: `sha256:${hash.digest('hex')}` };
}

async function* counted(input: AsyncIterable<Buffer>, meter: Meter): AsyncGenerator<Buffer> {
  for await (const chunk of input) {
    meter.add(chunk.byteLength);
    yield chunk;
  }
}

/** Passes a tar through, or gunzips it first when it starts with the gzip magic. */
async function* gunzipIfNeeded(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  async function* all() {
    yield first.value;
    yield* { [Symbol.asyncIterator]: () => iterator };
  }
  if (!isGzip(first.value)) return yield* all();
  const gunzip = createGunzip();
  pipeline(all(), gunzip).catch((error: Error) => gunzip.destroy(error));
  yield* gunzip as AsyncIterable<Buffer>;
}
