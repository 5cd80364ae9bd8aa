import { expect } from 'vitest';
import { REQUEST_TARGET_HEADER } from '../../../functions/core/http/headers';
import type { Answer, HostileCase } from './cases';
import type { World } from './world';

export interface Received {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

/**
 * The case as a web Request for a registry in process. The target travels in
 * REQUEST_TARGET_HEADER as every transport sends it: the URL's own path has already been
 * through the WHATWG parser, which resolves the very segments these cases are made of.
 */
export function inProcessRequest(row: HostileCase, world: World): Request {
  const target = row.target(world);
  const body = row.body?.(world);
  const bytes = body === undefined ? undefined : typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const headers = new Headers(row.headers);
  headers.set(REQUEST_TARGET_HEADER, target);
  // What any client on the wire states, and what a transport hands on.
  if (bytes) headers.set('content-length', String(bytes.byteLength));
  return new Request(`http://registry.test${target}`, { method: row.method, headers, ...(bytes ? { body: bytes as Uint8Array<ArrayBuffer> } : {}) });
}

/** The case's exact bytes on the wire: its own `raw` bytes, or built from its fields. */
export function wireRequest(row: HostileCase, world: World, host: string): Buffer {
  if (row.raw) return Buffer.from(row.raw(world, host), 'latin1');
  const body = row.body?.(world);
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const lines = [`${row.method} ${row.target(world)} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of Object.entries(row.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${bytes.byteLength}`);
  lines.push('Connection: close', '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), bytes]);
}

/** Asserts the answer: its status, and its spec error code or API Gateway's message. HEAD on the wire has no body to read. */
export function expectAnswer(received: Received, expected: Answer, options: { bodyless?: boolean } = {}): void {
  const context = `${received.status} ${received.body.slice(0, 400)}`;
  expect(received.status, context).toBe(expected.status);
  if (options.bodyless) return;
  if (expected.code) {
    expect(received.contentType, context).toMatch(/^application\/json/);
    const error = (JSON.parse(received.body) as { errors: { code: string; message: string }[] }).errors[0];
    expect(error?.code, context).toBe(expected.code);
    expect(error?.message, context).toBeTruthy();
    expect(received.body, 'no stack trace').not.toMatch(/\bat .*\.ts:\d+/);
  }
  if (expected.message) expect(JSON.parse(received.body), context).toEqual({ message: expected.message });
}
