import { trace, type Attributes, type AttributeValue, type Tracer } from '@opentelemetry/api';
import { CHECKPOINT_TYPE, describeMalformedCheckpoint, type Checkpoint } from '../../src/audit/checkpoint.js';

/** Name of the span event (and of the fallback span) that carries a checkpoint. */
export const CHECKPOINT_EVENT = 'agentguard.checkpoint';

/** The attribute names of a checkpoint span event: exactly the checkpoint's fields. */
export const CHECKPOINT_ATTR = {
  CHAIN_ID: 'agentguard.checkpoint.chain_id',
  SEQUENCE: 'agentguard.checkpoint.sequence',
  ENTRY_HASH: 'agentguard.checkpoint.entry_hash',
  TIMESTAMP: 'agentguard.checkpoint.timestamp',
  SIGNER: 'agentguard.checkpoint.signer',
  SIGNATURE: 'agentguard.checkpoint.signature',
} as const;

/** A checkpoint as span-event attributes (every signed field, so it can be rebuilt as is). */
export function checkpointAttributes(cp: Checkpoint): Attributes {
  return {
    [CHECKPOINT_ATTR.CHAIN_ID]: cp.chainId,
    [CHECKPOINT_ATTR.SEQUENCE]: cp.sequence,
    [CHECKPOINT_ATTR.ENTRY_HASH]: cp.entryHash,
    [CHECKPOINT_ATTR.TIMESTAMP]: cp.timestamp,
    [CHECKPOINT_ATTR.SIGNER]: cp.signerFingerprint,
    [CHECKPOINT_ATTR.SIGNATURE]: cp.signature,
  };
}

/**
 * Rebuilds a checkpoint from the attributes of an `agentguard.checkpoint`
 * span event (as exported by a trace backend), for `verifyChain`'s
 * `checkpoints` or a JSONL file for the CLI's `verify --checkpoints`.
 * Throws naming the attribute that is missing or malformed. The signature is
 * not checked here; the verifier checks it.
 */
export function checkpointFromAttributes(attributes: Record<string, AttributeValue | undefined>): Checkpoint {
  const str = (k: string) => {
    const v = attributes[k];
    if (typeof v !== 'string') throw new TypeError(`${k}: expected a string attribute, got ${v === undefined ? 'nothing' : typeof v}`);
    return v;
  };
  const seq = attributes[CHECKPOINT_ATTR.SEQUENCE];
  const sequence = typeof seq === 'string' && /^\d+$/.test(seq) ? Number(seq) : seq;
  if (typeof sequence !== 'number') throw new TypeError(`${CHECKPOINT_ATTR.SEQUENCE}: expected an integer attribute`);
  const cp: Checkpoint = {
    type: CHECKPOINT_TYPE,
    chainId: str(CHECKPOINT_ATTR.CHAIN_ID),
    sequence,
    entryHash: str(CHECKPOINT_ATTR.ENTRY_HASH),
    timestamp: str(CHECKPOINT_ATTR.TIMESTAMP),
    signerFingerprint: str(CHECKPOINT_ATTR.SIGNER),
    signature: str(CHECKPOINT_ATTR.SIGNATURE),
  };
  const bad = describeMalformedCheckpoint(cp);
  if (bad) throw new TypeError(`agentguard.checkpoint event: ${bad}`);
  return cp;
}

/** Options of {@link checkpointSpanEvents}. */
export interface CheckpointSpanEventsOptions {
  /** Tracer for the fallback span (default: the global tracer provider's `agentguard-spend`). */
  tracer?: Tracer;
}

/**
 * An `onCheckpoint` callback for `FileDecisionLogStore` / `ChainFileWriter`
 * that copies each checkpoint into the trace stream, so a copy lives outside
 * the log's storage: as an `agentguard.checkpoint` span event on the active
 * span when there is a recording one (e.g. the application's span around the
 * guarded call), else on a short span of its own named `agentguard.checkpoint`
 * (shutdown, batch-mode writes, file rotation). Attributes: see
 * {@link CHECKPOINT_ATTR}; {@link checkpointFromAttributes} turns them back
 * into a checkpoint. Without an OpenTelemetry SDK registered it does nothing.
 *
 * @example
 * new FileDecisionLogStore({ dir, checkpoints: { onCheckpoint: checkpointSpanEvents() } })
 */
export function checkpointSpanEvents(options: CheckpointSpanEventsOptions = {}): (checkpoint: Checkpoint) => void {
  return (cp) => {
    const attributes = checkpointAttributes(cp);
    const time = Date.parse(cp.timestamp);
    const active = trace.getActiveSpan();
    if (active?.isRecording()) {
      active.addEvent(CHECKPOINT_EVENT, attributes, time);
      return;
    }
    const tracer = options.tracer ?? trace.getTracer('agentguard-spend');
    const span = tracer.startSpan(CHECKPOINT_EVENT, { attributes: { [CHECKPOINT_ATTR.CHAIN_ID]: cp.chainId, [CHECKPOINT_ATTR.SEQUENCE]: cp.sequence } });
    span.addEvent(CHECKPOINT_EVENT, attributes, time);
    span.end();
  };
}
