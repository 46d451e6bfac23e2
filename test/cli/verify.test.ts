import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyDecisionLog } from '../../src/audit.js';
import { FileDecisionLogStore, type CheckpointProblem, type Durability } from '../../src/stores.js';
import { generateKeypair, parsePolicy, type SigningKeys } from '../../src/index.js';
import { verifyCheckpointSignature, type Checkpoint } from '../../src/audit.js';
import { bytesToHex } from '../../src/audit/hex.js';
import { signerFingerprint } from '../../src/audit/keys.js';
import { createSigner } from '../../src/audit/signer.js';
import { guardWith, oneCall, openPolicy, tempDir } from '../helpers/log.js';
import { chainFiles, readCheckpoints, readEntries, resignFrom, run, writeEntries } from '../helpers/cli.js';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
function dir(): string {
  const t = tempDir('agentguard-audit-cli-');
  cleanups.push(t.cleanup);
  return t.dir;
}

const A = generateKeypair();
const B = generateKeypair();
const C = generateKeypair();
const fp = (k: SigningKeys) => signerFingerprint(k.publicKey);

/** Writes `<name>.key` (private seed) and `<name>.key.pub` in `d`, as keygen does. */
function keyFiles(d: string, name: string, k: SigningKeys): { key: string; pub: string } {
  const key = join(d, `${name}.key`);
  writeFileSync(key, `${bytesToHex(k.privateKey)}\n`, { mode: 0o600 });
  writeFileSync(`${key}.pub`, `${bytesToHex(k.publicKey)}\n`);
  return { key, pub: `${key}.pub` };
}

/** `calls` guarded calls (2 entries each) by a real SpendGuard into a FileDecisionLogStore, then close. */
async function writeLog(d: string, o: { keys?: SigningKeys; calls: number; every?: number; maxFileBytes?: number; durability?: Durability; chainId?: string }) {
  const store = await FileDecisionLogStore.open({
    dir: d,
    chainId: o.chainId ?? 'svc',
    durability: o.durability ?? 'write',
    ...(o.maxFileBytes ? { maxFileBytes: o.maxFileBytes } : {}),
    checkpoints: { every: o.every ?? 1000 },
  });
  const guard = guardWith({ signingKeys: o.keys ?? A, logStore: store, policy: openPolicy() });
  for (let i = 0; i < o.calls; i++) await oneCall(guard);
  await store.close();
  return store;
}

describe('checkpoints written by the file store', () => {
  it('every N entries, on file rotation and on close (fsync mode), each signed and naming an entry of the chain; verify finds them and passes', async () => {
    const d = dir();
    const pub = keyFiles(d, 'a', A).pub;
    const logDir = join(d, 'log');
    const store = await writeLog(logDir, { calls: 10, every: 5, maxFileBytes: 4000, durability: 'fsync' });
    const files = chainFiles(logDir, 'svc');
    expect(files.length).toBeGreaterThan(2);
    const items = readEntries(logDir, 'svc');
    expect(items).toHaveLength(20);

    // Oracle: a checkpoint after every 5 entries since the last one, one of each file's last entry
    // when the next file starts, and one of the last entry on close.
    const expected: number[] = [];
    let since = 0;
    items.forEach(({ file, entry }, i) => {
      if (i > 0 && file !== items[i - 1]!.file && expected.at(-1) !== i - 1) {
        expected.push(i - 1);
        since = 0;
      }
      since++;
      if (since >= 5) {
        expected.push(entry.sequence);
        since = 0;
      }
    });
    if (expected.at(-1) !== 19) expected.push(19);

    const cpFile = join(logDir, 'svc.checkpoints.jsonl');
    expect(store.checkpointFile).toBe(cpFile);
    const cps = readCheckpoints(cpFile) as unknown as Checkpoint[];
    expect(cps.map((c) => c.sequence)).toEqual(expected);
    // Rotation checkpoints exist: some checkpoint names the last entry of a file that is not a multiple of 5 since the previous.
    const lastOfFiles = files.slice(0, -1).map((f) => items.filter((x) => x.file === f).at(-1)!.entry.sequence);
    for (const s of lastOfFiles) expect(cps.map((c) => c.sequence)).toContain(s);
    for (const cp of cps) {
      expect(cp.chainId).toBe(items[0]!.entry.entryHash);
      expect(cp.entryHash).toBe(items[cp.sequence]!.entry.entryHash);
      expect(cp.signerFingerprint).toBe(fp(A));
      expect(verifyCheckpointSignature(cp, A.publicKey)).toBe(true);
    }

    const r = run(['verify', logDir, '-k', pub], d);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`svc: ok, 20 entries in ${files.length} files, ${cps.length} checkpoints matched\n`);
    expect(r.stdout).toContain('  checkpoints: ' + `${cps.length} from log/svc.checkpoints.jsonl, found next to the chain\n`);
    expect(r.stdout).toContain('1 chain: 1 intact, 0 failed');
    // The checkpoint file is not taken for a chain (nor by report).
    const report = run(['report', logDir, '--json'], d);
    expect(JSON.parse(report.stdout)).toMatchObject({ chains: 1, entries: 20, malformed: 0, tornLines: 0 });
  });

  it('on close: a log shorter than N gets exactly one checkpoint, of its last entry, when the store is closed (and none for a reopen without entries)', async () => {
    const d = dir();
    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'svc' });
    const guard = guardWith({ signingKeys: A, logStore: store, policy: openPolicy() });
    for (let i = 0; i < 3; i++) await oneCall(guard);
    const cpFile = join(d, 'svc.checkpoints.jsonl');
    expect(existsSync(cpFile)).toBe(false); // 6 entries < 1000: nothing yet
    await store.close();
    const items = readEntries(d, 'svc');
    const cps = readCheckpoints(cpFile) as unknown as Checkpoint[];
    expect(cps).toHaveLength(1);
    expect(cps[0]).toMatchObject({ sequence: 5, entryHash: items[5]!.entry.entryHash, chainId: items[0]!.entry.entryHash, signerFingerprint: fp(A) });
    expect(verifyCheckpointSignature(cps[0]!, A.publicKey)).toBe(true);

    await (await FileDecisionLogStore.open({ dir: d, chainId: 'svc' })).close();
    expect(readCheckpoints(cpFile)).toHaveLength(1);
    // A resumed chain goes on checkpointing (its id read back from its first file).
    await writeLog(d, { calls: 1 });
    expect((readCheckpoints(cpFile) as unknown as Checkpoint[]).map((c) => [c.sequence, c.chainId])).toEqual([
      [5, items[0]!.entry.entryHash],
      [7, items[0]!.entry.entryHash],
    ]);
    expect(await verifyDecisionLog(d, A.publicKey)).toMatchObject({ ok: true, chains: [{ entries: 8, checkpoints: { count: 2 } }] });
  });

  it('a checkpoint problem never fails an append: an unwritable checkpoint file is reported through onError', async () => {
    const d = dir();
    mkdirSync(join(d, 'svc.checkpoints.jsonl')); // a directory where the file should be
    const problems: CheckpointProblem[] = [];
    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'svc', checkpoints: { every: 2, onError: (p) => problems.push(p) } });
    const guard = guardWith({ signingKeys: A, logStore: store, policy: openPolicy() });
    for (let i = 0; i < 3; i++) await oneCall(guard);
    await store.close();
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatchObject({ code: 'write_failed', file: join(d, 'svc.checkpoints.jsonl') });
    expect(problems[0]!.message).toMatch(/cannot write checkpoints to .*svc\.checkpoints\.jsonl: EISDIR/);
    expect(await verifyDecisionLog(d, A.publicKey)).toMatchObject({ ok: true, chains: [{ entries: 6 }] });
  });

  it('a torn checkpoint line (crash mid-write) is set aside on reopen, and checkpointing goes on on a line of its own', async () => {
    const d = dir();
    await writeLog(d, { calls: 2 });
    const cpFile = join(d, 'svc.checkpoints.jsonl');
    appendFileSync(cpFile, '{"type":"agentguard.checkpoint.v1","chai');
    const torn = run(['verify', d, '-k', bytesToHex(A.publicKey)]);
    expect(torn.status).toBe(0);
    expect(torn.stdout).toContain('warning: 1 torn checkpoint line skipped');
    const problems: CheckpointProblem[] = [];
    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'svc', checkpoints: { onError: (p) => problems.push(p) } });
    expect(problems).toEqual([{ code: 'torn_line', file: cpFile, message: expect.stringContaining(`set aside in ${cpFile}.torn`) }]);
    await oneCall(guardWith({ signingKeys: A, logStore: store, policy: openPolicy() }));
    await store.close();
    expect(readCheckpoints(cpFile).map((c) => c.sequence)).toEqual([3, 5]);
    const r = run(['verify', d, '-k', bytesToHex(A.publicKey)]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('svc: ok, 6 entries in 2 files, 2 checkpoints matched');
  });
});

describe('verify with checkpoints', () => {
  it('a cut-off tail is truncated (exit 1), with the sequence, the file and the checkpoint that shows it; a copy kept elsewhere still shows it when the checkpoint file is gone too', async () => {
    const d = dir();
    const pub = keyFiles(d, 'a', A).pub;
    const logDir = join(d, 'log');
    await writeLog(logDir, { calls: 10, every: 5 });
    const copy = join(d, 'elsewhere.jsonl');
    copyFileSync(join(logDir, 'svc.checkpoints.jsonl'), copy);
    const items = readEntries(logDir, 'svc');
    writeEntries(items.slice(0, 17)); // drop sequences 17..19

    const r = run(['verify', logDir, '-k', pub], d);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('svc: FAILED at sequence 17 (truncated) in log/svc.');
    expect(r.stdout).toContain('the log ends after 17 entries, but a checkpoint signed at');
    expect(r.stdout).toContain('records sequence 19 (checkpoint log/svc.checkpoints.jsonl:');
    expect(r.stdout).toContain('1 chain: 0 intact, 1 failed');
    const json = JSON.parse(run(['verify', logDir, '-k', pub, '--json'], d).stdout);
    expect(json.ok).toBe(false);
    expect(json.chains[0].failure).toMatchObject({ sequence: 17, reason: 'truncated', line: 17, checkpoint: { file: join(logDir, 'svc.checkpoints.jsonl') } });

    // The attacker removes the checkpoint file as well: the log alone looks intact...
    unlinkSync(join(logDir, 'svc.checkpoints.jsonl'));
    const alone = run(['verify', logDir, '-k', pub], d);
    expect(alone.status).toBe(0);
    expect(alone.stdout).toContain('warning: no checkpoints for this chain');
    // ...but the copy kept outside the log's storage is not fooled.
    const withCopy = run(['verify', logDir, '-k', pub, '--checkpoints', copy], d);
    expect(withCopy.status).toBe(1);
    expect(withCopy.stdout).toContain('svc: FAILED at sequence 17 (truncated)');
    expect(withCopy.stdout).toContain('(checkpoint elsewhere.jsonl:');
  });

  it('a middle entry replaced by a validly signed different history is a fork at the first checkpoint after it', async () => {
    const d = dir();
    const pub = keyFiles(d, 'a', A).pub;
    await writeLog(d, { calls: 10, every: 4 });
    const items = readEntries(d, 'svc');
    const forged = resignFrom(items, 6, createSigner(A), (decision) => {
      decision.projectedCents = (decision.projectedCents as number) + 100;
    });
    writeEntries(forged);
    // The rewritten chain is valid link by link: without checkpoints nothing shows.
    expect(run(['verify', d, '-k', pub, '--no-auto-checkpoints']).status).toBe(0);

    const firstAfter = (readCheckpoints(join(d, 'svc.checkpoints.jsonl')) as unknown as Checkpoint[]).find((c) => c.sequence >= 6)!;
    expect(firstAfter.sequence).toBe(7);
    const r = run(['verify', d, '-k', pub]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      `svc: FAILED at sequence 7 (fork) in ${forged[7]!.file}:8: entry 7 has hash ${forged[7]!.entry.entryHash}, but the checkpoint signed at ${firstAfter.timestamp} records ${items[7]!.entry.entryHash}`,
    );
    expect(r.stdout).toContain(`(checkpoint ${join(d, 'svc.checkpoints.jsonl')}:2)`);
  });

  it('another chain signed with the same key, put in place under the same name, is a swapped log', async () => {
    const d = dir();
    const pub = keyFiles(d, 'a', A).pub;
    const logDir = join(d, 'log');
    const other = join(d, 'other');
    await writeLog(logDir, { calls: 4, every: 3 });
    await writeLog(other, { calls: 6 });
    for (const f of chainFiles(logDir, 'svc')) unlinkSync(f);
    for (const f of chainFiles(other, 'svc')) copyFileSync(f, join(logDir, f.slice(other.length + 1)));
    expect(run(['verify', logDir, '-k', pub, '--no-auto-checkpoints'], d).status).toBe(0);

    const r = run(['verify', logDir, '-k', pub], d);
    expect(r.status).toBe(1);
    const genesis = readEntries(logDir, 'svc')[0]!.entry.entryHash;
    expect(r.stdout).toMatch(
      new RegExp(
        `svc: FAILED at sequence 0 \\(swapped_log\\) in log/svc\\.\\d{8}\\.000001\\.jsonl:1: checkpoint at sequence \\d+ is for chain [0-9a-f]{64}, but this log is chain ${genesis}`,
      ),
    );
  });

  it('checkpoints exported elsewhere (not named after a chain) are matched by chain id; those of a chain missing from the log fail verify', async () => {
    const d = dir();
    const pub = keyFiles(d, 'a', A).pub;
    const logDir = join(d, 'log');
    await writeLog(logDir, { calls: 3, every: 2, chainId: 'one' });
    await writeLog(logDir, { calls: 3, every: 2, chainId: 'two' });
    const exported = join(d, 'exported.jsonl');
    writeFileSync(exported, readFileSync(join(logDir, 'one.checkpoints.jsonl'), 'utf8') + readFileSync(join(logDir, 'two.checkpoints.jsonl'), 'utf8'));
    const ok = run(['verify', logDir, '-k', pub, '--no-auto-checkpoints', '--checkpoints', exported], d);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('one: ok, 6 entries in 1 file, 3 checkpoints matched\n  checkpoints: 3 from exported.jsonl\n');
    expect(ok.stdout).toContain('two: ok, 6 entries in 1 file, 3 checkpoints matched');

    const genesisTwo = readEntries(logDir, 'two')[0]!.entry.entryHash;
    for (const f of chainFiles(logDir, 'two')) unlinkSync(f);
    const missing = run(['verify', logDir, '-k', pub, '--no-auto-checkpoints', '--checkpoints', exported], d);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain(
      `${genesisTwo}: FAILED (swapped_log): 3 checkpoints of chain ${genesisTwo} (a sequence-0 entryHash) match no chain in the log`,
    );
    expect(missing.stdout).toContain('one: ok, 6 entries in 1 file, 3 checkpoints matched');
    expect(missing.stdout).toContain('1 chain: 1 intact, 0 failed; 1 set of checkpoints without their log');
    // Found next to the log: the checkpoint file of `two` says its log is gone.
    const found = run(['verify', logDir, '-k', pub], d);
    expect(found.status).toBe(1);
    expect(found.stdout).toContain(
      'two: FAILED (truncated): 3 checkpoints (up to sequence 5) for chain two, but no log file of that chain is here: the log is missing',
    );
  });

  it('a checkpoint with a bad signature is bad_checkpoint at its own line, never believed', async () => {
    const d = dir();
    await writeLog(d, { calls: 3, every: 2 });
    const cpFile = join(d, 'svc.checkpoints.jsonl');
    const lines = readFileSync(cpFile, 'utf8').split('\n');
    const cp = JSON.parse(lines[1]!);
    cp.signature = (cp.signature[0] === 'a' ? 'b' : 'a') + cp.signature.slice(1);
    lines[1] = JSON.stringify(cp);
    writeFileSync(cpFile, lines.join('\n'));
    const r = run(['verify', d, '-k', bytesToHex(A.publicKey)]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      `svc: FAILED at sequence ${cp.sequence} (bad_checkpoint) in ${cpFile}:2: checkpoint #1 (sequence ${cp.sequence}): Ed25519 signature does not verify`,
    );
  });

  it('gives one-line errors for bad checkpoint and key options', async () => {
    const d = dir();
    await writeLog(d, { calls: 1 });
    const pub = bytesToHex(A.publicKey);
    const cases: [string[], string][] = [
      [
        ['verify', d],
        'agentguard-spend verify: error: --public-key: required (64 hex characters or a file holding them), unless --trusted-key names the keys\n',
      ],
      [['verify', d, '--trusted-key', 'abcd'], 'agentguard-spend verify: error: --trusted-key: expected 64 hex characters (32 bytes), got 4\n'],
      [
        ['verify', d, '-k', pub, '--checkpoints', join(d, 'nope.jsonl')],
        `agentguard-spend verify: error: --checkpoints: ${join(d, 'nope.jsonl')}: no such file or directory\n`,
      ],
      [['verify', d, '-k', pub, '--checkpoints', join(d, '..', 'empty-dir-' + process.pid)], ''],
    ];
    mkdirSync(join(d, '..', 'empty-dir-' + process.pid), { recursive: true });
    cleanups.push(() => rmSync(join(d, '..', 'empty-dir-' + process.pid), { recursive: true, force: true }));
    cases[3]![1] = `agentguard-spend verify: error: --checkpoints: ${join(d, '..', 'empty-dir-' + process.pid)}: no checkpoint files (*.checkpoints.jsonl) in this directory\n`;
    for (const [args, stderr] of cases) {
      const r = run(args);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 2, stderr });
    }
  });
});

describe('key rotation', () => {
  it('rotate-key on a resting chain, then entries by the new key: verify with the first public key passes; an injected key is untrusted_signer', async () => {
    const d = dir();
    const a = keyFiles(d, 'a', A);
    const b = keyFiles(d, 'b', B);
    const logDir = join(d, 'log');
    await writeLog(logDir, { calls: 4, every: 3 });

    const rot = run(['rotate-key', logDir, '--key', a.key, '--new-key', b.key, '--reason', 'quarterly rotation'], d);
    expect(rot.stderr).toBe('');
    expect(rot.status).toBe(0);
    expect(rot.stdout).toContain(`rotated chain svc at sequence 8: signer ${fp(A)} -> ${fp(B)} (reason: "quarterly rotation")`);
    expect(rot.stdout).toContain(`wrote a checkpoint of sequence 8, signed by ${fp(A)}, to log/svc.checkpoints.jsonl`);
    const change = readEntries(logDir, 'svc')[8]!.entry;
    expect(change).toMatchObject({
      signerFingerprint: fp(A),
      decision: { entryType: 'signer_change', newPublicKeyHex: bytesToHex(B.publicKey), newSignerFingerprint: fp(B), reason: 'quarterly rotation' },
    });
    for (const text of [rot.stdout, rot.stderr]) {
      expect(text).not.toContain(bytesToHex(A.privateKey));
      expect(text).not.toContain(bytesToHex(B.privateKey));
    }
    // The guard restarts with the new key and resumes the chain.
    await writeLog(logDir, { keys: B, calls: 3, every: 3 });
    const cps = readCheckpoints(join(logDir, 'svc.checkpoints.jsonl')) as unknown as Checkpoint[];
    expect(cps.map((c) => [c.sequence, c.signerFingerprint])).toEqual([
      [2, fp(A)],
      [5, fp(A)],
      [7, fp(A)],
      [8, fp(A)],
      [11, fp(B)],
      [14, fp(B)],
    ]);

    const ok = run(['verify', logDir, '-k', a.pub], d);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('svc: ok, 15 entries in 3 files, 6 checkpoints matched');
    expect(ok.stdout).toContain(`signers: ${fp(A)} -> ${fp(B)} (1 key rotation)`);
    expect(run(['verify', logDir, '--trusted-key', a.pub], d).status).toBe(0);
    const newOnly = run(['verify', logDir, '-k', b.pub], d);
    expect(newOnly.status).toBe(1);
    expect(newOnly.stdout).toContain('svc: FAILED at sequence 0 (wrong_signer)');

    // Someone holding another key rewrites the tail: not a key the chain introduced.
    writeEntries(
      resignFrom(readEntries(logDir, 'svc'), 11, createSigner(C), (decision) => {
        decision.reasons = ['injected'];
      }),
    );
    const injected = run(['verify', logDir, '-k', a.pub], d);
    expect(injected.status).toBe(1);
    expect(injected.stdout).toContain(`svc: FAILED at sequence 11 (untrusted_signer) in log/svc.`);
    expect(injected.stdout).toContain(
      `signed by ${fp(C)}, a key neither trusted nor introduced by a signer_change entry (the chain's signer here is ${fp(B)})`,
    );
  });

  it('rotate-key refuses a chain locked by a live process (exit 3) and leaves it untouched; errors name the bad option', async () => {
    const d = dir();
    const a = keyFiles(d, 'a', A);
    const b = keyFiles(d, 'b', B);
    await writeLog(d, { calls: 2 });
    const held = await FileDecisionLogStore.open({ dir: d, chainId: 'svc' }); // this test process: alive
    const before = readEntries(d, 'svc').length;
    const locked = run(['rotate-key', d, '--key', a.key, '--new-key', b.key]);
    expect(locked.status).toBe(3);
    expect(locked.stderr).toContain(`agentguard-spend rotate-key: error: decision log chain svc is in use by pid ${process.pid} on `);
    expect(locked.stderr).toContain('A running process rotates its own key: SpendGuard.rotateSigningKey(newKeys, reason); or stop it first');
    expect(readEntries(d, 'svc')).toHaveLength(before);
    await held.close();

    const c = keyFiles(d, 'c', C);
    const cases: [string[], string][] = [
      [['rotate-key', d, '--new-key', b.key], '--key: required (the file holding the current private key, as written by keygen)'],
      [['rotate-key', d, '--key', a.key], '--new-key: required (the file holding the new private key; or give only its public key with --new-public-key)'],
      [
        ['rotate-key', d, '--key', c.key, '--new-key', b.key],
        `--key: chain svc is signed by ${fp(A)} at its head (sequence 3), not by this key (${fp(C)}); give the key the chain's process signs with now`,
      ],
      [['rotate-key', d, '--key', a.key, '--new-key', a.key], `--new-key: the new key is the current key (${fp(A)})`],
      [['rotate-key', d, '--key', a.key, '--new-key', b.key, '--chain', 'nope'], `--chain: no chain "nope" in ${d} (chains: svc)`],
      [['rotate-key', d, '--key', join(d, 'missing.key'), '--new-key', b.key], `--key: ${join(d, 'missing.key')}: no such file`],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect({ args, status: r.status, stderr: r.stderr.split('\n')[0] }).toEqual({
        args,
        status: 2,
        stderr: `agentguard-spend rotate-key: error: ${message}`,
      });
    }
    expect(readEntries(d, 'svc')).toHaveLength(before);
    // Only the new public key is needed.
    const pubOnly = run(['rotate-key', d, '--key', a.key, '--new-public-key', b.pub]);
    expect(pubOnly.status).toBe(0);
    expect(run(['verify', d, '-k', a.pub]).status).toBe(0);
    const help = run(['rotate-key', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: agentguard-spend rotate-key [options] <log dir>');
  });

  for (const durability of ['write', 'batch'] as const) {
    it(`a running process rotates with SpendGuard.rotateSigningKey (${durability} mode): checkpoints up to the signer_change by the old key, after it by the new`, async () => {
      const d = dir();
      const store = await FileDecisionLogStore.open({ dir: d, chainId: 'svc', durability, batch: { scheduledDelayMillis: 60_000 }, checkpoints: { every: 4 } });
      const guard = guardWith({ signingKeys: A, logStore: store, policy: openPolicy() });
      for (let i = 0; i < 3; i++) await oneCall(guard);
      const inFlight = await guard.decide({ provider: 'openai', model: 'big', scope: { tenantId: 't' }, estimatedInputTokens: 10, maxOutputTokens: 10 });
      const change = await guard.rotateSigningKey(B, 'scheduled');
      expect(change.sequence).toBe(7);
      await guard.settle(inFlight, { inputTokens: 10, outputTokens: 10 });
      for (let i = 0; i < 3; i++) await oneCall(guard);
      await store.close();
      const cps = readCheckpoints(join(d, 'svc.checkpoints.jsonl')) as unknown as Checkpoint[];
      expect(cps.map((c) => [c.sequence, c.signerFingerprint])).toEqual([
        [3, fp(A)],
        [7, fp(A)],
        [11, fp(B)],
        [14, fp(B)],
      ]);
      expect(await verifyDecisionLog(d, A.publicKey)).toMatchObject({
        ok: true,
        chains: [{ entries: 15, checkpoints: { count: 4 }, signers: [fp(A), fp(B)] }],
      });
    });
  }
});

describe('verify reads the bytes of every line (test/fixtures/audit)', () => {
  const fixtures = join(import.meta.dirname, '..', 'fixtures', 'audit');
  const manifest = JSON.parse(readFileSync(join(fixtures, 'cases.json'), 'utf8')) as {
    intact: string;
    entries: number;
    cases: { file: string; sequence: number; reason: string }[];
  };
  const pub = join(fixtures, 'signer.pub');

  it('the untouched chain: ok', () => {
    const r = run(['verify', join(fixtures, manifest.intact), '-k', pub]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`intact.jsonl: ok, ${manifest.entries} entries in 1 file\n`);
  });

  it('each edited line fails at its sequence with its reason, in one run over a directory holding them all', () => {
    const d = dir();
    for (const c of manifest.cases) copyFileSync(join(fixtures, c.file), join(d, c.file));
    const r = run(['verify', d, '-k', pub]);
    expect(r.status).toBe(1);
    for (const c of manifest.cases) {
      expect(r.stdout).toContain(`${c.file}: FAILED at sequence ${c.sequence} (${c.reason}) in ${join(d, c.file)}:${c.sequence + 1}: `);
    }
    expect(r.stdout).toContain(`${manifest.cases.length} chains: 0 intact, ${manifest.cases.length} failed`);
    const json = JSON.parse(run(['verify', d, '-k', pub, '--json']).stdout) as {
      ok: boolean;
      chains: { chainId: string; failure: { reason: string; sequence: number } }[];
    };
    expect(json.ok).toBe(false);
    expect(Object.fromEntries(json.chains.map((c) => [c.chainId, `${c.failure.reason}@${c.failure.sequence}`]))).toEqual(
      Object.fromEntries(manifest.cases.map((c) => [c.file, `${c.reason}@${c.sequence}`])),
    );
  });
});

describe('verify on hostile input', () => {
  it('files holding no valid entry fail (no_entries), not "ok, 0 entries": garbage without a newline, empty files, many of them', () => {
    const d = dir();
    const pub = keyFiles(d, 'a', A).pub;
    const logs = join(d, 'logs');
    mkdirSync(logs);
    const n = 200;
    for (let i = 0; i < n; i++) writeFileSync(join(logs, `g${String(i).padStart(4, '0')}.jsonl`), `garbage ${i} \u00ff no newline`);
    writeFileSync(join(logs, 'empty.jsonl'), '');
    const r = run(['verify', logs, '-k', pub], d);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain(': ok,');
    expect(r.stdout).toContain('g0000.jsonl: FAILED at sequence 0 (no_entries) in logs/g0000.jsonl:1: no valid entry in 1 file (');
    expect(r.stdout).toContain('only a torn line (');
    expect(r.stdout).toContain('empty.jsonl: FAILED at sequence 0 (no_entries) in logs/empty.jsonl:0: no valid entry in 1 file (0 bytes): empty');
    expect(r.stdout).toContain(`${n + 1} chains: 0 intact, ${n + 1} failed`);
  });

  it('a chain file that is only a torn first entry fails too; one intact entry and a torn tail still passes', async () => {
    const d = dir();
    await writeLog(d, { calls: 1 });
    const [file] = chainFiles(d, 'svc');
    const text = readFileSync(file!, 'utf8');
    writeFileSync(file!, `${text}{"sequence":2,`);
    expect(await verifyDecisionLog(d, A.publicKey, { findCheckpoints: false })).toMatchObject({ ok: true, chains: [{ entries: 2, tornTail: { line: 3 } }] });
    writeFileSync(file!, text.slice(0, 40));
    expect(await verifyDecisionLog(d, A.publicKey, { findCheckpoints: false })).toMatchObject({
      ok: false,
      chains: [{ entries: 0, failure: { sequence: 0, reason: 'no_entries' } }],
    });
  });

  it('file names and values with control characters (ANSI escapes) are escaped in every output line', () => {
    const d = dir();
    const fixtures = join(import.meta.dirname, '..', 'fixtures', 'audit');
    const pub = join(fixtures, 'signer.pub');
    const evil = 'evil\u001b[2K\r\u001b[32mall ok\u001b[0m.jsonl';
    copyFileSync(join(fixtures, 'unsigned-approved-by.jsonl'), join(d, evil));
    // a value from a log line: an unsigned field whose name carries an escape
    const line = readFileSync(join(fixtures, 'intact.jsonl'), 'utf8').split('\n')[0]!;
    writeFileSync(join(d, 'field.jsonl'), `${line.replace('{"sequence":0,', '{"sequence":0,"\\u001b[2Kx":1,')}\n`);
    const r = run(['verify', d, '-k', pub], d);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(r.stdout).toContain('evil\\u001b[2K\\u000d\\u001b[32mall ok\\u001b[0m.jsonl: FAILED at sequence 1 (unknown_field)');
    expect(r.stdout).toContain('field.jsonl: FAILED at sequence 0 (unknown_field)');
    const missing = run(['verify', join(d, 'no\u001b[2Jdir'), '-k', pub]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).not.toMatch(/\u001b/);
    expect(missing.stderr).toContain('no\\u001b[2Jdir');
  });

  it('report escapes scope and policy values from the log in its tables', async () => {
    const d = dir();
    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'svc' });
    const tenant = 'acme\u001b[2K\rbeta';
    const guard = guardWith({
      signingKeys: A,
      logStore: store,
      policy: parsePolicy({
        id: 'p\u001b[31m',
        name: 'x',
        scope: { tenantId: tenant },
        mode: 'enforce',
        version: 1,
        effectiveFrom: '2020-01-01T00:00:00Z',
        caps: [],
      }),
    });
    const call = await guard.decide({ provider: 'openai', model: 'big', scope: { tenantId: tenant }, estimatedInputTokens: 10, maxOutputTokens: 10 });
    await guard.settle(call, { inputTokens: 10, outputTokens: 10 });
    await store.close();
    const r = run(['report', d]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(r.stdout).toContain('tenantId=acme\\u001b[2K\\u000dbeta');
    expect(r.stdout).toContain('p\\u001b[31m');
  });
});
