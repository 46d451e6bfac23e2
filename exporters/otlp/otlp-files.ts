import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';

/**
 * One export request of an OTLP JSON file: a line (plain or gzip), or a
 * length-prefixed zstd frame (the Collector's file exporter with
 * `compression: zstd`).
 */
export interface OtlpFileLine {
  /** 1-based line number of the decompressed text, or frame number. */
  line: number;
  text: string;
  /** False for a last line without a newline, or a last frame cut short (a write cut short). */
  terminated: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
/** Largest zstd frame read (a frame is one export request). */
const MAX_FRAME_BYTES = 256 << 20;

type Zstd = { zstdDecompressSync(buf: Buffer): Buffer };
const zstd = (zlib as unknown as Partial<Zstd>).zstdDecompressSync ? (zlib as unknown as Zstd) : null;
/** How much of a file {@link isOtlpLogsFile} reads to tell. */
const SNIFF_BYTES = 4096;

async function head(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

const isGzip = (b: Buffer) => b.length >= 2 && b[0] === GZIP_MAGIC[0] && b[1] === GZIP_MAGIC[1];
/** A 4-byte big-endian length, then a zstd frame. */
const isFramedZstd = (b: Buffer) => b.length >= 8 && ZSTD_MAGIC.every((m, i) => b[4 + i] === m);

/**
 * Whether `path` is a file of OTLP JSON logs as the Collector's file exporter
 * writes them: one `{"resourceLogs":[...]}` per line, gzip-compressed or not,
 * or (`compression: zstd`) each request a zstd frame after its 4-byte length.
 * Reads only the file's first bytes (and first frame).
 */
export async function isOtlpLogsFile(path: string): Promise<boolean> {
  let start = await head(path, SNIFF_BYTES);
  try {
    if (isGzip(start)) start = zlib.gunzipSync(start, { finishFlush: zlib.constants.Z_SYNC_FLUSH /* a prefix is enough */ });
    else if (isFramedZstd(start)) {
      const first = await readFrame(path, 0);
      if (!first?.complete || !zstd) return first !== null && !zstd; // a zstd file this Node cannot read: say so when read
      start = zstd.zstdDecompressSync(first.frame);
    }
  } catch {
    return false;
  }
  return /^\s*\{\s*"resourceLogs"\s*:/.test(start.subarray(0, 256).toString('utf8'));
}

/** The length-prefixed frame at `offset`, or null at the end of the file. */
async function readFrame(
  path: string,
  offset: number,
  fh?: Awaited<ReturnType<typeof open>>,
): Promise<{ frame: Buffer; complete: boolean; next: number } | null> {
  const own = fh ?? (await open(path, 'r'));
  try {
    const len = Buffer.alloc(4);
    const { bytesRead } = await own.read(len, 0, 4, offset);
    if (bytesRead === 0) return null;
    if (bytesRead < 4) return { frame: Buffer.alloc(0), complete: false, next: offset + bytesRead };
    const size = len.readUInt32BE(0);
    if (size > MAX_FRAME_BYTES) throw new Error(`${path}: frame at byte ${offset} claims ${size} bytes (over ${MAX_FRAME_BYTES})`);
    const frame = Buffer.alloc(size);
    const got = (await own.read(frame, 0, size, offset + 4)).bytesRead;
    return { frame: frame.subarray(0, got), complete: got === size, next: offset + 4 + got };
  } finally {
    if (!fh) await own.close();
  }
}

/**
 * The OTLP logs files at `path`: the file itself, or the files of a directory
 * (not recursive) that hold OTLP JSON logs, by name. Empty when there are none.
 */
export async function listOtlpLogFiles(path: string): Promise<{ path: string; bytes: number }[]> {
  const info = await stat(path);
  const candidates = info.isDirectory() ? (await readdir(path)).sort().map((n) => join(path, n)) : [path];
  const out: { path: string; bytes: number }[] = [];
  for (const p of candidates) {
    const s = await stat(p);
    if (s.isFile() && s.size > 0 && (await isOtlpLogsFile(p))) out.push({ path: p, bytes: s.size });
  }
  return out;
}

/** Streams the export requests of an OTLP JSON file (lines, decompressing gzip; or zstd frames), in flat memory. */
export async function* readOtlpLines(path: string): AsyncGenerator<OtlpFileLine> {
  const start = await head(path, 8);
  if (isFramedZstd(start)) {
    yield* readZstdFrames(path);
    return;
  }
  const gz = isGzip(start);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream: Readable = gz ? raw.pipe(zlib.createGunzip()) : raw;
  if (gz) raw.on('error', (err) => stream.destroy(err));
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let line = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const text = carry + decoder.decode(chunk, { stream: true });
      const parts = text.split('\n');
      carry = parts.pop()!;
      for (const p of parts) yield { line: ++line, text: p.endsWith('\r') ? p.slice(0, -1) : p, terminated: true };
    }
  } catch (err) {
    throw new Error(`${path}: ${gz ? 'gzip stream: ' : ''}${(err as Error).message}`, { cause: err });
  } finally {
    raw.destroy();
  }
  carry += decoder.decode();
  if (carry.length > 0) yield { line: ++line, text: carry, terminated: false };
}

/** Whether `path` (a file or a directory) holds OTLP JSON logs rather than a JSONL decision log; false when it cannot be read. */
export async function isOtlpLogPath(path: string): Promise<boolean> {
  try {
    return (await listOtlpLogFiles(path)).length > 0;
  } catch {
    return false;
  }
}

/** The export requests of a file written with `compression: zstd`: each a zstd frame after its 4-byte big-endian length. */
async function* readZstdFrames(path: string): AsyncGenerator<OtlpFileLine> {
  if (!zstd) throw new Error(`${path}: zstd-compressed; this Node.js has no zstd (22.15 or newer has): decompress it first`);
  const fh = await open(path, 'r');
  try {
    let offset = 0;
    for (let n = 1; ; n++) {
      const f = await readFrame(path, offset, fh);
      if (!f) return;
      if (!f.complete) {
        yield { line: n, text: '', terminated: false };
        return;
      }
      let text: string;
      try {
        text = zstd.zstdDecompressSync(f.frame).toString('utf8');
      } catch (err) {
        throw new Error(`${path}: frame ${n} (byte ${offset}): not zstd (${(err as Error).message})`, { cause: err });
      }
      yield { line: n, text, terminated: true };
      offset = f.next;
    }
  } finally {
    await fh.close();
  }
}
