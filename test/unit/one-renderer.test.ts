import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/**
 * README, Architecture: one place turns every error into the spec's body. Transports,
 * the API Gateway handler and the Lambda entry render through it; none builds its own.
 */
it('only functions/core/http/responses.ts builds the spec\'s {"errors": [...]} body', async () => {
  const files = (await readdir(join(ROOT, 'functions'), { recursive: true })).filter((file) => file.endsWith('.ts'));
  const builders: string[] = [];
  for (const file of files) {
    const text = await readFile(join(ROOT, 'functions', file), 'utf8');
    if (/\berrors\s*:\s*\[|["']errors["']\s*:/.test(text)) builders.push(`functions/${file}`);
  }
  expect(builders).toEqual(['functions/core/http/responses.ts']);
});
