import { describe, expect, it } from 'vitest';
import { serverOfStainlessClient, serverOfUrl } from '../../../instrumentations/common/server-address.js';

describe('server.address / server.port from a base URL', () => {
  it('host and port; the port from the scheme when the URL names none', () => {
    expect(serverOfUrl('https://api.openai.com/v1')).toEqual({ address: 'api.openai.com', port: 443 });
    expect(serverOfUrl('http://127.0.0.1:4010/v1')).toEqual({ address: '127.0.0.1', port: 4010 });
    expect(serverOfUrl('http://proxy.internal/openai')).toEqual({ address: 'proxy.internal', port: 80 });
    expect(serverOfUrl(new URL('https://[::1]:8443/'))).toEqual({ address: '::1', port: 8443 });
  });

  it('never the credentials, path or query a proxy URL may carry', () => {
    const server = serverOfUrl('https://user:secret@gateway.example:9443/v1?api-key=sk-123');
    expect(server).toEqual({ address: 'gateway.example', port: 9443 });
    expect(JSON.stringify(server)).not.toMatch(/secret|sk-123|v1/);
  });

  it('nothing for what is not an absolute http(s) URL', () => {
    for (const bad of ['', 'not a url', '/v1', 'unix:/tmp/sock', 'ftp://host/', undefined, 42, {}]) expect(serverOfUrl(bad)).toBeUndefined();
  });

  it('a URL read again gives the same server, and a caller changing its copy changes no other call', () => {
    const first = serverOfUrl('http://127.0.0.1:4011/v1')!;
    first.address = 'changed';
    first.port = 1;
    expect(serverOfUrl('http://127.0.0.1:4011/v1')).toEqual({ address: '127.0.0.1', port: 4011 });
    expect(serverOfUrl('not a url either')).toBeUndefined();
    expect(serverOfUrl('not a url either')).toBeUndefined();
    // More URLs than are kept parsed: each still reads right.
    for (let port = 5000; port < 5600; port++) expect(serverOfUrl(`http://h.example:${port}/`)).toEqual({ address: 'h.example', port });
    expect(serverOfUrl('http://127.0.0.1:4011/v1')).toEqual({ address: '127.0.0.1', port: 4011 });
  });

  it('a Stainless client: its baseURL; anything else: nothing', () => {
    expect(serverOfStainlessClient({ baseURL: 'https://api.anthropic.com' })).toEqual({ address: 'api.anthropic.com', port: 443 });
    expect(serverOfStainlessClient({})).toBeUndefined();
    expect(serverOfStainlessClient(null)).toBeUndefined();
    const throwing = Object.defineProperty({}, 'baseURL', {
      get() {
        throw new Error('no');
      },
    });
    expect(serverOfStainlessClient(throwing)).toBeUndefined();
  });
});
