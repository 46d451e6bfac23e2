/** `$12.34` for whole cents. */
export function dollars(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/**
 * Control characters (C0, DEL, C1), line and paragraph separators and bidi
 * overrides: on a terminal they can move the cursor, erase or reorder what was
 * printed (an ANSI escape in a file name can overwrite a FAILED line).
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` safe to print on a terminal: every control character is shown as a
 * `\u001b`-style escape. Applied to every value from a file name or a log line that the CLI prints.
 */
export function printable(text: string): string {
  return String(text).replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A plain-text table: the first column left-aligned, the others right-aligned. Every cell is {@link printable}. */
export function table(header: string[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** `1.5 MB` style sizes. */
export function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/**
 * A progress bar on a terminal's stderr, redrawn at most every 100 ms; does
 * nothing when stderr is not a TTY (pipes and CI get clean output).
 */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #label: string;
  readonly #enabled: boolean;
  #last = 0;
  #drawn = false;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#label = label;
    this.#enabled = Boolean(stream.isTTY);
  }

  update(done: number, total: number): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#last < 100 && done < total) return;
    this.#last = now;
    const width = 30;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * width);
    this.#stream.write(
      `\r${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${bytes(done)}/${bytes(total)}`,
    );
    this.#drawn = true;
  }

  done(): void {
    if (this.#enabled && this.#drawn) this.#stream.write('\r\x1b[2K');
  }
}
