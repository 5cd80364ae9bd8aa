import { randomBytes } from 'node:crypto';
import { localNimbusTarget } from '../support/registry-target';
import { defineConformanceSuite } from './suite';

// `npm start` (functions/local/main.ts as a child process, auth off, like registry:2), one
// instance for both runs: the suite's defaults with automatic cross-mount on, then the
// blobs-before-manifests order CI often sets, with OCI_AUTOMATIC_CROSSMOUNT unset.
const root = `oci-${randomBytes(4).toString('hex')}`;

defineConformanceSuite({
  name: 'npm start',
  start: () => localNimbusTarget().start(),
  runs: [
    { namespace: `${root}/myrepo`, deleteManifestBeforeBlobs: true, automaticCrossmount: true },
    { namespace: `${root}/blobs-first/myrepo`, crossmountNamespace: `${root}/blobs-first/other`, deleteManifestBeforeBlobs: false },
  ],
});
