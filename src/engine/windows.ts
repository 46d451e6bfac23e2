/** Spend windows. Calendar windows are UTC; `per_call` bounds one call. */
export const WINDOWS = ['per_call', 'per_minute', 'per_hour', 'per_day', 'per_month'] as const;
export type SpendWindow = (typeof WINDOWS)[number];

/** One instance of a calendar window: `[startMs, endMs)` in UTC. */
export interface WindowInstance {
  startMs: number;
  endMs: number;
  /** Stable label of the instance, part of the counter key (e.g. `2026-11-25`). */
  label: string;
}

/** The UTC window instance of `window` that contains `nowMs`. */
export function windowAt(window: Exclude<SpendWindow, 'per_call'>, nowMs: number): WindowInstance {
  return { ...sharedWindowAt(window, nowMs) };
}

/**
 * {@link windowAt} for the engine's hot path: every call inside the same window
 * gets the same frozen instance, computed once per window and kind.
 */
export function sharedWindowAt(window: Exclude<SpendWindow, 'per_call'>, nowMs: number): Readonly<WindowInstance> {
  const last = lastInstance[window];
  if (last && nowMs >= last.startMs && nowMs < last.endMs) return last;
  return (lastInstance[window] = Object.freeze(computeWindowAt(window, nowMs)));
}

const lastInstance: Partial<Record<Exclude<SpendWindow, 'per_call'>, Readonly<WindowInstance>>> = {};

function computeWindowAt(window: Exclude<SpendWindow, 'per_call'>, nowMs: number): WindowInstance {
  const d = new Date(nowMs);
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth();
  const day = d.getUTCDate();
  const h = d.getUTCHours();
  const mi = d.getUTCMinutes();
  let startMs: number;
  let endMs: number;
  switch (window) {
    case 'per_minute':
      startMs = Date.UTC(y, mo, day, h, mi);
      endMs = startMs + 60_000;
      break;
    case 'per_hour':
      startMs = Date.UTC(y, mo, day, h);
      endMs = startMs + 3_600_000;
      break;
    case 'per_day':
      startMs = Date.UTC(y, mo, day);
      endMs = Date.UTC(y, mo, day + 1);
      break;
    case 'per_month':
      startMs = Date.UTC(y, mo, 1);
      endMs = Date.UTC(y, mo + 1, 1);
      break;
  }
  const iso = new Date(startMs).toISOString();
  const label = window === 'per_month' ? iso.slice(0, 7) : window === 'per_day' ? iso.slice(0, 10) : iso.slice(0, 16);
  return { startMs, endMs, label };
}
