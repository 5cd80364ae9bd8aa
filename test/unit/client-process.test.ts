import { describe, expect, it } from 'vitest';
import { clientEnv, CommandFailedError, requireTool, run } from '../../harness/clients/process';

describe('client process runner', () => {
  it('returns what a successful command printed', async () => {
    const result = await run('sh', ['-c', 'echo out; echo err >&2'], { env: clientEnv({}) });
    expect(result).toEqual({ stdout: 'out\n', stderr: 'err\n' });
  });

  it('fails with the command line, the exit code and the stderr', async () => {
    const error = await run('sh', ['-c', 'echo progress; echo "manifest unknown" >&2; exit 3'], { env: clientEnv({}) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect((error as Error).message).toMatch(/^sh -c 'echo progress; .*'\n {2}exited with code 3\n--- stderr \(last 60 lines\) ---\nmanifest unknown\n--- stdout \(last 20 lines\) ---\nprogress$/);
  });

  it('kills a command that runs past its timeout', async () => {
    const error = await run('sleep', ['30'], { env: clientEnv({}), timeoutMs: 200 }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('timed out after 0.2 s and was killed');
  });

  it('passes only the environment it is given', async () => {
    const { stdout } = await run('sh', ['-c', 'echo "${HOME:-unset} ${DOCKER_HOST:-unset}"'], { env: clientEnv({ HOME: '/nowhere' }) });
    expect(stdout.trim()).toBe('/nowhere unset');
  });

  it('names the Debian package of a missing tool', () => {
    expect(() => requireTool('nimbus-no-such-tool', 'nimbus-pkg')).toThrow('nimbus-no-such-tool is not installed (not on PATH). Install the Debian package: apt-get install -y nimbus-pkg');
    expect(requireTool('sh', 'dash')).toMatch(/\/sh$/);
  });
});
