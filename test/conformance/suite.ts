import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { ConformanceClient } from './client';
import type { SuiteContext, SuiteSettings } from './context';
import { discoveryWorkflow } from './discovery';
import { buildFixtures } from './fixtures';
import { managementWorkflow } from './management';
import { pullWorkflow } from './pull';
import { pushWorkflow } from './push';
import type { Credentials, RunningTarget } from '../support/registry-target';

/** setup.go's suiteDescription: the top-level container of every spec. */
const SUITE_DESCRIPTION = 'OCI Distribution Conformance Tests';

export interface ConformanceTarget<R extends RunningTarget = RunningTarget> {
  /** How the target is named in test titles: "npm start", "npm run dev:aws". */
  readonly name: string;
  /** Starts one registry for every run of the file. */
  start(): Promise<R>;
  /** OCI_USERNAME / OCI_PASSWORD for a run, made on the running target (absent: no login). */
  login?(running: R, settings: SuiteContext['settings']): Promise<Credentials>;
  /** One full run of the suite per entry, in order, on the same registry. */
  readonly runs: readonly SuiteSettings[];
}

/** A run's title: its settings, without the random namespaces, so titles stay the same from run to run. */
function describeSettings(settings: SuiteSettings): string {
  const automatic = settings.automaticCrossmount === undefined ? 'unset' : String(settings.automaticCrossmount);
  return `OCI_DELETE_MANIFEST_BEFORE_BLOBS=${settings.deleteManifestBeforeBlobs}, OCI_AUTOMATIC_CROSSMOUNT=${automatic}, `
    + `OCI_CROSSMOUNT_NAMESPACE ${settings.crossmountNamespace === undefined ? 'unset' : 'set'}`;
}

/**
 * The OCI distribution-spec conformance suite v1.1.1, ported spec for spec (pull, push,
 * content discovery, content management, in that order, as its 00_conformance_suite_test.go
 * runs them) and run over real HTTP against `target`, once per entry of `target.runs`.
 */
export function defineConformanceSuite<R extends RunningTarget>(target: ConformanceTarget<R>): void {
  describe(`OCI conformance v1.1.1 against ${target.name}`, () => {
    let running: R | undefined;

    beforeAll(async () => {
      running = await target.start();
    }, 180_000);

    afterAll(async () => {
      await running?.stop();
    });

    for (const settings of target.runs) {
      const resolved = { ...settings, crossmountNamespace: settings.crossmountNamespace ?? `conformance-${randomUUID()}` };
      let client: ConformanceClient | undefined;
      const ctx: SuiteContext = {
        settings: resolved,
        fixtures: buildFixtures(),
        client: () => {
          if (!client) throw new Error('the suite could not start (see the beforeAll failure: registry start or login)');
          return client;
        },
      };

      describe(describeSettings(settings), () => {
        beforeAll(async () => {
          if (!running) throw new Error('the registry did not start');
          console.log(`conformance run: OCI_NAMESPACE=${resolved.namespace} OCI_CROSSMOUNT_NAMESPACE=${resolved.crossmountNamespace}`);
          const credentials = await target.login?.(running, resolved);
          client = new ConformanceClient({ rootUrl: running.url, defaultName: resolved.namespace, ...credentials });
        }, 60_000);

        afterAll(() => client?.close());

        describe(SUITE_DESCRIPTION, () => {
          pullWorkflow(ctx);
          pushWorkflow(ctx);
          discoveryWorkflow(ctx);
          managementWorkflow(ctx);
        });
      });
    }
  });
}
