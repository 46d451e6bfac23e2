import type { ReserveRequest, ReserveResult, SettleRequest, SpendStore } from './spend-store.js';

interface Counter {
  cents: number;
  expiresAtMs: number;
}

interface Reservation {
  cents: number;
  keys: string[];
  expiresAtMs: number;
}

/**
 * Spend counters in this process's memory: for tests and single-process apps.
 * Each operation runs synchronously to completion, so reservations are atomic
 * within the process; they do not hold across processes.
 */
export class InMemorySpendStore implements SpendStore {
  readonly #counters = new Map<string, Counter>();
  readonly #reservations = new Map<string, Reservation>();
  #nextExpiryMs = Infinity;

  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    this.#expire(req.nowMs);
    const before = req.holds.map((h) => this.#value(h.key, req.nowMs));
    const exceeded: number[] = [];
    req.holds.forEach((h, i) => {
      if (h.limitCents !== null && before[i]! + req.cents > h.limitCents) exceeded.push(i);
    });
    if (exceeded.length > 0) return { ok: false, before, exceeded };
    if (this.#reservations.has(req.reservationId)) throw new Error(`reservation ${req.reservationId} already exists`);
    req.holds.forEach((h, i) => this.#counters.set(h.key, { cents: before[i]! + req.cents, expiresAtMs: h.expiresAtMs }));
    const expiresAtMs = req.nowMs + req.ttlMs;
    this.#reservations.set(req.reservationId, { cents: req.cents, keys: req.holds.map((h) => h.key), expiresAtMs });
    this.#nextExpiryMs = Math.min(this.#nextExpiryMs, expiresAtMs);
    return { ok: true, before };
  }

  async settle(req: SettleRequest): Promise<{ after: number[] }> {
    this.#expire(req.nowMs);
    const reservation = this.#reservations.get(req.reservationId);
    this.#reservations.delete(req.reservationId);
    const delta = req.actualCents - (reservation?.cents ?? 0);
    const after = req.holds.map((h) => {
      const current = this.#value(h.key, req.nowMs);
      // A window that ended while the call ran is not charged again (and reads 0).
      if (h.expiresAtMs <= req.nowMs) return current;
      const next = Math.max(0, current + delta);
      this.#counters.set(h.key, { cents: next, expiresAtMs: h.expiresAtMs });
      return next;
    });
    return { after };
  }

  async read(keys: string[], nowMs: number): Promise<number[]> {
    this.#expire(nowMs);
    return keys.map((k) => this.#value(k, nowMs));
  }

  /** Reservations still held (for tests and diagnostics). */
  get openReservations(): number {
    return this.#reservations.size;
  }

  #value(key: string, nowMs: number): number {
    const c = this.#counters.get(key);
    if (!c) return 0;
    if (c.expiresAtMs <= nowMs) {
      this.#counters.delete(key);
      return 0;
    }
    return c.cents;
  }

  /** Gives back reservations whose holder never settled (a crash, a lost stream). */
  #expire(nowMs: number): void {
    if (nowMs < this.#nextExpiryMs) return;
    let next = Infinity;
    for (const [id, r] of this.#reservations) {
      if (r.expiresAtMs <= nowMs) {
        this.#reservations.delete(id);
        for (const key of r.keys) {
          const c = this.#counters.get(key);
          if (c) c.cents = Math.max(0, c.cents - r.cents);
        }
      } else {
        next = Math.min(next, r.expiresAtMs);
      }
    }
    this.#nextExpiryMs = next;
  }
}
