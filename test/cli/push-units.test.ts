import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from '../../cli/push/auth';
import { resolveCredentials } from '../../cli/push/credentials';
import { parseReference } from '../../cli/push/reference';
import { readDockerArchive } from '../../cli/push/source/docker-archive';
import { archiveFiles, directoryFiles } from '../../cli/push/source/model';
import { readOciLayout } from '../../cli/push/source/oci-layout';
import { readTarMembers } from '../../cli/push/source/tar-members';
import { buildOciImage, MiB, OCI_MANIFEST, writeDockerArchive } from '../../harness/oci-image';
import { corruptByte } from './push-fixture';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nimbus-push-units-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const noMeter = { add() {}, stop() {} };

describe('push references', () => {
  it('splits host, repository and tag or digest, and picks the scheme', () => {
    expect(parseReference('registry.example.com/team/app:1.0')).toEqual({
      host: 'registry.example.com', repository: 'team/app', reference: '1.0', origin: 'https://registry.example.com',
    });
    expect(parseReference('localhost:5000/app')).toMatchObject({ repository: 'app', reference: 'latest', origin: 'http://localhost:5000' });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`127.0.0.1:5000/a/b@${digest}`)).toMatchObject({ repository: 'a/b', reference: digest, origin: 'http://127.0.0.1:5000' });
    expect(parseReference('registry.example.com:8443/app:v1', { plainHttp: true }).origin).toBe('http://registry.example.com:8443');
    expect(parseReference('team/app:v1', { registry: 'https://nimbus.internal:8443' })).toMatchObject({ host: 'nimbus.internal:8443', repository: 'team/app', origin: 'https://nimbus.internal:8443' });
    expect(() => parseReference('team/app:v1')).toThrow(/does not name a registry host/);
    expect(() => parseReference('r.example/app@sha256:abc')).toThrow(/not a sha256 or sha512 digest/);
    expect(() => parseReference('r.example/app:bad tag')).toThrow(/not a valid tag/);
  });

  it('parses Bearer and Basic challenges', () => {
    expect(parseChallenge('Bearer realm="https://r.example/token",service="nimbus",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer', params: { realm: 'https://r.example/token', service: 'nimbus', scope: 'repository:a/b:pull,push' },
    });
    expect(parseChallenge('Basic realm="nimbus"')).toEqual({ scheme: 'basic', params: { realm: 'nimbus' } });
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe('push credentials', () => {
  it('prefers flags, then NIMBUS_USERNAME/NIMBUS_PASSWORD, then docker config, then a credential helper', async () => {
    const config = join(dir, 'docker');
    const bin = join(dir, 'bin');
    await mkdir(config, { recursive: true });
    await mkdir(bin, { recursive: true });
    await writeFile(join(config, 'config.json'), JSON.stringify({
      auths: {
        'https://r.example': { auth: Buffer.from('alice:secret:with:colons').toString('base64') },
        'tok.example': { auth: Buffer.from('bob:').toString('base64'), identitytoken: 'refresh-me' },
      },
      credHelpers: { 'helped.example': 'fake' },
    }));
    const helper = join(bin, 'docker-credential-fake');
    await writeFile(helper, '#!/bin/sh\nread host\n[ "$host" = helped.example ] && echo \'{"Username":"carol","Secret":"from-helper"}\' || exit 1\n');
    await chmod(helper, 0o755);
    const env = { DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH}` };

    expect(await resolveCredentials('r.example', { username: 'u', password: 'p' }, env)).toMatchObject({ username: 'u', source: '--username' });
    expect(await resolveCredentials('r.example', {}, { ...env, NIMBUS_USERNAME: 'e', NIMBUS_PASSWORD: 'q' })).toMatchObject({ username: 'e', password: 'q' });
    expect(await resolveCredentials('r.example', {}, env)).toMatchObject({ username: 'alice', password: 'secret:with:colons' });
    expect(await resolveCredentials('tok.example', {}, env)).toMatchObject({ username: 'bob', identityToken: 'refresh-me' });
    expect(await resolveCredentials('helped.example', {}, env)).toMatchObject({ username: 'carol', password: 'from-helper' });
    expect(await resolveCredentials('other.example', {}, env)).toBeUndefined();
    await expect(resolveCredentials('r.example', { username: 'u' }, env)).rejects.toThrow(/--username needs the password on stdin/);
    await expect(resolveCredentials('r.example', {}, { ...env, NIMBUS_USERNAME: 'e' })).rejects.toThrow(/set both NIMBUS_USERNAME and NIMBUS_PASSWORD/);
  });
});

describe('push sources', () => {
  it('chooses among several images of a layout by --source-tag, by REF tag, or asks', async () => {
    const layout = join(dir, 'two');
    const one = await buildOciImage(layout, { seed: 'units-one', layerSizes: [100] }, 'one');
    const other = await buildOciImage(join(dir, 'two-b'), { seed: 'units-two', layerSizes: [200] }, 'two');
    for (const name of await readdir(join(other.layoutDir, 'blobs', 'sha256'))) {
      await copyFile(join(other.layoutDir, 'blobs', 'sha256', name), join(layout, 'blobs', 'sha256', name));
    }
    const entry = (image: typeof one, name: string) => ({ ...image.manifest, annotations: { 'org.opencontainers.image.ref.name': name } });
    await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry(one, 'one'), entry(other, 'two')] }));
    const files = directoryFiles(layout, layout);
    expect((await readOciLayout(files, { sourceTag: 'two' })).manifests.at(-1)!.digest).toBe(other.manifest.digest);
    expect((await readOciLayout(files, { destinationTag: 'one' })).manifests.at(-1)!.digest).toBe(one.manifest.digest);
    await expect(readOciLayout(files, {})).rejects.toThrow(/holds 2 images \(one, two\): choose one with --source-tag NAME/);
    await expect(readOciLayout(files, { sourceTag: 'three' })).rejects.toThrow(/has no image named "three"; it has: one, two/);
  });

  it('reads a docker save tar in place, and refuses one whose layer does not match its diff id', async () => {
    const image = await buildOciImage(join(dir, 'docker-src'), { seed: 'units-docker', layerSizes: [3 * MiB] });
    const archive = join(dir, 'docker.tar');
    await writeDockerArchive(image, archive, ['example/app:1']);
    const members = await readTarMembers(createReadStream(archive), { inPlace: archive }, noMeter, archive);
    const plan = await readDockerArchive(archiveFiles(members, archive), {});
    expect(plan.blobs.map((blob) => blob.digest)).toEqual([image.config.digest, image.layers[0]!.diffId]);
    expect(plan.blobs.every((blob) => blob.path === archive)).toBe(true);
    expect(JSON.parse(plan.manifests[0]!.bytes.toString()).mediaType).toBe(OCI_MANIFEST);

    await corruptByte(archive, 2 * MiB);
    const damaged = await readTarMembers(createReadStream(archive), { inPlace: archive }, noMeter, archive);
    await expect(readDockerArchive(archiveFiles(damaged, archive), {})).rejects.toThrow(/has digest sha256:\w+ but the image config says sha256:\w+: the archive is corrupt/);
  });
});
