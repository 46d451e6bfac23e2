/**
 * Which HTTP requests are provider calls: the provider's API hosts, and the
 * path shapes of the calls that cost money on them.
 */

/** What the net does with a provider request no SDK-level guard decided (`AGENTGUARD_UNGUARDED`). */
export type UnguardedMode = 'decide' | 'block' | 'warn';
export const UNGUARDED_MODES: readonly UnguardedMode[] = ['decide', 'block', 'warn'];

/** The engine's provider names the net can describe. */
export type NetProvider = 'openai' | 'anthropic' | 'bedrock';

/** A provider API call shape, recognised by its path. */
export type NetApi =
  | 'openai-chat'
  | 'openai-responses'
  | 'openai-completions'
  | 'openai-embeddings'
  | 'anthropic-messages'
  | 'bedrock-converse'
  | 'bedrock-converse-stream'
  | 'bedrock-invoke'
  | 'bedrock-invoke-stream';

/** A request to a provider endpoint, recognised. */
export interface ProviderEndpoint {
  provider: NetProvider;
  api: NetApi;
  /** `host[:port]` as matched. */
  host: string;
  /** Bedrock: the model id from the path; Azure deployments: the deployment name (the model when the body names none). */
  pathModel?: string;
}

/** One host the net watches: which providers' path shapes count there (all three when not restricted). */
export interface WatchedHost {
  /** Lower-case host name, or `*.suffix` for every subdomain of `suffix`. */
  host: string;
  /** Port to match, or undefined for any. */
  port?: number;
  providers: NetProvider[];
}

/**
 * The providers' public API hosts: OpenAI, Azure OpenAI (resource
 * subdomains), Anthropic, and the Bedrock runtime in every region (and its
 * FIPS endpoints).
 */
export const KNOWN_PROVIDER_HOSTS: readonly WatchedHost[] = [
  { host: 'api.openai.com', providers: ['openai'] },
  { host: '*.openai.azure.com', providers: ['openai'] },
  { host: '*.cognitiveservices.azure.com', providers: ['openai'] },
  { host: 'api.anthropic.com', providers: ['anthropic'] },
];
const BEDROCK_RUNTIME_HOST = /^bedrock-runtime(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;

const PROVIDERS: readonly NetProvider[] = ['openai', 'anthropic', 'bedrock'];

/**
 * Parses `AGENTGUARD_PROVIDER_HOSTS`: comma-separated `host[:port][=provider[+provider]]`
 * (e.g. `llm-proxy.internal=openai`, `127.0.0.1:8080`). A host without a
 * provider list is watched for all three APIs' path shapes.
 * @throws TypeError naming the bad entry.
 */
export function parseProviderHosts(value: string | undefined): WatchedHost[] {
  if (!value || !value.trim()) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [hostPort, list] = entry.split('=', 2) as [string, string | undefined];
      const m = /^(\*\.)?([a-z0-9.-]+|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/i.exec(hostPort.trim());
      if (!m) throw new TypeError(`${JSON.stringify(entry)}: expected host[:port][=provider], e.g. llm-proxy.internal:8443=openai`);
      const providers = list === undefined ? [...PROVIDERS] : list.split('+').map((p) => p.trim());
      for (const p of providers) {
        if (!(PROVIDERS as readonly string[]).includes(p))
          throw new TypeError(`${JSON.stringify(entry)}: unknown provider ${JSON.stringify(p)} (known: ${PROVIDERS.join(', ')})`);
      }
      const port = m[3] === undefined ? undefined : Number(m[3]);
      if (port !== undefined && (port < 1 || port > 65535)) throw new TypeError(`${JSON.stringify(entry)}: port out of range`);
      return { host: `${m[1] ?? ''}${m[2]!.toLowerCase()}`, ...(port !== undefined ? { port } : {}), providers: providers as NetProvider[] };
    });
}

/** The providers whose APIs `hostname:port` serves, per the watch list; empty when it is not a provider host. */
export function providersAt(hostname: string, port: number | undefined, extra: readonly WatchedHost[]): NetProvider[] {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (BEDROCK_RUNTIME_HOST.test(host)) return ['bedrock'];
  const found = new Set<NetProvider>();
  for (const w of [...KNOWN_PROVIDER_HOSTS, ...extra]) {
    const matches = w.host.startsWith('*.') ? host.endsWith(w.host.slice(1)) : host === w.host;
    if (matches && (w.port === undefined || w.port === port)) for (const p of w.providers) found.add(p);
  }
  return [...found];
}

/**
 * The provider call a request is, from its method, host and path; undefined
 * for anything else (model lists, files, batches, token counting... are not
 * priced calls and pass).
 */
export function matchEndpoint(method: string, url: URL, extra: readonly WatchedHost[]): ProviderEndpoint | undefined {
  if (method.toUpperCase() !== 'POST') return undefined;
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const providers = providersAt(url.hostname, port, extra);
  if (providers.length === 0) return undefined;
  const host = url.port ? `${url.hostname}:${url.port}` : url.hostname;
  const path = url.pathname.replace(/\/+$/, '');
  if (providers.includes('openai')) {
    // api.openai.com/v1/..., Azure /openai/v1/... and /openai/deployments/{name}/...
    const azure = /^\/openai\/deployments\/([^/]+)(\/.*)$/.exec(path);
    const rest = azure ? azure[2]! : path.replace(/^(?:\/openai)?(?:\/v1)?/, '');
    const pathModel = azure ? decodeURIComponent(azure[1]!) : undefined;
    const api = (
      {
        '/chat/completions': 'openai-chat',
        '/responses': 'openai-responses',
        '/completions': 'openai-completions',
        '/embeddings': 'openai-embeddings',
      } as const
    )[rest];
    if (api) return { provider: 'openai', api, host, ...(pathModel ? { pathModel } : {}) };
  }
  if (providers.includes('anthropic') && /^(?:\/v1)?\/messages$/.test(path)) return { provider: 'anthropic', api: 'anthropic-messages', host };
  if (providers.includes('bedrock')) {
    const m = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/.exec(path);
    if (m) {
      const api = (
        {
          converse: 'bedrock-converse',
          'converse-stream': 'bedrock-converse-stream',
          invoke: 'bedrock-invoke',
          'invoke-with-response-stream': 'bedrock-invoke-stream',
        } as const
      )[m[2] as 'converse'];
      return { provider: 'bedrock', api, host, pathModel: decodeURIComponent(m[1]!) };
    }
  }
  return undefined;
}
