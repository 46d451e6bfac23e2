import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';

/** One line of an OTLP JSON file (gzip or not), without its newline. */
export interface OtlpFileLine {
  /** 1-based line number (of the decompressed text). */
  line: number;
  text: string;
  /** False for a last line without a newline (a write cut short). */
  terminated: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];
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

/**
 * Whether `path` is a file of OTLP JSON logs as the Collector's file exporter
 * writes them (one `{"resourceLogs":[...]}` per line), gzip-compressed or not.
 * Reads only the file's first bytes.
 */
export async function isOtlpLogsFile(path: string): Promise<boolean> {
  let start = await head(path, SNIFF_BYTES);
  if (isGzip(start)) {
    try {
      start = gunzipSync(start, { finishFlush: 2 /* Z_SYNC_FLUSH: a prefix is enough */ });
    } catch {
      return false;
    }
  }
  return /^\s*\{\s*"resourceLogs"\s*:/.test(start.subarray(0, 256).toString('utf8'));
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

/** Streams the lines of an OTLP JSON file, decompressing gzip, in flat memory. */
export async function* readOtlpLines(path: string): AsyncGenerator<OtlpFileLine> {
  const gz = isGzip(await head(path, 2));
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream: Readable = gz ? raw.pipe(createGunzip()) : raw;
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
