import type * as z from 'zod/mini';
import { safeParse } from '../validation';
import { RegistryError } from '../errors';

/**
 * Parses a policy document with its schema; any problem is 400 POLICY_INVALID naming what
 * is wrong and where (a JSON path such as `rules[1].keepLast`).
 */
export function parsePolicy<T>(schema: z.ZodMiniType<T>, input: unknown, what: string): T {
  const result = safeParse(schema, input);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 10).map((issue) => `${pathOf(issue.path) || '(document)'}: ${issue.message}`);
  throw new RegistryError('POLICY_INVALID', `invalid ${what} document: ${problems.join('; ')}`, { detail: { problems } });
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}

/** Reads a JSON body as a document; unreadable JSON is POLICY_INVALID too. */
export function parseJsonDocument(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RegistryError('POLICY_INVALID', `invalid ${what} document: not JSON (${(error as Error).message.slice(0, 200)})`);
  }
}
