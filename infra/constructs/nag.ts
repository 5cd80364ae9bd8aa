import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges a cdk-nag finding on the construct it concerns (and its children). Each
 * call states why the rule does not apply; the reason travels with the construct in the
 * acknowledged-rules metadata and appears in the validation report.
 */
export function acknowledge(construct: IConstruct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id, reason });
}
