import { App, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { NimbusRegistryProps } from '../../infra/constructs/registry';
import { RegistryStack } from '../../infra/registry-stack';

/**
 * A RegistryStack in a fresh app. Bundling is skipped (the function gets a placeholder
 * asset), so template tests stay fast; synth.test.ts bundles for real through the CLI.
 */
export function registryStack(registry: NimbusRegistryProps = {}, context: Record<string, unknown> = {}, env?: Environment): { app: App; stack: RegistryStack } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new RegistryStack(app, 'Nimbus', { registry, ...(env ? { env } : {}) });
  return { app, stack };
}

export function template(registry: NimbusRegistryProps = {}, env?: Environment): Template {
  return Template.fromStack(registryStack(registry, {}, env).stack);
}

export interface Statement { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> }

/** The statements of the one policy attached to the role whose logical id matches `role`. */
export function statementsOfRole(tpl: Template, role: RegExp): Statement[] {
  return (policyOfRole(tpl, role).Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}

/** Those statements by Sid. */
export function statementsBySid(tpl: Template, role: RegExp): Record<string, Statement> {
  return Object.fromEntries(statementsOfRole(tpl, role).map((statement) => [statement.Sid, statement]));
}

/** The actions of a statement, always as a list. */
export function actionsOf(statement: Statement): string[] {
  return [statement.Action].flat();
}

/** The single resource of a type, failing loudly when there is not exactly one. */
export function only(tpl: Template, type: string): { Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string } {
  const found = Object.values(tpl.findResources(type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as { Properties: Record<string, unknown> };
}

/** The one IAM policy attached to the role whose logical id matches `role`. */
export function policyOfRole(tpl: Template, role: RegExp): { Properties: Record<string, unknown> } {
  const found = Object.values(tpl.findResources('AWS::IAM::Policy')).filter((policy) => {
    const roles = (policy.Properties as { Roles?: Array<{ Ref?: string }> }).Roles ?? [];
    return roles.some((ref) => ref.Ref !== undefined && role.test(ref.Ref));
  });
  if (found.length !== 1) throw new Error(`expected one policy on a role matching ${role}, found ${found.length}`);
  return found[0] as { Properties: Record<string, unknown> };
}

/** The registry's API function (the stack also has the direct-upload verifier). */
export function registryFunction(tpl: Template): { Properties: Record<string, unknown> } {
  const found = Object.entries(tpl.findResources('AWS::Lambda::Function')).filter(([id]) => /^RegistryFunctionHandler/.test(id));
  if (found.length !== 1) throw new Error(`expected one registry function, found ${found.length}`);
  return found[0]![1] as { Properties: Record<string, unknown> };
}
