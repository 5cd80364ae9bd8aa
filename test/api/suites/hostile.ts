import { beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_CASES } from '../hostile/cases';
import { expectAnswer, inProcessRequest } from '../hostile/send';
import { createWorld, snapshot, type World } from '../hostile/world';
import type { SuiteContext } from '../suite';

/**
 * The hostile-input table (test/api/hostile/cases.ts) against the registry in process, on
 * every store combination: each request gets its spec error (never a 5xx) and changes
 * nothing. The wire-only cases, and these same ones through each transport, run in
 * test/api/hostile-wire.test.ts.
 */
export function hostileTests(t: SuiteContext): void {
  describe('hostile requests', () => {
    let world: World;
    beforeAll(async () => {
      world = await createWorld(t.fixture.fetch);
    });

    for (const row of HOSTILE_CASES) {
      it(`${row.method} ${row.name}`, async () => {
        const before = await snapshot(t.fixture.fetch, world);
        const response = await t.fixture.fetch(inProcessRequest(row, world));
        expectAnswer({ status: response.status, contentType: response.headers.get('content-type') ?? undefined, body: await response.text() }, row.expect);
        expect(await snapshot(t.fixture.fetch, world), 'a refused request changes nothing').toBe(before);
      });
    }
  });
}
