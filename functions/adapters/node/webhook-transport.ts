import { lookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressRefusal, classifyAddress, type AddressPolicy } from '../../core/events/addresses';
import type { HostResolver, WebhookTransport } from '../../core/events/ports';

/** Every address a host resolves to (the add-time check). */
export const resolveHost: HostResolver = (host) => new Promise((resolve, reject) => {
  lookup(host, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses.map((each) => each.address))));
});

/**
 * A DNS lookup that refuses addresses the policy forbids: the connection goes to an address
 * that was checked, so a name re-pointed at 169.254.169.254 after the webhook was added (or
 * between two lookups: DNS rebinding) is refused at delivery.
 */
function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 4);
      const refused = addresses.map((each) => addressRefusal(each.address, policy)).find((why) => why !== undefined);
      if (refused) return callback(Object.assign(new Error(`refused: ${hostname} resolves to ${refused}`), { code: 'ENIMBUSREFUSED' }), '', 4);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/**
 * Webhook POSTs over node:http(s): no redirects followed, the whole exchange bounded by the
 * timeout, and the answer's body never read (only its status counts), so a slow or hostile
 * receiver costs at most the timeout.
 */
export function nodeWebhookTransport(policy: AddressPolicy): WebhookTransport {
  return {
    post(target, headers, body, timeoutMs) {
      const url = new URL(target);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (classifyAddress(host) !== undefined) {
        const refused = addressRefusal(host, policy);
        if (refused) return Promise.reject(new Error(`refused: ${refused}`));
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise<number>((resolve, reject) => {
        const request = send(url, {
          method: 'POST', lookup: guardedLookup(policy), agent: false,
          headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        }, (response) => {
          clearTimeout(timer);
          resolve(response.statusCode ?? 0);
          response.destroy();
        });
        const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        request.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        request.end(body);
      });
    },
  };
}
