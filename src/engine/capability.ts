/** Capability tiers, ascending: each tier implies the ones before it. */
export const CAPABILITY_TIERS = ['read_only', 'data_write', 'payment_initiate', 'payment_execute'] as const;

/** What an agent claims it may do on a call. */
export type CapabilityTier = (typeof CAPABILITY_TIERS)[number];

/** True when `claim` is present and at least `required`. */
export function capabilitySatisfies(claim: CapabilityTier | undefined, required: CapabilityTier): boolean {
  if (claim === undefined) return false;
  return CAPABILITY_TIERS.indexOf(claim) >= CAPABILITY_TIERS.indexOf(required);
}
