import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { devAwsTarget } from '../support/dev-aws-target';
import { authHeaders, localNimbusTarget } from '../support/registry-target';

const RANK: Record<string, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Printed at every level: how parents, tools and tests learn where a server listens. */
const ANNOUNCEMENTS = new Set(['nimbus dev:aws listening', 'upload endpoint started', 'nimbus upload endpoint listening', 'nimbus registry listening']);

/** JSON log lines below `level` that are not startup announcements (Powertools writes levels in capitals). */
function linesBelow(logs: string, level: string): string[] {
  return logs.split('\n').filter((line) => {
    if (!line.startsWith('{')) return false;
    const entry = JSON.parse(line) as { level?: unknown; msg?: unknown; message?: unknown };
    const rank = RANK[String(entry.level).toLowerCase()];
    return rank !== undefined && rank < RANK[level]! && !ANNOUNCEMENTS.has(String(entry.msg ?? entry.message));
  });
}

/** One blob through the registry's upload Location (on dev:aws, the upload endpoint's origin). */
async function pushBlob(url: string, headers: Record<string, string>, repository: string): Promise<string> {
  const bytes = new TextEncoder().encode(`bytes for ${repository}`);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const opened = await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
  expect(opened.status, await opened.clone().text()).toBe(202);
  const location = new URL(opened.headers.get('location')!, url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  expect(put.status, await put.clone().text()).toBe(201);
  expect((await fetch(`${url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD', headers })).status).toBe(200);
  return location.origin;
}

// The startup line is the readiness signal: it must not depend on the level the operator
// picked (dev:aws used to wait forever for the upload endpoint's info line at warn).
describe.each(['warn', 'error'] as const)('NIMBUS_LOG_LEVEL=%s', (level) => {
  it('npm run dev:aws starts with its upload endpoint, serves a push, and prints nothing below the level but its announcements', async () => {
    const registry = await devAwsTarget({ env: { NIMBUS_LOG_LEVEL: level } }).start();
    try {
      const endpoint = registry.uploadEndpoint();
      expect(endpoint, 'dev:aws announced no upload endpoint').toBeDefined();
      expect(await pushBlob(registry.url, authHeaders(registry), 'level/dev-aws')).toBe(endpoint!.url);
    } finally {
      await registry.stop(); // every line is out once the process has exited
    }
    expect(linesBelow(registry.logs(), level)).toEqual([]);
  }, 240_000);

  it('npm start starts, serves a push, and prints nothing below the level but its announcement', async () => {
    const registry = await localNimbusTarget({ logLevel: level }).start();
    try {
      await pushBlob(registry.url, {}, 'level/local');
    } finally {
      await registry.stop();
    }
    expect(linesBelow(registry.logs(), level)).toEqual([]);
  }, 60_000);
});
