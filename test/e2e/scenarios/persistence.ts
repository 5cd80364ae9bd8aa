import { expect } from 'vitest';
import { getJson, layoutBlobs, layoutDirFor, layoutRef, sha256, type E2EContext } from '../e2e-context';

interface Listing {
  catalog: string[];
  tags: Record<string, string[]>;
}

async function listing(ctx: E2EContext): Promise<Listing> {
  const { repositories } = await getJson<{ repositories: string[] }>(ctx.registry, '/v2/_catalog');
  const tags: Record<string, string[]> = {};
  for (const repository of repositories) {
    const body = await getJson<{ name: string; tags: string[] | null }>(ctx.registry, `/v2/${repository}/tags/list`);
    expect(body.name).toBe(repository);
    tags[repository] = body.tags ?? [];
  }
  return { catalog: repositories, tags };
}

/**
 * The catalog and tag lists (plain HTTP) show everything the clients pushed, and after a
 * restart on the same data everything is listed the same and pulls back digest for digest.
 */
export async function catalogSurvivesRestart(ctx: E2EContext): Promise<void> {
  const { registry, skopeo, images } = ctx;
  // Pushed here, so this scenario never passes on an empty registry.
  const digest = await skopeo.copy(`oci:${images.restart.layoutDir}:v1`, `docker://${registry.host}/e2e/restart:v1`, { preserveDigests: true });
  expect(digest).toBe(images.restart.manifest.digest);
  ctx.pushed.push({ repository: 'e2e/restart', tag: 'v1', digest });

  const before = await listing(ctx);
  expect(before.catalog).toEqual([...before.catalog].sort());
  expect(before.catalog).toEqual(expect.arrayContaining([...new Set(ctx.pushed.map((image) => image.repository))]));
  for (const image of ctx.pushed) expect(before.tags[image.repository], image.repository).toContain(image.tag);

  await registry.restart();

  expect(await listing(ctx)).toEqual(before);
  const pulledDirs: string[] = [];
  for (const [index, image] of ctx.pushed.entries()) {
    const reference = `docker://${registry.host}/${image.repository}:${image.tag}`;
    expect(sha256(await skopeo.inspectRaw(reference)), reference).toBe(image.digest);
    // A full pull: every blob is read back and checked against its digest.
    const pulledDir = await layoutDirFor(ctx, 'after-restart', String(index));
    pulledDirs.push(pulledDir);
    expect(await skopeo.copy(reference, `oci:${pulledDir}:pulled`, { all: true, preserveDigests: true })).toBe(image.digest);
    expect(await layoutRef(pulledDir, 'pulled')).toBe(image.digest);
    expect((await layoutBlobs(pulledDir)).length).toBeGreaterThan(2);
  }
  expect(await layoutBlobs(pulledDirs.at(-1)!)).toEqual([...images.restart.digests].sort());

  // docker, which holds no copy of the image any more, pulls the 50 MiB image again.
  const big = ctx.pushed.find((image) => image.repository === 'e2e/docker');
  if (big) {
    const name = `${registry.host}/e2e/docker:big`;
    await ctx.docker.removeImages(name);
    await ctx.docker.pull(name);
    const pulled = await ctx.docker.inspectImage(name);
    expect(pulled.Id).toBe(images.big.config.digest);
    expect(pulled.RepoDigests).toContain(`${registry.host}/e2e/docker@${big.digest}`);
  }
}
