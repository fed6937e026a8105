/** One evidence record as the API shows it (DESIGN §5 layout). */
export interface EvidenceRecordView {
  readonly seq: number;
  readonly id: string;
  readonly time: string;
  readonly type: string;
  readonly subject: string;
  readonly actor: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

/** Reads the newest evidence records, newest first; backs `GET /api/evidence`. */
export interface EvidenceReader {
  latest(limit: number): Promise<EvidenceRecordView[]>;
}

/** The slice of `EvidenceStore` (src/evidence/store/evidence-store.ts) the reader needs. */
export interface EvidenceRangeSource {
  head(): Promise<{ nextSeq: number }>;
  range(fromSeq: number, limit: number): Promise<readonly EvidenceRecordView[]>;
}

/** An `EvidenceReader` over the ledger's store: the head says where the chain ends, `range` reads back from it. */
export function evidenceReaderFromStore(store: EvidenceRangeSource): EvidenceReader {
  return {
    async latest(limit: number): Promise<EvidenceRecordView[]> {
      const { nextSeq } = await store.head();
      const count = Math.max(0, Math.min(limit, nextSeq));
      if (count === 0) return [];
      const records = await store.range(nextSeq - count, count);
      return [...records].reverse();
    },
  };
}
