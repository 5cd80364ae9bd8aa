import * as z from 'zod/mini';
import { problemCheck } from '../validation';
import { RegistryError } from '../errors';
import { parsePolicy } from './documents';
import { patternMatches, repositoryPatternProblem, tagMatches, tagPatternProblem } from './patterns';

/**
 * Tag immutability: a tag is immutable when ANY rule matches it: the rule's `repositories`
 * pattern matches the repository, one of its `tags` patterns (default: every tag) matches the
 * tag, and none of its `except` patterns does. An immutable tag, once it exists, cannot be moved
 * to another digest (PUT manifest), deleted (DELETE by tag) or deleted with its manifest
 * (DELETE by digest): all get 403 DENIED naming the rule. Pushing the same digest to it again
 * is allowed, and so is creating it. Retention never deletes an immutable tag either.
 */
const repositoryPattern = z.string().check(problemCheck(repositoryPatternProblem));
const tagPattern = z.string().check(problemCheck(tagPatternProblem));

const immutabilityRule = z.strictObject({
  /** Names the rule in errors and for `nimbus immutability remove`. */
  id: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'an id is 1-64 characters of [A-Za-z0-9._-]'))),
  repositories: repositoryPattern,
  tags: z.optional(z.array(tagPattern).check(z.minLength(1), z.maxLength(100))),
  except: z.optional(z.array(tagPattern).check(z.maxLength(100))),
});

export const immutabilitySchema = z.strictObject({
  version: z.optional(z.literal(1)),
  rules: z.array(immutabilityRule).check(z.maxLength(1000)),
}).check(z.superRefine((document, ctx) => {
  const seen = new Set<string>();
  document.rules.forEach((rule, index) => {
    if (rule.id === undefined) return;
    if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: ['rules', index, 'id'], message: `duplicate rule id "${rule.id}"` });
    seen.add(rule.id);
  });
}));

export type ImmutabilityRule = z.infer<typeof immutabilityRule>;
export type ImmutabilityDocument = z.infer<typeof immutabilitySchema>;

export function parseImmutability(input: unknown): ImmutabilityDocument {
  return parsePolicy(immutabilitySchema, input, 'immutability');
}

/** How errors name a rule: its id, else its position. */
export function ruleName(document: ImmutabilityDocument, rule: ImmutabilityRule): string {
  return rule.id ?? `#${document.rules.indexOf(rule) + 1}`;
}

/** The first rule making `tag` in `repository` immutable, if any. */
export function immutableRule(document: ImmutabilityDocument | undefined, repository: string, tag: string): ImmutabilityRule | undefined {
  return document?.rules.find((rule) => patternMatches(rule.repositories, repository)
    && (rule.tags ?? ['*']).some((pattern) => tagMatches(pattern, tag))
    && !(rule.except ?? []).some((pattern) => tagMatches(pattern, tag)));
}

/** 403 DENIED naming the rule that protects the tag. */
export function immutableTagDenied(
  document: ImmutabilityDocument, rule: ImmutabilityRule, repository: string, tag: string, action: string,
): RegistryError {
  const tags = (rule.tags ?? ['*']).join(', ');
  const except = rule.except?.length ? `, except ${rule.except.join(', ')}` : '';
  const name = ruleName(document, rule);
  return new RegistryError(
    'DENIED',
    `cannot ${action} tag "${tag}" in ${repository}: it is immutable under immutability rule ${name} (repositories ${rule.repositories}, tags ${tags}${except})`,
    { detail: { repository, tag, rule: name } },
  );
}
