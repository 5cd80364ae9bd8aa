import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, Stage } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { bundleEntry, repoRoot } from './bundle-entry';

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
  bundleEntry('functions/upload-server/main.ts', outfile, 'node22');
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  return ecs.ContainerImage.fromAsset(dir, { platform: Platform.LINUX_ARM64 });
}
