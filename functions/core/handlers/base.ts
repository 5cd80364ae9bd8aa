import type { RequestContext } from '../context';
import { jsonResponse } from '../http/responses';

/** GET /v2/: the API version check. */
export async function versionCheck(_ctx: RequestContext): Promise<Response> {
  return jsonResponse(200, {});
}
