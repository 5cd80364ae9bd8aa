import { describe, expect, it } from 'vitest';
import { addressRefusal, classifyAddress } from '../../functions/core/events/addresses';
import { DEFAULT_BACKOFF, retryDelay } from '../../functions/core/events/backoff';
import { signatureHeader, verifySignature } from '../../functions/core/events/signing';
import { webhookUrlRefusal } from '../../functions/core/events/webhook-url';
import { cloudEvent, EVENT_TYPES } from '../../functions/core/events/cloud-events';
import { createHmac } from 'node:crypto';

describe('Nimbus-Signature', () => {
  const body = JSON.stringify({ hello: 'world' });
  const now = 1_800_000_000_000;

  it('is HMAC-SHA256 over "<t>.<body>", as a receiver recomputes it with node:crypto', async () => {
    const header = await signatureHeader('s3cret-s3cret-s3cret', body, now);
    const t = Math.floor(now / 1000);
    const expected = createHmac('sha256', 's3cret-s3cret-s3cret').update(`${t}.${body}`).digest('hex');
    expect(header).toBe(`t=${t},v1=${expected}`);
    expect(await verifySignature('s3cret-s3cret-s3cret', body, header, now)).toBe(true);
  });

  it('fails for another secret, a changed body, a changed timestamp, or a stale one', async () => {
    const header = await signatureHeader('secret-one-secret', body, now);
    expect(await verifySignature('secret-two-secret', body, header, now)).toBe(false);
    expect(await verifySignature('secret-one-secret', `${body} `, header, now)).toBe(false);
    const t = Math.floor(now / 1000);
    expect(await verifySignature('secret-one-secret', body, header.replace(`t=${t}`, `t=${t + 1}`), now)).toBe(false);
    expect(await verifySignature('secret-one-secret', body, header, now + 301_000)).toBe(false);
    expect(await verifySignature('secret-one-secret', body, 'v1=abc', now)).toBe(false);
  });
});

describe('webhook address guard', () => {
  it.each([
    ['169.254.169.254', 'metadata'], ['169.254.170.2', 'metadata'], ['169.254.1.1', 'link-local'], ['fd00:ec2::254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'], ['::ffff:a9fe:a9fe', 'metadata'], ['[::ffff:a9fe:a9fe]', 'metadata'], ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['::169.254.169.254', 'metadata'], ['fe80::1%eth0', 'link-local'], ['fe80::1', 'link-local'],
    ['127.0.0.1', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'], ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['192.168.1.1', 'private'], ['fd12:3456::1', 'private'], ['100.64.0.1', 'private'],
    ['8.8.8.8', 'public'], ['2001:4860:4860::8888', 'public'], ['172.32.0.1', 'public'], ['224.0.0.1', 'multicast'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('is not fooled by malformed addresses', () => {
    for (const text of ['1.2.3', '256.1.1.1', '01.2.3.4', '1::2::3', '12345::', 'example.com', '::ffff:1.2.3.999']) expect(classifyAddress(text), text).toBeUndefined();
  });

  it('refuses link-local and metadata by default, loopback and private only when restricted to public', () => {
    expect(addressRefusal('169.254.169.254', 'private')).toMatch(/metadata.*NIMBUS_WEBHOOK_ADDRESSES=any/);
    expect(addressRefusal('169.254.169.254', 'any')).toBeUndefined();
    expect(addressRefusal('127.0.0.1', 'private')).toBeUndefined();
    expect(addressRefusal('10.0.0.1', 'private')).toBeUndefined();
    expect(addressRefusal('10.0.0.1', 'public')).toMatch(/private/);
    expect(addressRefusal('::1', 'public')).toMatch(/loopback/);
    expect(addressRefusal('8.8.8.8', 'public')).toBeUndefined();
  });

  it('checks URLs: scheme, credentials, literal addresses in any spelling, and every address a name resolves to', async () => {
    const dns = (table: Record<string, string[]>) => async (host: string) => {
      if (!table[host]) throw new Error('ENOTFOUND');
      return table[host];
    };
    const resolve = dns({ 'ci.internal': ['10.0.0.5'], 'sneaky.example': ['93.184.216.34', '169.254.169.254'], 'public.example': ['93.184.216.34'] });
    expect(await webhookUrlRefusal('http://169.254.169.254/latest/meta-data', 'private', resolve)).toMatch(/metadata/);
    // The URL parser turns decimal, hex and short forms into dotted quads before the check.
    for (const url of ['http://2852039166/', 'http://0xa9fea9fe/', 'http://169.254.43518/', 'http://[::ffff:169.254.169.254]/', 'http://[fd00:ec2::254]/']) {
      expect(await webhookUrlRefusal(url, 'private', resolve), url).toMatch(/metadata/);
    }
    expect(await webhookUrlRefusal('http://sneaky.example/hook', 'private', resolve)).toMatch(/sneaky\.example resolves to 169\.254\.169\.254/);
    expect(await webhookUrlRefusal('http://ci.internal:8080/hook', 'private', resolve)).toBeUndefined();
    expect(await webhookUrlRefusal('http://ci.internal:8080/hook', 'public', resolve)).toMatch(/private/);
    expect(await webhookUrlRefusal('https://public.example/hook', 'public', resolve)).toBeUndefined();
    expect(await webhookUrlRefusal('http://nowhere.example/', 'private', resolve)).toMatch(/does not resolve/);
    expect(await webhookUrlRefusal('file:///etc/passwd', 'any', resolve)).toMatch(/http or https/);
    expect(await webhookUrlRefusal('http://user:pw@public.example/', 'any', resolve)).toMatch(/credentials/);
    expect(await webhookUrlRefusal('not a url', 'any', resolve)).toMatch(/absolute URL/);
  });
});

describe('retry backoff', () => {
  it('doubles from the base up to the cap, then dead-letters after the last attempt', () => {
    const policy = { baseMs: 1000, maxMs: 8000, maxAttempts: 6 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(policy, n))).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(retryDelay(policy, 6)).toBeUndefined();
  });

  it('by default keeps retrying for hours', () => {
    let total = 0;
    for (let n = 1; retryDelay(DEFAULT_BACKOFF, n) !== undefined; n++) total += retryDelay(DEFAULT_BACKOFF, n)!;
    expect(total / 3_600_000).toBeGreaterThan(10);
    expect(retryDelay(DEFAULT_BACKOFF, 30)).toBeUndefined();
  });
});

describe('CloudEvents', () => {
  it('are structured CloudEvents 1.0 with stable types and no undefined fields', () => {
    const event = cloudEvent(EVENT_TYPES.manifestPushed, { repository: 'team/app', digest: 'sha256:ab', tag: 'v1', actor: undefined }, 0, 'id-1');
    expect(event).toEqual({
      specversion: '1.0', id: 'id-1', source: '/nimbus', type: 'io.nimbus.manifest.pushed', subject: 'team/app',
      time: '1970-01-01T00:00:00.000Z', datacontenttype: 'application/json', data: { repository: 'team/app', digest: 'sha256:ab', tag: 'v1' },
    });
  });
});
