import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Characters allowed in a chain id (they also make up the file-name prefix). */
export const CHAIN_ID_RE = /^[A-Za-z0-9_-]{1,200}$/;

/** `<chainId>.<YYYYMMDD>.<part>.jsonl`: the day of the file's first entry, and its place in the chain. */
const CHAIN_FILE_RE = /^(?<chainId>[A-Za-z0-9_-]+)\.(?<day>\d{8})\.(?<part>\d{6,})\.jsonl$/;

/** A file of a chain, parsed from its name. */
export interface ChainFileName {
  chainId: string;
  /** UTC day of the file's first entry, `YYYYMMDD`. */
  day: string;
  /** 1 for the first file of a chain, +1 at each rotation. */
  part: number;
}

/**
 * A chain id that does not collide across a fleet:
 * `agentguard-<hostname>-<pid>-<start time, UTC>-<8 random hex>`.
 * The host name is reduced to `[A-Za-z0-9_-]`.
 */
export function newChainId(nowMs = Date.now()): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, '_')
      .slice(0, 63) || 'host';
  const start = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `agentguard-${host}-${process.pid}-${start}-${randomBytes(4).toString('hex')}`;
}

/** Throws a one-line error naming the chain id when it cannot be used in a file name. */
export function assertChainId(chainId: string): void {
  if (typeof chainId !== 'string' || !CHAIN_ID_RE.test(chainId)) {
    throw new TypeError(`chainId: expected 1-200 characters of [A-Za-z0-9_-], got ${JSON.stringify(chainId)}`);
  }
}

/** File name of part `part` of `chainId`, whose first entry is on UTC day `day` (`YYYYMMDD`). */
export function chainFileName(chainId: string, day: string, part: number): string {
  return `${chainId}.${day}.${String(part).padStart(6, '0')}.jsonl`;
}

/** Parses a chain file name, or null for any other file. */
export function parseChainFileName(name: string): ChainFileName | null {
  const m = CHAIN_FILE_RE.exec(name);
  if (!m?.groups) return null;
  return { chainId: m.groups.chainId!, day: m.groups.day!, part: Number(m.groups.part) };
}

/** `YYYYMMDD` (UTC) of an ISO timestamp, or of `fallbackMs` when the timestamp is missing or invalid. */
export function utcDay(timestamp: unknown, fallbackMs: number): string {
  let ms = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  if (!Number.isFinite(ms)) ms = fallbackMs;
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
}
