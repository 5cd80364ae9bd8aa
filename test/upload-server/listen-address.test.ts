import { describe, expect, it } from 'vitest';
import { parseListenAddress } from '../../functions/upload-server/listen-address';

describe('where a Lambda web function listens (AWS_LAMBDA_HTTP_ENDPOINT)', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['0.0.0.0:3000', { host: '0.0.0.0', port: 3000 }],
    ['localhost:9001', { host: 'localhost', port: 9001 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    ['http://127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['http://[::]:8080/', { host: '::', port: 8080 }],
    [' 127.0.0.1:8080\n', { host: '127.0.0.1', port: 8080 }],
    ['8080', { host: '0.0.0.0', port: 8080 }],
  ])('reads %j', (value, expected) => {
    expect(parseListenAddress(value)).toEqual(expected);
  });

  it.each([
    [undefined, /is not set/],
    ['', /is not set/],
    ['127.0.0.1', /must be host:port/],
    ['127.0.0.1:0', /no valid port/],
    ['127.0.0.1:99999', /host:port/],
    ['http://127.0.0.1:8080/path', /must be host:port/],
    ['0', /no valid port/],
  ])('refuses %j with a message that says what is wrong', (value, message) => {
    expect(() => parseListenAddress(value)).toThrow(message);
  });
});
