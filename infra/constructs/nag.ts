import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges a cdk-nag finding on the construct it concerns (and its children). Each
 * call states why the rule does not apply; the reason travels with the construct in the
 * acknowledged-rules metadata and appears in the validation report.
 */
export function acknowledge(construct: IConstruct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id, reason });
}

/**
 * The CloudFormation logical id of a construct's main resource, as cdk-nag names it in
 * finding ids (Resource::<LogicalId.Arn>/...).
 */
export function logicalIdOf(construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(resource);
}
