// Builders shared by the evidence unit tests.
import type { RecordDraft } from "../../../src/evidence/chain/record.js";
import type { EvidenceRecord } from "../../../src/ports/evidence.js";
import { EMPTY_CHAIN_HEAD, sealChain } from "../../../src/evidence/chain/record.js";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";

export const TEST_ORIGIN = "aegis.valina.ai/evidence/test";
export const TEST_KEY = generateSigningKey();
export const FIXED_NOW = new Date("2025-01-02T03:04:05.678Z");

export function draft(index: number, overrides: Partial<RecordDraft> = {}): RecordDraft {
  return {
    id: `event-${index}`,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, index)).toISOString(),
    type: index % 2 === 0 ? "admission.decision" : "approval.decision",
    subject: `Deployment/prod/web-${index % 3}`,
    actor: "system:aegis",
    data: { allowed: index % 2 === 0, index, note: "ünïcödé ✓", nested: { b: [1, 2.5, null], a: true } },
    ...overrides,
  };
}

export function chain(size: number): EvidenceRecord[] {
  return sealChain(
    Array.from({ length: size }, (_, i) => draft(i)),
    EMPTY_CHAIN_HEAD,
  );
}
