import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Grant } from '../../auth/grants';
import {
  isPrincipalName, NameError, PrincipalExistsError, type FederationRecord, type IdentityStore, type PrincipalRecord,
} from '../../auth/identity-store';
import { StoreNotFoundError } from '../../core/errors';
import { isNotFound, readJson, removeFile, syncDirectory, writeFileAtomic } from './atomic';
import { DataLayout } from './paths';

/**
 * Users, robots, grants and trusted CI issuers as JSON files (mode 0600) under
 * <data>/meta/auth/:
 *
 *   principals/<name>.json        user or robot: kind, scrypt hash, generation, created
 *   grants/<principal>.json       { grants: [{ pattern, actions }] }; "anonymous" for anonymous pulls
 *   federations/<sha256(issuer)>.json   trusted OIDC issuer: audience, rules, generation
 *
 * Nothing is cached: the CLI edits these files while the server runs, and the next request
 * sees the change. Writes go through tmp/ and a rename; creation links, so it never replaces.
 */
export class FsIdentityStore implements IdentityStore {
  private readonly layout: DataLayout;
  private readonly root: string;

  constructor(dataDir: string, private readonly options: { fsync: boolean } = { fsync: true }) {
    this.layout = new DataLayout(dataDir);
    this.root = this.layout.authRoot;
  }

  async getPrincipal(name: string): Promise<PrincipalRecord | undefined> {
    if (!isPrincipalName(name)) return undefined;
    return readJson<PrincipalRecord>(this.principalPath(name));
  }

  async createPrincipal(record: PrincipalRecord): Promise<void> {
    const target = this.principalPath(record.name);
    const temp = await this.writeTemp(JSON.stringify(record));
    try {
      await mkdir(join(this.root, 'principals'), { recursive: true, mode: 0o700 });
      await link(temp, target);
      // The new name (and a principals/ made for it) must outlive a power loss, as renames do.
      if (this.options.fsync) await Promise.all([syncDirectory(join(this.root, 'principals')), syncDirectory(this.root)]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new PrincipalExistsError(record.name);
      throw error;
    } finally {
      await rm(temp, { force: true });
    }
  }

  async updatePrincipal(record: PrincipalRecord): Promise<void> {
    if (!(await this.getPrincipal(record.name))) throw new StoreNotFoundError(`no user or robot named "${record.name}"`);
    await this.write(this.principalPath(record.name), record);
  }

  async deletePrincipal(name: string): Promise<boolean> {
    if (!isPrincipalName(name)) return false;
    const existed = await removeFile(this.principalPath(name), this.options);
    await removeFile(this.grantsPath(name), this.options);
    return existed;
  }

  async listPrincipals(): Promise<PrincipalRecord[]> {
    const records = await this.readAll<PrincipalRecord>('principals');
    return records.sort((a, b) => a.name.localeCompare(b.name));
  }

  async grantsOf(principal: string): Promise<Grant[]> {
    if (!isPrincipalName(principal)) return [];
    return (await readJson<{ grants: Grant[] }>(this.grantsPath(principal)))?.grants ?? [];
  }

  async setGrants(principal: string, grants: Grant[]): Promise<void> {
    if (grants.length === 0) await removeFile(this.grantsPath(principal), this.options);
    else await this.write(this.grantsPath(principal), { principal, grants });
  }

  async listGrants(): Promise<Map<string, Grant[]>> {
    const files = await this.readAll<{ principal: string; grants: Grant[] }>('grants');
    return new Map(files.sort((a, b) => a.principal.localeCompare(b.principal)).map((f) => [f.principal, f.grants]));
  }

  async getFederation(issuer: string): Promise<FederationRecord | undefined> {
    const record = await readJson<FederationRecord>(this.federationPath(issuer));
    return record?.issuer === issuer ? record : undefined;
  }

  async putFederation(record: FederationRecord): Promise<void> {
    await this.write(this.federationPath(record.issuer), record);
  }

  async deleteFederation(issuer: string): Promise<boolean> {
    return removeFile(this.federationPath(issuer), this.options);
  }

  async listFederations(): Promise<FederationRecord[]> {
    return (await this.readAll<FederationRecord>('federations')).sort((a, b) => a.issuer.localeCompare(b.issuer));
  }

  private principalPath(name: string): string {
    return join(this.root, 'principals', `${safeName(name)}.json`);
  }

  private grantsPath(principal: string): string {
    return join(this.root, 'grants', `${safeName(principal)}.json`);
  }

  private federationPath(issuer: string): string {
    return join(this.root, 'federations', `${createHash('sha256').update(issuer).digest('hex')}.json`);
  }

  private async write(path: string, value: unknown): Promise<void> {
    await this.ensureRoot();
    await writeFileAtomic(this.layout.tmp, path, JSON.stringify(value), this.options);
  }

  private async writeTemp(data: string): Promise<string> {
    await this.ensureRoot();
    const temp = join(this.layout.tmp, randomUUID());
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data);
      if (this.options.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    return temp;
  }

  /** meta/auth/ is private to the server's user, like the secrets beside it. */
  private async ensureRoot(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(this.layout.tmp, { recursive: true });
  }

  private async readAll<T>(dir: string): Promise<T[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, dir));
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const records = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => readJson<T>(join(this.root, dir, n))));
    return records.filter((r): r is Awaited<T> => r !== undefined) as T[];
  }
}

/** Only principal names become file names: nothing else can escape the directory or collide. */
function safeName(name: string): string {
  if (!isPrincipalName(name)) throw new NameError(`"${name.slice(0, 80)}" cannot name a user or robot`);
  return name;
}
