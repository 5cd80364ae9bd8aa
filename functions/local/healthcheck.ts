import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isWildcardHost, originOf } from '../adapters/node/public-url';
import type { LocalSettings } from './settings';

/**
 * `--healthcheck` (the container image's HEALTHCHECK): asks this machine's server for
 * /healthz, with the same settings it was started with, and exits 0 when it answers 200.
 * Over TLS the certificate is not checked: this is the server's own liveness on its own
 * host, and its certificate names the host clients use, not necessarily this one.
 */
export async function healthcheck(settings: LocalSettings): Promise<number> {
  const host = isWildcardHost(settings.host) ? (settings.host.includes(':') ? '::1' : '127.0.0.1') : settings.host;
  const url = `${originOf(host, settings.port, settings.tls ? 'https' : 'http')}/healthz`;
  const request = settings.tls ? httpsRequest : httpRequest;
  const status = await new Promise<number>((resolve) => {
    const req = request(url, { method: 'GET', timeout: 5000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => {
      console.error(`nimbus healthcheck: ${url}: ${error.message}`);
      resolve(0);
    });
    req.end();
  });
  if (status !== 0 && status !== 200) console.error(`nimbus healthcheck: ${url} answered ${status}`);
  return status === 200 ? 0 : 1;
}
