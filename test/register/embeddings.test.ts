import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { agentguardEnv, allText, callResults, chainsOnDisk, cli, decisionsOf, PROMPT, runApp, useFakeProvider, type Workspace } from '../helpers/register.js';

// `openai.embeddings.create` in an unmodified app under `--require` / `--import agentguard-spend/register`.

const { fake, workspace } = useFakeProvider();
let ws: Workspace | undefined;

const LARGE = 'text-embedding-3-large';
const SMALL = 'text-embedding-3-small';

describe.each(['cjs', 'esm'] as const)('register, unmodified %s app: openai embeddings', (format) => {
  it('each call is decided once, priced by input: a large input goes to the cheaper model; the log verifies', async () => {
    ws = workspace();
    // text-embedding-3-large: $0.13 per million input tokens; 100 000 tokens (1.3c) are over the 1-cent cap.
    writeFileSync(
      ws.policyFile,
      JSON.stringify([
        {
          id: 'embeddings',
          name: 'embeddings per call',
          scope: { tenantId: 'acme', provider: 'openai' },
          mode: 'enforce',
          version: 1,
          effectiveFrom: '2025-01-01T00:00:00Z',
          caps: [{ amountCents: 1, window: 'per_call', action: 'downgrade', downgradeTo: SMALL, reason: 'large embeddings go to the small model' }],
        },
      ]),
    );
    const run = await runApp({
      format,
      provider: 'openai',
      calls: [
        { model: LARGE, maxTokens: 0, embed: 0 },
        { model: LARGE, maxTokens: 0, embed: 100_000 },
      ],
      fakeUrl: fake().url,
      env: agentguardEnv(ws),
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(callResults(run).map((r) => [r.ok, r.model])).toEqual([
      [true, LARGE],
      [true, SMALL],
    ]);
    expect(fake().requests.map((r) => [r.path, (r.body as { model: string }).model])).toEqual([
      ['/v1/embeddings', LARGE],
      ['/v1/embeddings', SMALL],
    ]);
    const chains = await chainsOnDisk(ws.logDir);
    expect(chains).toHaveLength(1);
    const { entries } = chains[0]!;
    expect(decisionsOf(entries).map((d) => [d.action, d.modelResolved, d.estimatedOutputTokens])).toEqual([
      ['allow', LARGE, 0],
      ['downgrade', SMALL, 0],
    ]);
    expect(entries.filter((e) => e.decision.entryType === 'outcome').map((e) => [e.decision.outcome, e.decision.actualOutputTokens])).toEqual([
      ['settled', 0],
      ['settled', 0],
    ]);
    const verify = cli(['verify', ws.logDir, '--public-key', `${ws.keyFile}.pub`]);
    expect(verify.stdout).toContain('1 chain: 1 intact, 0 failed');
    expect(allText(ws.logDir)).not.toContain(PROMPT);
  });
});
