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

/** Every section, in the order `npm run bench` runs them. */
export const SECTIONS: readonly Section[] = [pushSkopeo, pushDocker, floor, commit, listing, lambdaChunk, lanes, coldStart, gc, cost];
