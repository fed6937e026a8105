import type { LabelledExample } from "../../../src/risk/learning/index.js";

/** A deterministic pseudo-random stream (mulberry32), so synthetic histories are reproducible. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Approvers who reject privilege increases nearly always, host access often, and do not care
 * about mutable tags or working hours (unlike v1, which counts those).
 */
export const TRUE_REJECTION: Readonly<Record<string, number>> = {
  "privilege-increase": 0.9,
  "host-access": 0.6,
  "new-registry": 0.3,
  "mutable-tag": 0.02,
  "outside-working-hours": 0.02,
  "image-change": 0.03,
};

export function syntheticHistory(count: number, seed = 7): LabelledExample[] {
  const next = random(seed);
  const names = Object.keys(TRUE_REJECTION);
  return Array.from({ length: count }, (_, index) => {
    const factors = names.filter(() => next() < 0.3);
    const rejected = factors.some((name) => next() < (TRUE_REJECTION[name] ?? 0));
    return { id: `r${index}`, factors, approved: !rejected };
  });
}
