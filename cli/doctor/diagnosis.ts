import { ANOMALY_RULES, ANSWER_RULES, FALLBACK } from './answer-rules';
import { NETWORK_RULES } from './network-rules';
import type { Observation } from './observation';
import type { Diagnosis, Rule } from './rule-kit';

export type { Diagnosis } from './rule-kit';

/**
 * The diagnosis table: observations (what a request answered, or how it failed, and when)
 * mapped to a likely cause and a fix, in plain words. In order: the first rule that
 * matches explains the observation. No answer at all (network-rules.ts), then wrong
 * content, then wrong answers (answer-rules.ts, with what CloudFront and the load balancer
 * in front of the upload endpoint say in edge-rules.ts), then a fallback.
 */
export const DIAGNOSES: readonly Rule[] = [...NETWORK_RULES, ...ANOMALY_RULES, ...ANSWER_RULES, FALLBACK];

export function diagnose(observation: Observation): Diagnosis {
  const rule = DIAGNOSES.find((each) => each.when(observation))!;
  return { id: rule.id, ...rule.explain(observation) };
}
