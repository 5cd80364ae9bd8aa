import { expect } from 'vitest';
import { getJson, layoutBlobs, layoutDirFor, layoutRef, sha256, type E2EContext, type PushedImage } from '../e2e-context';

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
 * Everything this scenario pushes (an image, a two-platform index, an image in a repository
 * nested under another's name, an image docker pushed) is listed the same in the catalog
 * and tag lists (plain HTTP) after a restart on the same data, and pulls back digest for
 * digest. It pushes all of it itself, so it checks the same whatever ran before it.
 */
export async function catalogSurvivesRestart(ctx: E2EContext): Promise<void> {
  const { registry, skopeo, docker, images } = ctx;
  const { restart, multi } = images;
  const host = registry.host;
  const pushed: PushedImage[] = [
    { repository: 'e2e/restart', tag: 'v1', digest: await skopeo.copy(`oci:${restart.layoutDir}:v1`, `docker://${host}/e2e/restart:v1`, { preserveDigests: true }) },
    { repository: 'e2e/restart/nested/app', tag: 'v1', digest: await skopeo.copy(`oci:${restart.layoutDir}:v1`, `docker://${host}/e2e/restart/nested/app:v1`, { preserveDigests: true }) },
    { repository: 'e2e/restart-multi', tag: 'v1', digest: await skopeo.copy(`oci:${multi.layoutDir}:${multi.refName}`, `docker://${host}/e2e/restart-multi:v1`, { all: true, preserveDigests: true }) },
  ];
  expect(pushed.map((image) => image.digest)).toEqual([restart.manifest.digest, restart.manifest.digest, multi.index.digest]);
  const dockerName = `${host}/e2e/restart-docker:v1`;
  expect(await docker.load(restart.dockerArchive)).toContain(restart.archiveTag);
  await docker.tag(restart.archiveTag, dockerName);
  const dockerDigest = await docker.push(dockerName);
  pushed.push({ repository: 'e2e/restart-docker', tag: 'v1', digest: dockerDigest });

  const before = await listing(ctx);
  expect(before.catalog).toEqual([...before.catalog].sort());
  expect(before.catalog).toEqual(expect.arrayContaining(pushed.map((image) => image.repository)));
  for (const image of pushed) expect(before.tags[image.repository], image.repository).toEqual([image.tag]);

  await registry.restart();

  expect(await listing(ctx)).toEqual(before);
  for (const [index, image] of pushed.entries()) {
    const reference = `docker://${host}/${image.repository}:${image.tag}`;
    expect(sha256(await skopeo.inspectRaw(reference)), reference).toBe(image.digest);
    // A full pull: every blob is read back and checked against its digest.
    const pulledDir = await layoutDirFor(ctx, 'after-restart', String(index));
    expect(await skopeo.copy(reference, `oci:${pulledDir}:pulled`, { all: true, preserveDigests: true })).toBe(image.digest);
    expect(await layoutRef(pulledDir, 'pulled')).toBe(image.digest);
    const expected = image.repository === 'e2e/restart-multi' ? multi.digests : image.repository === 'e2e/restart-docker' ? undefined : restart.digests;
    if (expected) expect(await layoutBlobs(pulledDir), reference).toEqual([...expected].sort());
    else expect((await layoutBlobs(pulledDir)).length, reference).toBeGreaterThan(2);
  }

  // docker, which holds no copy of the image any more, pulls it again.
  await docker.removeImages(dockerName, restart.archiveTag);
  expect(await docker.imageNames()).not.toContain(dockerName);
  await docker.pull(dockerName);
  const pulled = await docker.inspectImage(dockerName);
  expect(pulled.Id).toBe(restart.config.digest);
  expect(pulled.RepoDigests).toContain(`${host}/e2e/restart-docker@${dockerDigest}`);
}
