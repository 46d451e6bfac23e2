import { type DecisionLogEntry, type SigningKeys, signingKeysFromHex } from '../../src/index.js';
import { ChainWriter } from '../../src/audit/chain.js';
import { createSigner, type Signer } from '../../src/audit/signer.js';

/** Deterministic keys: seed bytes all equal to `n`. */
export function keysOf(n: number): SigningKeys {
  return signingKeysFromHex(n.toString(16).padStart(2, '0').repeat(32));
}

export function signerOf(n: number): Signer {
  return createSigner(keysOf(n));
}

/** A small integer-only decision. */
export function decision(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    entryType: 'decision',
    decisionId: `d-${i}`,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    action: 'allow',
    projectedCents: i * 3,
    reasons: [`r${i} ☕`],
    ...extra,
  };
}

/** `n` entries signed by one writer. */
export function chainOf(n: number, signer: Signer = signerOf(1)): { entries: DecisionLogEntry[]; writer: ChainWriter } {
  const writer = new ChainWriter(signer);
  const entries: DecisionLogEntry[] = [];
  for (let i = 0; i < n; i++) entries.push(writer.append(decision(i)));
  return { entries, writer };
}

export const clone = <T>(v: T): T => structuredClone(v);
