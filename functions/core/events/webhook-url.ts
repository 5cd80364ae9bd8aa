import { addressRefusal, classifyAddress, type AddressPolicy } from './addresses';
import type { HostResolver } from './ports';

/**
 * Why a webhook URL is refused, or undefined when it may be used: http(s) only, no
 * credentials in it, and every address its host resolves to allowed by the policy. Checked
 * when a webhook is added, and again by the transport on every delivery (DNS can change).
 */
export async function webhookUrlRefusal(text: string, policy: AddressPolicy, resolve: HostResolver): Promise<string | undefined> {
  if (text.length > 2048 || !URL.canParse(text)) return 'the webhook URL is not an absolute URL';
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `webhook URLs are http or https, not ${url.protocol.slice(0, 16)}`;
  if (url.username || url.password) return 'put credentials in a header (--header Authorization=...), not in the webhook URL';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (classifyAddress(host) !== undefined) return addressRefusal(host, policy);
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return `the webhook host ${host.slice(0, 253)} does not resolve`;
  }
  if (addresses.length === 0) return `the webhook host ${host.slice(0, 253)} does not resolve`;
  for (const address of addresses) {
    const refusal = addressRefusal(address, policy);
    if (refusal) return `${host.slice(0, 253)} resolves to ${refusal}`;
  }
  return undefined;
}
