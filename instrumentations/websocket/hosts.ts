/**
 * The provider hosts whose websocket endpoints no guard decides: OpenAI's
 * Realtime API and the Responses API's websocket mode (`api.openai.com`), and
 * the same APIs on Azure OpenAI / Azure AI Foundry. More hosts come from
 * `AGENTGUARD_PROVIDER_HOSTS` (the list the HTTP safety net reads) or the
 * `hosts` option.
 */

/** Hosts matched exactly, or by suffix when written `*.suffix`. */
export const DEFAULT_WEBSOCKET_HOSTS: readonly string[] = ['api.openai.com', '*.openai.azure.com', '*.cognitiveservices.azure.com', '*.services.ai.azure.com'];

/** One watched host: a name (or `*.suffix`), and a port when one was given. */
export interface WatchedWebSocketHost {
  host: string;
  port?: number;
}

/**
 * Parses `host[:port][=provider[+provider]]` entries, comma-separated (the form
 * of `AGENTGUARD_PROVIDER_HOSTS`; the provider part is not needed here and is
 * ignored). Throws a `TypeError` naming the bad entry.
 */
export function parseWebSocketHosts(value: string | undefined): WatchedWebSocketHost[] {
  const out: WatchedWebSocketHost[] = [];
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    out.push(parseOne(entry.split('=')[0]!.trim(), entry));
  }
  return out;
}

function parseOne(hostPort: string, entry: string): WatchedWebSocketHost {
  const m = /^(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i.exec(hostPort);
  if (!m) throw new TypeError(`entry "${entry}" is not host[:port][=provider], e.g. llm.internal:8443=openai`);
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new TypeError(`entry "${entry}" has port ${port}, expected 1-65535`);
  return { host: `${m[1] ?? ''}${m[2]!.toLowerCase()}`, ...(port !== undefined ? { port } : {}) };
}

/** Whether `url` (a websocket URL, `ws:`/`wss:`, or `http(s):` as some clients accept) goes to one of `hosts`. */
export function isWatchedUrl(url: URL, hosts: readonly WatchedWebSocketHost[]): boolean {
  const name = url.hostname.toLowerCase();
  const port = url.port ? Number(url.port) : url.protocol === 'wss:' || url.protocol === 'https:' ? 443 : 80;
  return hosts.some((h) => (h.port === undefined || h.port === port) && (h.host.startsWith('*.') ? name.endsWith(h.host.slice(1)) : name === h.host));
}

/** Whether `url` is the Responses API's websocket mode (`…/responses`), whose calls the frame guard decides. */
export function isResponsesUrl(url: URL): boolean {
  return /\/responses\/?$/.test(url.pathname);
}

/** What the connection is, for the error: named by the API its path serves. */
export function transportOf(url: URL): string {
  if (/\/realtime(?:\/|$)/.test(url.pathname)) return 'OpenAI Realtime API websocket';
  if (/\/responses(?:\/|$)/.test(url.pathname)) return 'OpenAI Responses API websocket transport (e.g. the OpenAI Agents SDK websocket mode)';
  return 'provider websocket';
}
