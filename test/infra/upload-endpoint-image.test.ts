import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { describe, expect, it } from 'vitest';
import { uploadEndpointImage } from '../../infra/constructs/upload-endpoint-image';

const run = promisify(execFile);

describe('upload endpoint container image', () => {
  it('stages a Dockerfile and a bundled entry that loads as an ES module and prints its settings', async () => {
    const app = new App();
    const stack = new Stack(app, 'ImageTest');
    const task = new ecs.FargateTaskDefinition(stack, 'Task');
    task.addContainer('C', { image: uploadEndpointImage(stack) });
    const assembly = app.synth();
    const manifest = JSON.parse(await readFile(join(assembly.directory, 'ImageTest.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; platform?: string } }>;
    };
    const [image] = Object.values(manifest.dockerImages);
    expect(image!.source.platform).toBe('linux/arm64');
    const context = join(assembly.directory, image!.source.directory);
    const dockerfile = await readFile(join(context, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM public\.ecr\.aws\/docker\/library\/node:22-alpine$/m);
    expect(dockerfile).not.toMatch(/^RUN /m); // builds for arm64 anywhere, no emulation, no network but the base image
    const { stdout } = await run(process.execPath, [join(context, 'upload-server.mjs'), '--help'], { timeout: 30_000 });
    expect(stdout).toContain('NIMBUS_PART_SIZE_MIB');
    expect(Template.fromStack(stack).toJSON()).toBeDefined();
  }, 60_000);
});
