import { serverOfUrl, type ServerAddress } from '../common/server-address.js';

/**
 * `server.address` / `server.port` of a Bedrock Runtime client, read once per
 * client from its resolved configuration: a custom `endpoint` as given;
 * otherwise the URL its endpoint rule set gives for the region (FIPS and
 * dual-stack included), falling back to `bedrock-runtime.{region}.amazonaws.com:443`.
 * Undefined when the client's configuration cannot be read; never throws.
 */
export function bedrockServerOf(client: unknown): Promise<ServerAddress | undefined> {
  if (!client || typeof client !== 'object') return Promise.resolve(undefined);
  let known = SERVERS.get(client);
  if (!known) {
    known = resolve(client).catch(() => undefined);
    SERVERS.set(client, known);
  }
  return known;
}

const SERVERS = new WeakMap<object, Promise<ServerAddress | undefined>>();

interface ClientConfigLike {
  endpoint?: unknown;
  isCustomEndpoint?: unknown;
  region?: unknown;
  useFipsEndpoint?: unknown;
  useDualstackEndpoint?: unknown;
  endpointProvider?: unknown;
}

async function resolve(client: object): Promise<ServerAddress | undefined> {
  const config = (client as { config?: ClientConfigLike }).config;
  if (!config || typeof config !== 'object') return undefined;
  if (typeof config.endpoint === 'function') {
    const endpoint = (await (config.endpoint as () => Promise<unknown>)()) as { hostname?: unknown; port?: unknown; protocol?: unknown } | undefined;
    if (endpoint && typeof endpoint.hostname === 'string' && endpoint.hostname) {
      const port = typeof endpoint.port === 'number' ? endpoint.port : endpoint.protocol === 'http:' ? 80 : 443;
      return { address: endpoint.hostname, port };
    }
  }
  const region = await value(config.region);
  if (typeof region !== 'string' || !region) return undefined;
  if (typeof config.endpointProvider === 'function') {
    try {
      const params = {
        Region: region,
        UseFIPS: (await value(config.useFipsEndpoint)) === true,
        UseDualStack: (await value(config.useDualstackEndpoint)) === true,
      };
      const resolved = (config.endpointProvider as (p: unknown, ctx?: unknown) => { url?: unknown })(params, {});
      const server = serverOfUrl(resolved?.url instanceof URL ? resolved.url.href : resolved?.url);
      if (server) return server;
    } catch {
      // An SDK whose rule set wants other parameters: the regional default below.
    }
  }
  return { address: `bedrock-runtime.${region}.amazonaws.com`, port: 443 };
}

/** A config value or provider (the SDK resolves most settings to async functions). */
async function value(v: unknown): Promise<unknown> {
  return typeof v === 'function' ? await (v as () => unknown)() : v;
}
