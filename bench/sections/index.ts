import type { Section } from '../lib/section';
import { floor } from './floor';
import { gc } from './gc';
import { lambdaChunk } from './lambda-chunk';
import { listing } from './listing';
import { pushDocker } from './push-docker';
import { coldStart } from './coldstart';
import { commit } from './commit';
import { cost } from './cost';
import { lanes } from './lanes';
import { pushSkopeo } from './push-skopeo';
import { raw } from './raw';
import { memory } from './memory';

/** Every section, in the order `npm run bench` runs them. */
export const SECTIONS: readonly Section[] = [pushSkopeo, pushDocker, raw, memory, floor, commit, listing, lambdaChunk, lanes, coldStart, gc, cost];
