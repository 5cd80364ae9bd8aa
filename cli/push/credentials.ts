import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CliError } from '../errors';

/** What the CLI logs in with. An identity token is docker's stored login (a refresh token). */
export interface Credentials {
  username: string;
  password?: string;
  identityToken?: string;
  /** Where they came from, for error messages. */
  source: string;
}

export interface CredentialOptions {
  username?: string;
  /** Read by the caller from stdin (--password-stdin). */
  password?: string;
}

const authEntry = z.object({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
}).loose();

const dockerConfig = z.object({
  auths: z.record(z.string(), authEntry).optional(),
  credsStore: z.string().optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
}).loose();

/**
 * Credentials in order of precedence: --username with --password-stdin, then
 * NIMBUS_USERNAME/NIMBUS_PASSWORD, then what `docker login HOST` stored (config.json auths,
 * or its credential helper). Undefined means anonymous.
 */
export async function resolveCredentials(host: string, options: CredentialOptions, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  if (options.username !== undefined || options.password !== undefined) {
    if (!options.username) throw new CliError('--password-stdin needs --username too');
    if (options.password === undefined) throw new CliError('--username needs the password on stdin: echo "$PASSWORD" | npx nimbus push ... --username NAME --password-stdin');
    return { username: options.username, password: options.password, source: '--username' };
  }
  if (env.NIMBUS_USERNAME || env.NIMBUS_PASSWORD) {
    if (!env.NIMBUS_USERNAME || !env.NIMBUS_PASSWORD) throw new CliError('set both NIMBUS_USERNAME and NIMBUS_PASSWORD, or neither');
    return { username: env.NIMBUS_USERNAME, password: env.NIMBUS_PASSWORD, source: 'NIMBUS_USERNAME/NIMBUS_PASSWORD' };
  }
  return fromDockerConfig(host, env);
}

async function fromDockerConfig(host: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const path = join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let parsed;
  try {
    parsed = dockerConfig.safeParse(JSON.parse(text));
  } catch {
    throw new CliError(`${path} is not valid JSON: fix it, or pass credentials with --username and --password-stdin`);
  }
  if (!parsed.success) throw new CliError(`${path} is not a docker config file: fix it, or pass credentials with --username and --password-stdin`);
  const config = parsed.data;
  const source = `docker login (${path})`;
  const helper = config.credHelpers?.[host] ?? config.credsStore;
  if (helper) {
    const fromHelper = await askHelper(helper, host, env);
    if (fromHelper) return { ...fromHelper, source: `${source}, credential helper docker-credential-${helper}` };
  }
  const entry = Object.entries(config.auths ?? {}).find(([key]) => hostOf(key) === host)?.[1];
  if (!entry) return undefined;
  let { username, password } = entry;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new CliError(`the auth of ${host} in ${path} is not base64 of user:password: run docker login ${host} again`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (!username) return undefined;
  if (entry.identitytoken) return { username, identityToken: entry.identitytoken, source };
  return password ? { username, password, source } : undefined;
}

/** Keys may be written `host`, `https://host` or `https://host/v1/`. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

/** docker's credential-helper protocol: `docker-credential-NAME get`, the host on stdin, JSON out. */
function askHelper(helper: string, host: string, env: NodeJS.ProcessEnv): Promise<Omit<Credentials, 'source'> | undefined> {
  return new Promise((resolve) => {
    const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'ignore'], env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // A missing helper, or one without this host, means no stored login: push anonymously.
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined);
      try {
        const { Username, Secret } = JSON.parse(output) as { Username?: string; Secret?: string };
        if (!Username || !Secret) return resolve(undefined);
        resolve(Username === '<token>' ? { username: Username, identityToken: Secret } : { username: Username, password: Secret });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin.on('error', () => {}); // a helper that exits without reading
    child.stdin.end(host);
  });
}
