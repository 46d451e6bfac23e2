import { createReadStream } from 'node:fs';

/** One line of a file, without its newline. */
export interface FileLine {
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** The line's bytes (UTF-8). */
  bytes: Buffer;
  /** False for a last line that has no newline after it (a torn write). */
  terminated: boolean;
}

/**
 * Streams the lines of a file, reading it in chunks so memory stays flat
 * whatever the file's size. A final fragment with no newline is yielded with
 * `terminated: false`. `onBytes` is told how many bytes each chunk held.
 */
export async function* readLines(path: string, onBytes?: (n: number) => void): AsyncGenerator<FileLine> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  let carry: Buffer | null = null;
  let carryOffset = 0;
  let offset = 0;
  let line = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      onBytes?.(chunk.length);
      let start = 0;
      let nl = chunk.indexOf(0x0a, start);
      while (nl !== -1) {
        const piece = chunk.subarray(start, nl);
        const bytes: Buffer = carry ? Buffer.concat([carry, piece]) : piece;
        const at: number = carry ? carryOffset : offset + start;
        carry = null;
        yield { line: ++line, offset: at, bytes, terminated: true };
        start = nl + 1;
        nl = chunk.indexOf(0x0a, start);
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        if (carry) carry = Buffer.concat([carry, rest]);
        else {
          carry = Buffer.from(rest);
          carryOffset = offset + start;
        }
      }
      offset += chunk.length;
    }
  } finally {
    stream.destroy();
  }
  if (carry && carry.length > 0) yield { line: ++line, offset: carryOffset, bytes: carry, terminated: false };
}
