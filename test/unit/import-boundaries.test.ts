import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The eslint rule that keeps imports pointing down (eslint.config.js). Each case lints one
 * import line as if it were in the named file, so a rule that stopped matching (a typo in a
 * glob or a regex) fails here, not in review.
 */
const eslint = new ESLint();

async function restricted(filePath: string, specifier: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import { x } from '${specifier}';\nexport { x };\n`, { filePath });
  return (result?.messages ?? []).some((message) => message.ruleId === 'no-restricted-imports');
}

describe('import boundaries', () => {
  it.each([
    ['functions/core/handlers/blobs.ts', '../../auth/grants'],
    ['functions/core/app.ts', '../adapters/fs/atomic'],
    ['functions/core/app.ts', '../lambda/env'],
    ['functions/auth/authorizer.ts', '../adapters/aws/dynamo-identity-store'],
    ['functions/auth/authorizer.ts', '../local/main'],
    ['functions/adapters/aws/s3-blob-store.ts', '../../lambda/registry'],
    ['functions/adapters/fs/atomic.ts', '../../upload-server/settings'],
    ['functions/upload-server/endpoint.ts', '../lambda/registry'],
    ['functions/local/main.ts', '../dev/emulators'],
    ['functions/lambda/registry.ts', '../local/local-registry'],
    ['functions/dev/main.ts', '../../test/support/dev-aws-target'],
    ['functions/dev/main.ts', '../../harness/net'],
    ['bench/lib/servers.ts', '../../test/support/registry-target'],
    ['harness/net.ts', '../test/support/registry-target'],
    ['cli/doctor/main.ts', '../../test/support/net'],
    ['infra/constructs/registry.ts', '../../test/support/net'],
  ])('%s may not import %s', async (file, specifier) => {
    expect(await restricted(file, specifier)).toBe(true);
  });

  it.each([
    ['functions/core/app.ts', './routes'],
    ['functions/auth/authorizer.ts', '../core/access'],
    ['functions/adapters/aws/dynamo-identity-store.ts', '../../auth/identity-store'],
    ['functions/adapters/aws/s3-blob-store.ts', '../fs/atomic'],
    ['functions/lambda/registry.ts', '../adapters/aws/env'],
    ['functions/dev/main.ts', '../lambda/registry'],
    ['bench/lib/servers.ts', '../../harness/net'],
    ['test/api/suite.ts', '../support/registry-target'],
  ])('%s may import %s', async (file, specifier) => {
    expect(await restricted(file, specifier)).toBe(false);
  });
});
