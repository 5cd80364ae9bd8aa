import { expect, it } from 'vitest';
import { startHttpServer } from '../../functions/adapters/node-http/server';
import { CLIENT_ADDRESS_HEADER } from '../../functions/core/http/headers';

it('the node server stamps the peer address on each request, overwriting a client-sent one', async () => {
  const server = await startHttpServer({
    fetch: async (request) => new Response(request.headers.get(CLIENT_ADDRESS_HEADER)),
    logger: { log() {} },
    host: '127.0.0.1',
    port: 0,
  });
  try {
    const response = await fetch(`${server.url}/v2/`, { headers: { [CLIENT_ADDRESS_HEADER]: '203.0.113.9' } });
    expect(await response.text()).toBe('127.0.0.1');
  } finally {
    await server.close();
  }
});
