import { localNimbusTarget } from '../support/registry-target';
import { defineRegistryE2E } from './registry-e2e';

// Nimbus as `npm start` runs it: node:http, local disk, ephemeral port, temp data dir.
defineRegistryE2E(localNimbusTarget());
