import type { ChainHead, DecisionLogEntry } from '../../src/audit/chain.js';
import type { Signer } from '../../src/audit/signer.js';
import { ExportResultCode, type DecisionLogExporter, type ExportResult } from '../common/exporter.js';
import { ChainFileWriter, type ChainFileOptions } from './chain-file.js';
import type { ChainRecovery } from './recovery.js';

/**
 * Exports a chain's entries to JSONL files in a directory (see
 * {@link ChainFileWriter} for naming, rotation and resume). An export resolves
 * once its entries are written (and fdatasync'd when `fsync` is set); entries
 * that failed to write are kept and written by the next export or flush.
 */
export class FileDecisionLogExporter implements DecisionLogExporter {
  readonly #writer: ChainFileWriter;

  private constructor(writer: ChainFileWriter) {
    this.#writer = writer;
  }

  /** Opens (resuming if it exists) a chain in `options.dir`. */
  static async open(options: ChainFileOptions): Promise<FileDecisionLogExporter> {
    return new FileDecisionLogExporter(await ChainFileWriter.open(options));
  }

  /** Wraps an already opened writer. */
  static fromWriter(writer: ChainFileWriter): FileDecisionLogExporter {
    return new FileDecisionLogExporter(writer);
  }

  get chainId(): string {
    return this.#writer.chainId;
  }

  /** The last entry handed over, where a resumed chain continues. */
  get head(): ChainHead | null {
    return this.#writer.head;
  }

  get recovery(): ChainRecovery {
    return this.#writer.recovery;
  }

  get files(): readonly string[] {
    return this.#writer.files;
  }

  /** Hands over the chain's signing key so checkpoints are written (see {@link ChainFileWriter.attachSigner}). */
  attachSigner(signer: Signer): void {
    this.#writer.attachSigner(signer);
  }

  async export(entries: readonly DecisionLogEntry[]): Promise<ExportResult> {
    try {
      for (const entry of entries) this.#writer.enqueue(entry);
      await this.#writer.flush();
      return { code: ExportResultCode.SUCCESS };
    } catch (err) {
      return { code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) };
    }
  }

  forceFlush(): Promise<void> {
    return this.#writer.flush();
  }

  shutdown(): Promise<void> {
    return this.#writer.close();
  }
}
