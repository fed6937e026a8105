import type { EvidenceRecord, EvidenceRecordSource } from "../ports/evidence.js";

/** Reads the newest evidence records, newest first; backs `GET /api/evidence`. */
export interface EvidenceReader {
  /** Up to `limit` records with seq below `before` (default: the whole chain), newest first. */
  latest(limit: number, before?: number): Promise<EvidenceRecord[]>;
}

/** An `EvidenceReader` over the ledger's store: the head says where the chain ends, `range` reads back from it. */
export function evidenceReaderFromStore(store: EvidenceRecordSource): EvidenceReader {
  return {
    async latest(limit: number, before?: number): Promise<EvidenceRecord[]> {
      const { nextSeq } = await store.head();
      const end = Math.min(nextSeq, before ?? nextSeq);
      const count = Math.max(0, Math.min(limit, end));
      if (count === 0) return [];
      const records = await store.range(end - count, count);
      return [...records].reverse();
    },
  };
}
