import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEV_SETTINGS, devHelpText, readDevSettings } from '../../functions/dev/settings';

const readmePath = fileURLToPath(new URL('../../README.md', import.meta.url));

describe('npm run dev:aws settings', () => {
  it('uses PORT 5000 and starts its own emulators by default', () => {
    const settings = readDevSettings({});
    expect(settings).toMatchObject({ host: '127.0.0.1', port: 5000, endpoints: undefined, table: 'nimbus-dev', bucket: 'nimbus-dev' });
  });

  it('runs the upload endpoint through its task entry, its web function entry, or not at all', () => {
    expect(readDevSettings({}).uploadEndpoint).toBe('task');
    expect(readDevSettings({ NIMBUS_DEV_UPLOAD_ENDPOINT: 'web-function' }).uploadEndpoint).toBe('web-function');
    expect(readDevSettings({ NIMBUS_DEV_UPLOAD_ENDPOINT: 'off' }).uploadEndpoint).toBeUndefined();
    expect(() => readDevSettings({ NIMBUS_DEV_UPLOAD_ENDPOINT: 'fargate' })).toThrow(/on, web-function or off/);
  });

  it('refuses one emulator endpoint without the other, naming both', () => {
    expect(() => readDevSettings({ NIMBUS_DEV_S3_ENDPOINT: 'http://127.0.0.1:1' })).toThrow(/NIMBUS_DEV_S3_ENDPOINT and NIMBUS_DEV_DYNAMODB_ENDPOINT/);
  });

  it('passes the function its public URL: NIMBUS_PUBLIC_URL, required when HOST listens everywhere', () => {
    expect(readDevSettings({}).publicUrl).toBeUndefined();
    expect(readDevSettings({ HOST: '0.0.0.0', NIMBUS_PUBLIC_URL: 'http://dev.example:5000/' }).publicUrl).toBe('http://dev.example:5000');
    expect(() => readDevSettings({ HOST: '0.0.0.0' })).toThrow(/set NIMBUS_PUBLIC_URL/);
    expect(() => readDevSettings({ NIMBUS_PUBLIC_URL: 'dev.example' })).toThrow(/NIMBUS_PUBLIC_URL must be/);
  });

  it('lists every setting in --help and in the README', async () => {
    const readme = await readFile(readmePath, 'utf8');
    const help = devHelpText();
    for (const [name, fallback] of DEV_SETTINGS) {
      expect(help).toContain(name);
      const documented = fallback.startsWith('(') ? `| \`${name}\` | ${fallback} |` : `| \`${name}\` | \`${fallback}\` |`;
      expect(readme, name).toContain(documented);
    }
  });
});
