import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileDecisionLogStore } from '../../src/stores.js';
import { generateKeypair, parsePolicies } from '../../src/index.js';
import { bytesToHex, hexToBytes } from '../../src/audit/hex.js';
import { publicKeyFromSeed } from '../../src/audit/keys.js';
import { guardWith, oneCall, openPolicy, tempDir } from '../helpers/log.js';

const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
function run(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
function dir(): string {
  const t = tempDir('agentguard-cli-');
  cleanups.push(t.cleanup);
  return t.dir;
}

const keys = generateKeypair();
const pubHex = bytesToHex(keys.publicKey);

/** A log of 8 calls (16 entries) in files of at most 4 kB. */
async function makeLog(d: string): Promise<FileDecisionLogStore> {
  const store = await FileDecisionLogStore.open({ dir: d, chainId: 'cli', maxFileBytes: 4000 });
  const guard = guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() });
  for (let i = 0; i < 8; i++) await oneCall(guard);
  await store.close();
  return store;
}

describe('agentguard-spend CLI', () => {
  it('has --help on every command', () => {
    for (const cmd of [[], ['keygen'], ['verify'], ['report']]) {
      const r = run([...cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Usage: agentguard-spend${cmd.length ? ` ${cmd[0]}` : ''}`);
    }
  });

  it('keygen writes a 0600 private key and a .pub, prints the public key, and refuses to overwrite without --force', () => {
    const d = dir();
    const out = join(d, 'signing.key');
    const r = run(['keygen', '--out', out]);
    expect(r.status).toBe(0);
    const seed = readFileSync(out, 'utf8').trim();
    expect(seed).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const pub = bytesToHex(publicKeyFromSeed(hexToBytes(seed)));
    expect(r.stdout).toBe(`${pub}\n`);
    expect(readFileSync(`${out}.pub`, 'utf8')).toBe(`${pub}\n`);
    expect(r.stdout + r.stderr).not.toContain(seed);

    const again = run(['keygen', '--out', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toBe(`agentguard-spend keygen: error: --out: ${out} already exists; pass --force to overwrite it\n`);
    expect(readFileSync(out, 'utf8').trim()).toBe(seed);

    const forced = run(['keygen', '--out', out, '--force']);
    expect(forced.status).toBe(0);
    expect(readFileSync(out, 'utf8').trim()).not.toBe(seed);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('verify: an intact rotated log exits 0, with the key as hex or as keygen’s .pub file', async () => {
    const d = dir();
    const store = await makeLog(d);
    expect(store.files.length).toBeGreaterThan(2);
    const r = run(['verify', d, '--public-key', pubHex]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `cli: ok, 16 entries in ${store.files.length} files, ${store.files.length} checkpoints matched\n` +
        `  checkpoints: ${store.files.length} from ${join(d, 'cli.checkpoints.jsonl')}, found next to the chain\n` +
        '1 chain: 1 intact, 0 failed\n',
    );
    expect(r.stderr).toBe(''); // no progress bar off a terminal

    const pubFile = join(dir(), 'k.pub');
    writeFileSync(pubFile, `${pubHex}\n`);
    const json = run(['verify', store.files[0]!, '-k', pubFile, '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, chains: [{ chainId: 'cli', ok: true, files: [store.files[0]] }] });
  });

  it('verify: draws a progress bar on a terminal (stderr), and only there', async () => {
    const d = dir();
    await makeLog(d);
    // `script` (util-linux/bsdutils) runs the command on a pseudo-terminal.
    const r = spawnSync('script', ['-qec', `"${process.execPath}" "${cli}" verify "${d}" -k ${pubHex}`, '/dev/null'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\rverifying \[#+\.*\] +\d+% /);
    expect(r.stdout).toContain('\r\x1b[2K'); // cleared before the result
    expect(r.stdout).toContain('cli: ok, 16 entries');
  });

  it('verify: a tampered line fails with its sequence, reason, file and line, and exits 1', async () => {
    const d = dir();
    const store = await makeLog(d);
    const file = store.files[1]!;
    const lines = readFileSync(file, 'utf8').split('\n');
    const victim = JSON.parse(lines[1]!);
    victim.decision.projectedCents += 1;
    lines[1] = JSON.stringify(victim);
    writeFileSync(file, lines.join('\n'));

    const r = run(['verify', d, '-k', pubHex]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      `cli: FAILED at sequence ${victim.sequence} (hash_mismatch) in ${file}:2: entryHash ${victim.entryHash} does not match recomputed`,
    );
    expect(r.stdout).toContain(`; ${victim.sequence} entries intact before it\n`);
    expect(r.stdout).toContain('1 chain: 0 intact, 1 failed');
    const json = JSON.parse(run(['verify', d, '-k', pubHex, '--json']).stdout);
    expect(json.ok).toBe(false);
    expect(json.chains[0].failure).toMatchObject({ sequence: victim.sequence, reason: 'hash_mismatch', file, line: 2 });
  });

  it('verify: a removed line is a sequence gap; another key is wrong_signer with a hint', async () => {
    const d = dir();
    const store = await makeLog(d);
    const file = store.files[0]!;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.splice(2, 1);
    writeFileSync(file, lines.join('\n'));
    const r = run(['verify', d, '-k', pubHex]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`FAILED at sequence 2 (sequence_gap) in ${file}:3: expected sequence 2, got 3`);

    const other = run(['verify', d, '-k', bytesToHex(generateKeypair().publicKey)]);
    expect(other.status).toBe(1);
    expect(other.stdout).toContain('FAILED at sequence 0 (wrong_signer)');
    expect(other.stdout).toContain('hint: every chain is signed by another key');
  });

  it('verify: reports a torn last line and set-aside sidecars as warnings', async () => {
    const d = dir();
    const store = await makeLog(d);
    const last = store.files.at(-1)!;
    appendFileSync(last, '{"sequence":16,"deci');
    const r = run(['verify', d, '-k', pubHex]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`warning: torn last line (20 bytes, not an entry) at ${last}:`);
    await (await FileDecisionLogStore.open({ dir: d, chainId: 'cli', onWarning: () => {} })).close();
    const after = run(['verify', d, '-k', pubHex]);
    expect(after.status).toBe(0);
    expect(after.stdout).toContain(`warning: torn line set aside after a crash: ${last}.torn (20 bytes)`);
  });

  it('gives one-line errors naming the bad argument', () => {
    const d = dir();
    const cases: [string[], string][] = [
      [['verify', d, '-k', 'zz'], 'agentguard-spend verify: error: --public-key: not 64 hex characters and not a readable file: zz\n'],
      [['verify', d, '-k', 'abcd'], 'agentguard-spend verify: error: --public-key: expected 64 hex characters (32 bytes), got 4\n'],
      [
        ['verify', d],
        'agentguard-spend verify: error: --public-key: required (64 hex characters or a file holding them), unless --trusted-key names the keys\n',
      ],
      [['verify', join(d, 'missing'), '-k', pubHex], `agentguard-spend verify: error: <path>: ${join(d, 'missing')}: no such file or directory\n`],
      [['verify', d, '-k', pubHex], `agentguard-spend verify: error: <path>: no decision log files (*.jsonl) in ${d}\n`],
      [['report', join(d, 'missing')], `agentguard-spend report: error: <dir>: ${join(d, 'missing')}: no such file or directory\n`],
    ];
    for (const [args, stderr] of cases) {
      const r = run(args);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 2, stderr });
    }
    const unknown = run(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('review: a private key pasted into a public-key option is never echoed', () => {
  it('verify --public-key / --trusted-key and rotate-key --new-public-key with 0x-prefixed or quoted key hex', () => {
    const d = dir();
    const seedHex = bytesToHex(keys.privateKey);
    const keyFile = join(d, 'k.key');
    writeFileSync(keyFile, `${seedHex}\n`);
    for (const args of [
      ['verify', d, '--public-key', `0x${seedHex}`],
      ['verify', d, '--trusted-key', `'${seedHex}'`],
      ['verify', d, '--public-key', `${seedHex}0`],
      ['rotate-key', d, '--key', keyFile, '--new-public-key', `0x${seedHex}`],
      ['rotate-key', d, '--key', seedHex, '--new-key', keyFile],
      ['rotate-key', d, '--key', keyFile, '--new-key', seedHex],
    ]) {
      const r = run(args);
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toMatch(/error: --(public-key|trusted-key|new-public-key|key|new-key): /);
      expect(r.stderr + r.stdout).not.toContain(seedHex);
    }
  });
});

describe('agentguard-spend report', () => {
  /**
   * Tenant acme (enforce) and tenant beta (shadow), same caps: per-day 8c
   * downgrade to `small`, per-day 12c block. Each makes 4 calls to `big`
   * (projected 4c; `small` 1c) and settles at 1000 in / 1000 out.
   */
  async function scenario(d: string) {
    const caps = [
      { amountCents: 8, window: 'per_day', action: 'downgrade', downgradeTo: 'small', reason: 'soft' },
      { amountCents: 12, window: 'per_day', action: 'block', reason: 'hard' },
    ];
    const policies = parsePolicies([
      { id: 'acme-enforce', name: 'a', scope: { tenantId: 'acme' }, mode: 'enforce', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', caps },
      { id: 'beta-shadow', name: 'b', scope: { tenantId: 'beta' }, mode: 'shadow', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', caps },
    ]);
    let now = Date.parse('2026-03-01T10:00:00Z');
    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'report' });
    const guard = guardWith({ signingKeys: keys, logStore: store, policies, clock: () => now });
    const actions: string[] = [];
    for (const [tenantId, day] of [
      ['acme', '2026-03-01T10:00:00Z'],
      ['beta', '2026-03-02T10:00:00Z'],
    ] as const) {
      now = Date.parse(day);
      for (let i = 0; i < 4; i++) {
        const r = await guard.decide({
          provider: 'openai',
          model: 'big',
          scope: { tenantId, agentId: `${tenantId}-bot` },
          estimatedInputTokens: 1000,
          maxOutputTokens: 1000,
        });
        actions.push(`${r.decision.enforcementMode}:${r.decision.action}`);
        if (r.action !== 'block') await guard.settle(r, { inputTokens: 1000, outputTokens: 1000 });
      }
    }
    await store.close();
    return actions;
  }

  it('counts actions and cents exactly, by day, policy and scope', async () => {
    const d = dir();
    const actions = await scenario(d);
    expect(actions).toEqual([
      'enforce:allow',
      'enforce:allow',
      'enforce:downgrade',
      'enforce:block',
      'shadow:allow',
      'shadow:allow',
      'shadow:downgrade',
      'shadow:block',
    ]);
    const r = run(['report', d, '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    // acme: allowed 4c + 4c, downgraded (saved 4-1 = 3c, actual 1c), blocked (saved 4c).
    const acme = {
      decisions: 4,
      allowed: 2,
      downgraded: 1,
      blocked: 1,
      shadowed: 0,
      wouldDowngrade: 0,
      wouldBlock: 0,
      savedCents: 7,
      wouldSaveCents: 0,
      outcomes: 3,
      actualCents: 9,
    };
    // beta: all 4 calls ran at `big` (4c each); enforcement would have downgraded one (3c) and blocked one (4c).
    const beta = {
      decisions: 4,
      allowed: 2,
      downgraded: 0,
      blocked: 0,
      shadowed: 2,
      wouldDowngrade: 1,
      wouldBlock: 1,
      savedCents: 0,
      wouldSaveCents: 7,
      outcomes: 4,
      actualCents: 16,
    };
    const none = {
      decisions: 0,
      allowed: 0,
      downgraded: 0,
      blocked: 0,
      shadowed: 0,
      wouldDowngrade: 0,
      wouldBlock: 0,
      savedCents: 0,
      wouldSaveCents: 0,
      outcomes: 0,
      actualCents: 0,
    };
    expect(report).toEqual({
      chains: 1,
      entries: 15,
      malformed: 0,
      tornLines: 0,
      portReceipts: 0,
      signerChanges: 0,
      total: {
        decisions: 8,
        allowed: 4,
        downgraded: 1,
        blocked: 1,
        shadowed: 2,
        wouldDowngrade: 1,
        wouldBlock: 1,
        savedCents: 7,
        wouldSaveCents: 7,
        outcomes: 7,
        actualCents: 25,
      },
      byPolicy: { 'acme-enforce': acme, 'beta-shadow': beta },
      byScope: { 'tenantId=acme,agentId=acme-bot': acme, 'tenantId=beta,agentId=beta-bot': beta },
      byDay: { '2026-03-01': acme, '2026-03-02': beta },
      // Decisions only, by the cap that decided (outcomes name no cap).
      byCap: {
        '(no cap)': { ...none, decisions: 4, allowed: 4 },
        'acme-enforce: block per_day 12c': { ...none, decisions: 1, blocked: 1, savedCents: 4 },
        'acme-enforce: downgrade per_day 8c → small': { ...none, decisions: 1, downgraded: 1, savedCents: 3 },
        'beta-shadow: block per_day 12c': { ...none, decisions: 1, shadowed: 1, wouldBlock: 1, wouldSaveCents: 4 },
        'beta-shadow: downgrade per_day 8c → small': { ...none, decisions: 1, shadowed: 1, wouldDowngrade: 1, wouldSaveCents: 3 },
      },
    });

    const table = run(['report', d]);
    expect(table.status).toBe(0);
    expect(table.stdout).toContain('enforced: 1 blocked, 1 downgraded, saved $0.07 (projected)');
    expect(table.stdout).toContain('shadow: 2 passed unchanged, would have blocked 1 and downgraded 1, saving $0.07 (projected)');
    expect(table.stdout).toContain('actual spend: $0.25');
    expect(table.stdout).toMatch(/^2026-03-02\s+4\s+2\s+0\s+0\s+2\s+1\s+1\s+\$0\.00\s+\$0\.07\s+\$0\.16$/m);
    expect(table.stdout).toMatch(/^acme-enforce\s+4\s+2\s+1\s+1\s+0\s+0\s+0\s+\$0\.07\s+\$0\.00\s+\$0\.09$/m);
    expect(table.stdout).toMatch(/^acme-enforce: downgrade per_day 8c → small\s+1\s+0\s+1\s+0\s+0\s+0\s+0\s+\$0\.03\s+\$0\.00\s+\$0\.00$/m);
  });
});
