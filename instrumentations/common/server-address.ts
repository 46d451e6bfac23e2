/**
 * `server.address` / `server.port` of a call, read from the client that sends
 * it: the host and port of its base URL (the port from the scheme when the URL
 * names none). Never the path or query, which a proxy URL may use for keys.
 */

/** Where a call is sent. */
export interface ServerAddress {
  address: string;
  port: number;
}

const DEFAULT_PORTS: Record<string, number> = { 'https:': 443, 'http:': 80 };

/**
 * Parsed servers by URL text: a client sends every call to the same base URL,
 * and parsing it (`new URL`) is the costliest step of reading the server.
 * Bounded: cleared when full, so a caller cycling through URLs only re-parses.
 */
const parsedServers = new Map<string, ServerAddress | null>();
const PARSED_SERVERS_MAX = 256;

/** The server of an absolute http(s) URL; undefined for anything else. */
export function serverOfUrl(url: unknown): ServerAddress | undefined {
  if (typeof url !== 'string' && !(url instanceof URL)) return undefined;
  const text = String(url);
  let server = parsedServers.get(text);
  if (server === undefined) {
    server = parseServer(text) ?? null;
    if (parsedServers.size >= PARSED_SERVERS_MAX) parsedServers.clear();
    parsedServers.set(text, server);
  }
  // A copy: the cached value is shared by every call to this URL.
  return server ? { ...server } : undefined;
}

function parseServer(url: string): ServerAddress | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const fallback = DEFAULT_PORTS[parsed.protocol];
  if (fallback === undefined || !parsed.hostname) return undefined;
  return { address: unbracketed(parsed.hostname), port: parsed.port ? Number(parsed.port) : fallback };
}

/** The server of a Stainless SDK client (`openai`, `@anthropic-ai/sdk`): its `baseURL`. */
export function serverOfStainlessClient(client: unknown): ServerAddress | undefined {
  if (!client || typeof client !== 'object') return undefined;
  try {
    return serverOfUrl((client as { baseURL?: unknown }).baseURL);
  } catch {
    return undefined;
  }
}

/** `[::1]` → `::1`: the attribute holds the address, not the URL spelling. */
function unbracketed(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
