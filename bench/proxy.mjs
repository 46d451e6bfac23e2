// (7) The least any proxy adds: a minimal HTTP forwarding proxy on loopback
// (one extra hop, no policy, no TLS), to compare with the in-process guard.
import { createServer, request } from 'node:http';

/** Starts a forwarding proxy to `targetUrl`; returns `{ url, close }`. */
export async function startForwardingProxy(targetUrl) {
  const target = new URL(targetUrl);
  const server = createServer((req, res) => {
    const upstream = request(
      { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
