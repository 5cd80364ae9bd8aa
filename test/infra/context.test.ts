import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { CONTEXT_KEYS, registryPropsFromContext, stackNameFromContext } from '../../infra/context';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('cdk.json context', () => {
  it('lists every key, empty by default, and the README documents each', async () => {
    const cdkJson = JSON.parse(await readFile(`${root}cdk.json`, 'utf8')) as { app: string; context: Record<string, string> };
    const readme = await readFile(`${root}README.md`, 'utf8');
    for (const key of Object.values(CONTEXT_KEYS)) {
      expect(cdkJson.context, key).toHaveProperty([key]);
      expect(readme, key).toContain(`\`${key}\``);
    }
    const app = new App({ context: cdkJson.context });
    expect(registryPropsFromContext(app.node)).toEqual({});
    expect(stackNameFromContext(app.node)).toBe('Nimbus');
  });

  it('builds the domain from its keys and refuses half a hosted zone', () => {
    const withZone = new App({ context: { 'nimbus:domainName': 'r.example.com', 'nimbus:hostedZoneId': 'Z1', 'nimbus:hostedZoneName': 'example.com' } });
    expect(registryPropsFromContext(withZone.node)).toEqual({ domain: { domainName: 'r.example.com', hostedZone: { hostedZoneId: 'Z1', zoneName: 'example.com' } } });
    const halfZone = new App({ context: { 'nimbus:domainName': 'r.example.com', 'nimbus:hostedZoneId': 'Z1' } });
    expect(() => registryPropsFromContext(halfZone.node)).toThrow(/nimbus:hostedZoneName/);
    const noDomain = new App({ context: { 'nimbus:certificateArn': 'arn:aws:acm:eu-west-1:1:certificate/x' } });
    expect(() => registryPropsFromContext(noDomain.node)).toThrow(/need nimbus:domainName/);
  });

  it('reads the upload endpoint kind, session TTL and version retention, and refuses values out of range', () => {
    const app = new App({ context: { 'nimbus:uploadEndpoint': 'webFunction', 'nimbus:uploadSessionTtlSeconds': '3600', 'nimbus:noncurrentVersionDays': '14' } });
    expect(registryPropsFromContext(app.node)).toEqual({ uploadEndpoint: { kind: 'webFunction' }, uploadSessionTtlSeconds: 3600, noncurrentVersionDays: 14 });
    expect(() => registryPropsFromContext(new App({ context: { 'nimbus:uploadSessionTtlSeconds': 'a day' } }).node)).toThrow(/nimbus:uploadSessionTtlSeconds must be an integer/);
  });

  it('refuses a memory size Lambda does not offer', () => {
    const app = new App({ context: { 'nimbus:memorySize': '64' } });
    expect(() => registryPropsFromContext(app.node)).toThrow(/128 to 10240/);
  });
});
