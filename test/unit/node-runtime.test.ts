import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

function major(version: string): number {
  return Number(/^v?(\d+)/.exec(version)?.[1]);
}

// The suite, and every process it starts with process.execPath, must run on the Node the
// project supports: an older one (the machine's, when .ci/run did not put its own Node 22
// first on PATH) would pass tests the deployed nodejs22.x functions never see.
describe('the Node the tests run on', () => {
  it("is one package.json's engines allows, and 22 or newer", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    const minimum = /^>=\s*(\d+)$/.exec(pkg.engines.node);
    expect(minimum, `engines.node is ${pkg.engines.node}`).not.toBeNull();
    expect(Number(minimum![1])).toBeGreaterThanOrEqual(22);
    expect(major(process.version), process.execPath).toBeGreaterThanOrEqual(Number(minimum![1]));
  });

  it('loads the AWS SDK in a child process without its Node-version warning', async () => {
    const script = "import { S3Client } from '@aws-sdk/client-s3'; new S3Client({ region: 'us-east-1' }); console.log(process.version);";
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, timeout: 30_000 });
    expect(stderr).not.toMatch(/NodeVersionSupportWarning|upgrade to node/i);
    expect(major(stdout.trim())).toBeGreaterThanOrEqual(22);
  });
});
