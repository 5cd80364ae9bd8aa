import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack, Stage } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { buildSync } from 'esbuild';
import type { Construct } from 'constructs';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const BASE_IMAGE = 'public.ecr.aws/docker/library/node:22-alpine';

/** The listening port inside the container. */
export const UPLOAD_ENDPOINT_PORT = 8080;

/**
 * Node's official image and one bundled file: no RUN step, so an arm64 image builds on any
 * machine's docker without emulation, and no npm install at deploy time.
 */
const DOCKERFILE = `FROM ${BASE_IMAGE}
WORKDIR /app
COPY upload-server.mjs upload-server.mjs.map ./
USER node
ENV NODE_ENV=production HOST=0.0.0.0 PORT=${UPLOAD_ENDPOINT_PORT}
EXPOSE ${UPLOAD_ENDPOINT_PORT}
CMD ["node", "--enable-source-maps", "upload-server.mjs"]
`;

/**
 * The upload endpoint's container image (functions/upload-server/main.ts), bundled by the
 * esbuild in node_modules at synth time, like the function. Synth only stages the build
 * context (no Docker, no network); `cdk deploy` builds and pushes it, which needs Docker
 * (or CDK_DOCKER=podman/finch). Stacks synthesized without bundling (template tests) get a
 * placeholder image asset, as functions get a placeholder code asset.
 */
export function uploadEndpointImage(scope: Construct): ecs.ContainerImage {
  if (!Stack.of(scope).bundlingRequired) {
    return ecs.ContainerImage.fromAsset(join(repoRoot, 'infra/upload-endpoint-placeholder'), { platform: Platform.LINUX_ARM64 });
  }
  // The build context lives in the cloud assembly's own directory, which synth owns and replaces.
  const dir = join(Stage.of(scope)?.outdir ?? '.', 'upload-endpoint-build', scope.node.addr);
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'upload-server.mjs');
  buildSync({
    entryPoints: [join(repoRoot, 'functions/upload-server/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    // ESM bundles have no `require`; some CommonJS dependencies still call it.
    banner: { js: 'import{createRequire as __nimbusCreateRequire}from"node:module";const require=__nimbusCreateRequire(import.meta.url);' },
    logLevel: 'error',
  });
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  return ecs.ContainerImage.fromAsset(dir, { platform: Platform.LINUX_ARM64 });
}
