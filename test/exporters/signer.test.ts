import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainFileWriter } from '../../exporters/file/chain-file.js';
import { signerFingerprint } from '../../src/audit/keys.js';
import { verifyDecisionLog } from '../../src/audit.js';
import { assertChainSignerSync, ChainSignerMismatchError, FileDecisionLogStore, readChainSignerSync } from '../../src/stores.js';
import { generateKeypair } from '../../src/index.js';
import { guardWith, oneCall, openPolicy, tempDir } from '../helpers/log.js';

const first = generateKeypair();
const second = generateKeypair();
let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

async function chainSignedBy(d: string, keys = first): Promise<string> {
  const store = await FileDecisionLogStore.open({ dir: d, chainId: 'c' });
  await oneCall(guardWith({ signingKeys: keys, logStore: store, policy: openPolicy() }));
  await store.close();
  return store.chainId;
}

describe('resuming a chain with another key', () => {
  it('is refused at open with ChainSignerMismatchError when the key is given', async () => {
    const d = dir();
    await chainSignedBy(d);
    const err = await FileDecisionLogStore.open({ dir: d, chainId: 'c', signerPublicKey: second.publicKey }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainSignerMismatchError);
    expect(err).toMatchObject({
      code: 'AGENTGUARD_CHAIN_SIGNER_MISMATCH',
      chainId: 'c',
      expected: signerFingerprint(first.publicKey),
      actual: signerFingerprint(second.publicKey),
      headSequence: 1,
      message: `decision log chain c is signed by key ${signerFingerprint(first.publicKey)} at its head (sequence 1), not by this process's key ${signerFingerprint(second.publicKey)}; change keys with rotate-key (a signer_change entry), or use another chainId`,
    });
    // Refused without taking the lock: the right key opens it at once.
    expect(readdirSync(d).filter((f) => f.endsWith('.lock'))).toEqual([]);
    const ok = await FileDecisionLogStore.open({ dir: d, chainId: 'c', signerPublicKey: signerFingerprint(first.publicKey) });
    await ok.close();
  });

  it('fails every call of a guard signing with another key, writing nothing', async () => {
    const d = dir();
    await chainSignedBy(d);
    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'c' });
    const guard = guardWith({ signingKeys: second, logStore: store, policy: openPolicy() });
    await expect(oneCall(guard)).rejects.toBeInstanceOf(ChainSignerMismatchError);
    await expect(oneCall(guard)).rejects.toThrow(/is signed by key .* at its head \(sequence 1\)/);
    await store.close();
    const v = await verifyDecisionLog(d, first.publicKey);
    expect(v.chains.map((c) => [c.ok, c.entries])).toEqual([[true, 2]]);
  });

  it('follows a rotation: after a signer_change the new key resumes the chain and the old one is refused', async () => {
    const d = dir();
    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'c' });
    const guard = guardWith({ signingKeys: first, logStore: store, policy: openPolicy() });
    await oneCall(guard);
    await guard.rotateSigningKey(second, 'scheduled');
    await store.close();
    // The head is the signer_change entry itself: it hands over to the new key.
    await expect(FileDecisionLogStore.open({ dir: d, chainId: 'c', signerPublicKey: first.publicKey })).rejects.toBeInstanceOf(ChainSignerMismatchError);
    const resumed = await FileDecisionLogStore.open({ dir: d, chainId: 'c', signerPublicKey: second.publicKey });
    await oneCall(guardWith({ signingKeys: second, logStore: resumed, policy: openPolicy() }));
    await resumed.close();
    // Now signed by the new key at the head.
    const writer = await ChainFileWriter.open({ dir: d, chainId: 'c' });
    expect(writer.recovery.signer).toBe(signerFingerprint(second.publicKey));
    await writer.close();
    expect((await verifyDecisionLog(d, first.publicKey)).ok).toBe(true);
  });

  it('assertChainSignerSync tells before start-up, synchronously, past a torn last line and a rotation', async () => {
    const d = dir();
    expect(() => assertChainSignerSync(d, 'c', second.publicKey)).not.toThrow(); // no chain yet
    expect(() => assertChainSignerSync(join(d, 'missing'), 'c', second.publicKey)).not.toThrow();
    await chainSignedBy(d);
    const files = readdirSync(d).filter((f) => f.startsWith('c.') && f.endsWith('.jsonl') && !f.includes('checkpoints'));
    appendFileSync(join(d, files.sort().at(-1)!), '{"sequence":2,"decision":{"entryTy');
    expect(readChainSignerSync(d, 'c')).toEqual({ signer: signerFingerprint(first.publicKey), headSequence: 1 });
    expect(() => assertChainSignerSync(d, 'c', first.publicKey)).not.toThrow();
    expect(() => assertChainSignerSync(d, 'c', second.publicKey)).toThrow(ChainSignerMismatchError);

    const store = await FileDecisionLogStore.open({ dir: d, chainId: 'c', onWarning: () => undefined });
    await guardWith({ signingKeys: first, logStore: store, policy: openPolicy() }).rotateSigningKey(second, 'scheduled');
    await store.close();
    expect(readChainSignerSync(d, 'c')).toEqual({ signer: signerFingerprint(second.publicKey), headSequence: 2 });
    expect(() => assertChainSignerSync(d, 'c', second.publicKey)).not.toThrow();
  });

  it('rejects a malformed signerPublicKey with an error naming it', async () => {
    await expect(FileDecisionLogStore.open({ dir: dir(), signerPublicKey: 'nothex' })).rejects.toThrow(
      'signerPublicKey: expected a 32-byte public key or a 16-hex-digit fingerprint',
    );
  });
});
