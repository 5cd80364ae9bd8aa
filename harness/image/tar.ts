import { pack, type Header, type Pack } from 'tar-stream';

export interface TarFile {
  name: string;
  size: number;
  /** Produces exactly `size` bytes; called once, when the entry is written. */
  content(): AsyncIterable<Uint8Array>;
}

export interface TarDirectory {
  name: string;
  directory: true;
}

export type TarEntry = TarFile | TarDirectory;

/** Fixed owner and time, so the same entries always make the same bytes. */
const FIXED: Partial<Header> = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };

/**
 * A deterministic tar of `entries`, produced as it is read: file contents are pulled
 * chunk by chunk with backpressure, so archive size does not bound memory.
 */
export function tarStream(entries: readonly TarEntry[]): AsyncIterable<Buffer> {
  const archive = pack();
  const produce = async () => {
    for (const entry of entries) await writeEntry(archive, entry);
    archive.finalize();
  };
  produce().catch((error: unknown) => archive.destroy(error instanceof Error ? error : new Error(String(error))));
  return archive as AsyncIterable<Buffer>;
}

async function writeEntry(archive: Pack, entry: TarEntry): Promise<void> {
  let sink!: ReturnType<Pack['entry']>;
  // tar-stream calls back once the entry is fully written, or failed.
  const written = new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null) => (error ? reject(error) : resolve());
    sink = 'directory' in entry
      ? archive.entry({ ...FIXED, name: entry.name, type: 'directory', mode: 0o755 }, done)
      : archive.entry({ ...FIXED, name: entry.name, type: 'file', mode: 0o644, size: entry.size }, done);
  });
  if ('directory' in entry) return written;
  for await (const chunk of entry.content()) {
    if (!sink.write(chunk)) await Promise.race([new Promise<void>((resolve) => sink.once('drain', () => resolve())), written]);
  }
  sink.end(null);
  return written;
}
