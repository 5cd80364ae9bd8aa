import { request } from 'node:http';

/**
 * GET `path` on `url` with a Host header of the client's choosing, and X-Forwarded-* that
 * name yet another host (fetch does not let a caller set Host); resolves with the
 * WWW-Authenticate challenge of the answer.
 */
export function challengeWithHost(url: string, path: string, host: string): Promise<string | undefined> {
  const target = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      headers: { host, 'x-forwarded-host': 'forged.example', 'x-forwarded-proto': 'https', forwarded: 'host=forged.example;proto=https' },
    }, (res) => {
      res.resume();
      resolve(res.headers['www-authenticate']);
    });
    req.on('error', reject);
    req.end();
  });
}
