import { createReadStream } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../../errors';
import type { Progress } from '../progress';
import { readDockerArchive } from './docker-archive';
import { archiveFiles, directoryFiles, readSlice, type PushPlan, type Selection, type SourceFiles } from './model';
import { isGzip, readTarMembers } from './tar-members';
import { readOciLayout } from './oci-layout';

export interface OpenedSource {
  plan: PushPlan;
  /** The unpacked copy to delete afterwards, if the source was an archive. */
  tempDir?: string;
}

const FORMATS = 'an OCI layout directory (with index.json), a docker save tar, an OCI layout tar, or - for a tar on stdin';

/**
 * Reads SOURCE. A directory and a plain tar file are read in place; stdin (`-`) and a
 * gzipped tar are unpacked into a temp dir first (`onTempDir` learns of it at once, so
 * an interrupt can remove it).
 */
export async function openSource(source: string, selection: Selection, progress: Progress, onTempDir: (dir: string) => void): Promise<OpenedSource> {
  if (source === '-') {
    if (process.stdin.isTTY) throw new CliError(`SOURCE - reads a tar from stdin: docker save IMAGE | npx nimbus push - REF`);
    const dir = await unpackDir(onTempDir);
    const meter = progress.meter('reading stdin', undefined);
    const members = await readTarMembers(process.stdin, { unpackTo: dir }, meter, 'stdin');
    meter.stop();
    return { plan: await readFiles(archiveFiles(members, 'stdin'), selection), tempDir: dir };
  }
  const info = await stat(source).catch(() => undefined);
  if (!info) throw new CliError(`no such file or directory: ${source} (SOURCE is ${FORMATS})`);
  if (info.isDirectory()) return { plan: await readFiles(directoryFiles(source, source), selection) };
  if (!info.isFile()) throw new CliError(`${source} is neither a file nor a directory (SOURCE is ${FORMATS})`);
  const gzipped = isGzip(await readSlice({ path: source, offset: 0, size: info.size }, 2));
  const dir = gzipped ? await unpackDir(onTempDir) : undefined;
  const meter = progress.meter(`reading ${source}`, info.size);
  const members = await readTarMembers(createReadStream(source), dir ? { unpackTo: dir } : { inPlace: source }, meter, source);
  meter.stop();
  return { plan: await readFiles(archiveFiles(members, source), selection), ...(dir ? { tempDir: dir } : {}) };
}

async function unpackDir(onTempDir: (dir: string) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-push-'));
  onTempDir(dir);
  return dir;
}

/** OCI layout when there is an index.json (newer docker save writes both), else docker-archive. */
async function readFiles(files: SourceFiles, selection: Selection): Promise<PushPlan> {
  if (await files.get('index.json')) return readOciLayout(files, selection);
  if (await files.get('manifest.json')) return readDockerArchive(files, selection);
  throw new CliError(`${files.name} has neither index.json nor manifest.json: unknown format (SOURCE is ${FORMATS})`);
}
