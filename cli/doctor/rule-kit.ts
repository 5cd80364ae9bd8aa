import { responder, type Observation } from './observation';

export interface Diagnosis {
  /** Stable name of the rule that matched (for --json and tests). */
  id: string;
  /** What was observed and what it most likely means, in one sentence. */
  cause: string;
  /** What to do about it. */
  fix: string;
}

export interface Rule {
  id: string;
  when: (o: Observation) => boolean;
  explain: (o: Observation) => Omit<Diagnosis, 'id'>;
}

/* What the rules of the diagnosis table read an observation with: */
export const host = (o: Observation) => o.exchange.url.host;
export const failed = (o: Observation, ...kinds: string[]) => o.exchange.failure !== undefined && kinds.includes(o.exchange.failure.kind);
export const answered = (o: Observation, ...statuses: number[]) => o.exchange.failure === undefined && statuses.includes(o.exchange.status ?? -1);
export const by = (o: Observation) => responder(o.exchange);
export const bodyUnsent = (o: Observation) => o.exchange.bodyBytes > 0 && o.exchange.bodySentAtMs === undefined;
export const afterLastByte = (o: Observation) => (o.exchange.answeredAtMs ?? o.exchange.elapsedMs) - (o.exchange.bodySentAtMs ?? 0);
/** The grant that covers the scratch repository and its -mount twin: nimbus-doctor/** for the default. */
export const grantFix = (o: Observation) => {
  const grant = (pattern: string) => `npx nimbus grant ${o.login ?? 'USER'} '${pattern}' pull,push,delete`;
  if (o.repository.includes('/')) return grant(`${o.repository.replace(/\/[^/]*$/, '')}/**`);
  return `${grant(o.repository)} and ${grant(`${o.repository}-mount`)}`;
};
/** API Gateway HTTP APIs take request bodies of up to 10 MB. */
export const API_GATEWAY_BODY_LIMIT = 10 * 1024 * 1024;
export const UPLOAD_ENDPOINT_FIX = 'deploy with the upload endpoint on (the default; npx cdk deploy -c nimbus:uploadEndpoint=true), or push big layers with npx nimbus push, which sends them straight to S3';
export const wholeSeconds = (ms: number) => `${Math.round(ms / 1000)} s`;
export const whom: Record<Observation['role'], string> = {
  token: 'the token endpoint', registry: 'the registry', upload: 'the upload endpoint', storage: 'storage (the 307 target)',
};
