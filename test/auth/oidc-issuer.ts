import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** A CI-style OIDC issuer on 127.0.0.1: discovery document, JWKS, and ID tokens it signs. */
export interface LocalIssuer {
  issuer: string;
  /** Requests served, by path, to check caching. */
  hits: Map<string, number>;
  /** How the JWKS endpoint behaves: serve keys, never answer (fetch timeout), or fail with 500. */
  jwksMode: 'serve' | 'hang' | 'fail';
  idToken(claims: Record<string, unknown>, options?: { audience?: string; expiresInSeconds?: number; issuer?: string; nowSeconds?: number }): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<LocalIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'ci-key-1', alg: 'RS256', use: 'sig' };
  const hits = new Map<string, number>();
  let issuer = '';
  const state: { jwksMode: LocalIssuer['jwksMode'] } = { jwksMode: 'serve' };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (path === '/jwks') {
      if (state.jwksMode === 'hang') return; // left open until close()
      if (state.jwksMode === 'fail') return res.writeHead(500).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    hits,
    get jwksMode() { return state.jwksMode; },
    set jwksMode(mode) { state.jwksMode = mode; },
    async idToken(claims, options = {}) {
      const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'ci-key-1', typ: 'JWT' })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? 'nimbus-test')
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresInSeconds ?? 300))
        .sign(privateKey as CryptoKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
