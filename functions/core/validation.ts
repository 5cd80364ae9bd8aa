import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * Schemas in the core use zod's tree-shakable "mini" build (`import * as z from 'zod/mini'`)
 * with only its English messages: about 25 KiB of a bundle, where full zod is about 445 KiB
 * and slows every cold start (eslint keeps full `zod` out of functions/). Parse through
 * `safeParse` here, so the messages are configured before any input is checked.
 */
z.config(en());

export type Parsed<T> = { success: true; data: T } | { success: false; error: z.core.$ZodError };

export function safeParse<T>(schema: z.ZodMiniType<T>, input: unknown): Parsed<T> {
  return schema.safeParse(input) as Parsed<T>;
}

/** A check that adds `problem(value)` as an issue when it returns a message. */
export function problemCheck<T>(problem: (value: T) => string | undefined) {
  return z.superRefine<T>((value, ctx) => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: 'custom', message, input: value });
  });
}
