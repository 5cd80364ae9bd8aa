import { describe, expect, it } from 'vitest';
import { readUploadServerSettings, UPLOAD_SERVER_SETTINGS, uploadServerHelpText } from '../../functions/upload-server/settings';

const REQUIRED = { NIMBUS_TABLE_NAME: 't', NIMBUS_BUCKET_NAME: 'b', NIMBUS_UPLOAD_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:k' };

describe('upload endpoint settings', () => {
  it('defaults to 16 MiB parts, a 15 s lease and no scale to zero', () => {
    expect(readUploadServerSettings(REQUIRED)).toMatchObject({
      host: '127.0.0.1', port: 8080, partSizeBytes: 16 * 1024 * 1024, leaseSeconds: 15, idleShutdown: undefined, emulator: false,
    });
  });

  it('names a missing required variable', () => {
    expect(() => readUploadServerSettings({ ...REQUIRED, NIMBUS_BUCKET_NAME: '' })).toThrow(/NIMBUS_BUCKET_NAME/);
  });

  it('refuses parts S3 would refuse', () => {
    expect(() => readUploadServerSettings({ ...REQUIRED, NIMBUS_PART_SIZE_MIB: '4' })).toThrow(/NIMBUS_PART_SIZE_MIB must be an integer from 5 to 512/);
  });

  it('needs the ECS service to scale to zero', () => {
    expect(() => readUploadServerSettings({ ...REQUIRED, NIMBUS_IDLE_SHUTDOWN_MINUTES: '15' })).toThrow(/NIMBUS_ECS_CLUSTER and NIMBUS_ECS_SERVICE/);
    expect(readUploadServerSettings({ ...REQUIRED, NIMBUS_IDLE_SHUTDOWN_MINUTES: '15', NIMBUS_ECS_CLUSTER: 'c', NIMBUS_ECS_SERVICE: 's' }).idleShutdown)
      .toEqual({ minutes: 15, cluster: 'c', service: 's' });
  });

  it('lists every setting in --help', () => {
    const help = uploadServerHelpText();
    for (const [name] of UPLOAD_SERVER_SETTINGS) expect(help).toContain(name);
  });
});
