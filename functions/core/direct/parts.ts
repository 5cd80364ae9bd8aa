import type { DirectUpload } from '../records';

/** Most part URLs handed out per response (a Lambda response must stay small). */
export const MAX_URLS_PER_RESPONSE = 100;

/** The parts a direct upload of this size is cut into. */
export function partCount(direct: Pick<DirectUpload, 'size' | 'partSize'>): number {
  return Math.ceil(direct.size / direct.partSize);
}
