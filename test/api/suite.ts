import { afterAll, beforeAll, describe } from 'vitest';
import { RegistryClient, type Fetcher } from './client';
import { blobTests } from './suites/blobs';
import { uploadTests } from './suites/uploads';
import { manifestTests } from './suites/manifests';
import { discoveryTests } from './suites/discovery';
import { managementTests } from './suites/management';
import { concurrencyTests } from './suites/concurrency';
import { hostileTests } from './suites/hostile';
import { referenceTests } from './suites/references';

export interface ApiFixture {
  fetch: Fetcher;
  /** Moves the registry's clock forward, for expiry tests. */
  advanceClock(ms: number): void;
  cleanup(): Promise<void>;
}

export interface ApiTarget {
  name: string;
  create(): Promise<ApiFixture>;
}

/**
 * The Distribution API behaviours the OCI conformance suite checks (pull, push, content
 * discovery, content management), plus every error code, written from the spec. Runs
 * against any registry built from the core, whatever its stores.
 */
export function defineRegistryApiSuite(target: ApiTarget): void {
  describe(`Distribution API: ${target.name}`, () => {
    let fixture: ApiFixture;
    const context = {
      get client() {
        return new RegistryClient(fixture.fetch);
      },
      get fixture() {
        return fixture;
      },
    };
    beforeAll(async () => {
      fixture = await target.create();
    });
    afterAll(async () => fixture?.cleanup());

    blobTests(context);
    uploadTests(context);
    manifestTests(context);
    discoveryTests(context);
    managementTests(context);
    concurrencyTests(context);
    hostileTests(context);
    referenceTests(context);
  });
}

export interface SuiteContext {
  readonly client: RegistryClient;
  readonly fixture: ApiFixture;
}
