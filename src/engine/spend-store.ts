/**
 * One window counter a reservation charges. `limitCents` makes the charge
 * conditional (the reservation fails if the counter would pass it); null
 * charges unconditionally (shadow and allow caps, soft downgrade caps).
 */
export interface WindowHold {
  /** Counter key: policy, cap, scope values and window instance. */
  key: string;
  limitCents: number | null;
  /** When the window ends; the counter may be dropped after. */
  expiresAtMs: number;
}

/** Reserve `cents` in every hold at once, or in none. */
export interface ReserveRequest {
  reservationId: string;
  cents: number;
  holds: WindowHold[];
  nowMs: number;
  /** After this long unsettled, the reservation is given back (crash safety). */
  ttlMs: number;
}

/**
 * `before[i]` is hold i's counter before this request. On failure nothing was
 * charged and `exceeded` lists the indexes of holds whose limit would be passed.
 */
export type ReserveResult = { ok: true; before: number[] } | { ok: false; before: number[]; exceeded: number[] };

/** Replace a reservation's hold with the actual spend (0 to release it). */
export interface SettleRequest {
  reservationId: string;
  /** The holds of the reservation; used when it has already expired. */
  holds: Pick<WindowHold, 'key' | 'expiresAtMs'>[];
  actualCents: number;
  nowMs: number;
}

/**
 * Window counters shared by everything that enforces the same caps. Every
 * implementation must make {@link SpendStore.reserve} atomic across all holds:
 * concurrent reservations can never together pass a limit.
 */
export interface SpendStore {
  reserve(request: ReserveRequest): Promise<ReserveResult>;
  /**
   * Settles a reservation: its counters change by `actualCents − reserved`.
   * Returns counters after. If the reservation already expired, the actual
   * spend is added to the live windows (it was really spent).
   */
  settle(request: SettleRequest): Promise<{ after: number[] }>;
  /** Current counters (expired windows read 0). */
  read(keys: string[], nowMs: number): Promise<number[]>;
  close?(): Promise<void>;
}
