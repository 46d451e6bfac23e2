import { createReadStream } from 'node:fs';

/** One line of a file, without its newline. */
export interface FileLine {
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** The line's bytes (UTF-8); empty when `tooLong`. */
  bytes: Buffer;
  /** False for a last line that has no newline after it (a torn write). */
  terminated: boolean;
  /**
   * With `maxLineBytes`: the line is longer. It is yielded as soon as it
   * crosses the limit (`length` is what was read by then, `bytes` is empty),
   * and the rest of it is skipped without being kept in memory.
   */
  tooLong?: boolean;
  /** The line's length in bytes (without its newline). */
  length: number;
}

/** Options of {@link readLines}. */
export interface ReadLinesOptions {
  /**
   * Longest line kept: a longer one is yielded once, as soon as it crosses
   * the limit, as `tooLong` with empty `bytes`; its bytes are dropped as they
   * are read, so memory stays bounded whatever the file holds (e.g. hundreds
   * of MB without a newline).
   */
  maxLineBytes?: number;
}

/**
 * Streams the lines of a file, reading it in chunks so memory stays flat
 * whatever the file's size, in time linear in it (a line spanning many chunks
 * is joined once). A final fragment with no newline is yielded with
 * `terminated: false`. `onBytes` is told how many bytes each chunk held.
 */
export async function* readLines(path: string, onBytes?: (n: number) => void, options: ReadLinesOptions = {}): AsyncGenerator<FileLine> {
  const max = options.maxLineBytes ?? Infinity;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  /** Pieces of the line being read, joined when its newline arrives. */
  let parts: Buffer[] = [];
  let partsLength = 0;
  /** The line being read is over `max`: its bytes are counted, not kept. */
  let skipping = false;
  /** Some bytes of the line being read have arrived. */
  let started = false;
  let lineOffset = 0;
  let offset = 0;
  let line = 0;
  /** Adds a piece to the line being read; returns the `tooLong` record when it just crossed `max`. */
  const take = (piece: Buffer, copy: boolean): FileLine | null => {
    if (skipping) return null;
    if (partsLength + piece.length > max) {
      skipping = true;
      const out: FileLine = { line: ++line, offset: lineOffset, bytes: Buffer.alloc(0), terminated: false, tooLong: true, length: partsLength + piece.length };
      parts = [];
      partsLength = 0;
      return out;
    }
    parts.push(copy ? Buffer.from(piece) : piece);
    partsLength += piece.length;
    return null;
  };
  /** Ends the line being read at a newline (or the end of the file); null when it was too long (already yielded). */
  const finish = (terminated: boolean): FileLine | null => {
    const out: FileLine | null = skipping
      ? null
      : { line: ++line, offset: lineOffset, bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts, partsLength), terminated, length: partsLength };
    parts = [];
    partsLength = 0;
    skipping = false;
    started = false;
    return out;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      onBytes?.(chunk.length);
      let start = 0;
      let nl = chunk.indexOf(0x0a, start);
      while (nl !== -1) {
        if (!started) lineOffset = offset + start;
        const over = take(chunk.subarray(start, nl), false);
        if (over) yield over;
        const done = finish(true);
        if (done) yield done;
        start = nl + 1;
        nl = chunk.indexOf(0x0a, start);
      }
      if (start < chunk.length) {
        if (!started) lineOffset = offset + start;
        started = true;
        // The rest of the chunk outlives it: keep a copy, not a view of the stream's buffer.
        const over = take(chunk.subarray(start), true);
        if (over) yield over;
      }
      offset += chunk.length;
    }
  } finally {
    stream.destroy();
  }
  if (started) {
    const done = finish(false);
    if (done) yield done;
  }
}
