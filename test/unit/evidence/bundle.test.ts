import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EvidenceBundle } from "../../../src/evidence/chain/bundle.js";
import {
  nextCheckpoint,
  signLogCheckpoint,
  buildFilteredBundle,
  buildFullBundle,
  serializeBundle,
  verifyBundle,
  verifyBundleText,
  verifyExtends,
} from "../../../src/evidence/chain/bundle.js";
import { canonicalJson } from "../../../src/json/canonical-json.js";
import type { EvidenceRecord } from "../../../src/ports/evidence.js";
import { EMPTY_CHAIN_HEAD, sealChain, sealRecord } from "../../../src/evidence/chain/record.js";
import { signCheckpointNote } from "../../../src/evidence/chain/note.js";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import { verifyChain } from "../../../src/evidence/chain/verify-chain.js";
import { chain, draft, FIXED_NOW, TEST_KEY, TEST_ORIGIN } from "./fixtures.js";

const context = { key: TEST_KEY, origin: TEST_ORIGIN, now: FIXED_NOW };
const LOG = chain(12);
const FULL = buildFullBundle(LOG, context);
const FULL_TEXT = Buffer.from(serializeBundle(FULL), "utf8");

function withRecords(bundle: EvidenceBundle, records: readonly EvidenceRecord[]): EvidenceBundle {
  return { ...bundle, records };
}

/** [start, end) byte ranges of each record inside the serialised bundle. */
function recordSpans(text: Buffer, records: readonly EvidenceRecord[]): [number, number][] {
  const spans: [number, number][] = [];
  let from = 0;
  for (const record of records) {
    const encoded = Buffer.from(canonicalJson(record), "utf8");
    const start = text.indexOf(encoded, from);
    spans.push([start, start + encoded.length]);
    from = start + encoded.length;
  }
  return spans;
}

function parses(bytes: Buffer): boolean {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return true;
  } catch {
    return false;
  }
}

describe("full bundles", () => {
  it("verify when untouched, empty logs included", () => {
    expect(verifyBundleText(FULL_TEXT)).toMatchObject({ ok: true, kind: "full", records: 12, keyId: TEST_KEY.keyId });
    expect(verifyBundleText(serializeBundle(buildFullBundle([], context)))).toMatchObject({ ok: true, records: 0 });
    expect(verifyChain(LOG)).toMatchObject({ ok: true, size: 12 });
  });

  it("detect any single-byte corruption, naming the record whose bytes changed", () => {
    const spans = recordSpans(FULL_TEXT, LOG);
    fc.assert(
      fc.property(fc.nat({ max: FULL_TEXT.length - 1 }), fc.integer({ min: 1, max: 255 }), (offset, delta) => {
        const corrupted = Buffer.from(FULL_TEXT);
        corrupted[offset] = ((corrupted[offset] ?? 0) + delta) % 256;
        const result = verifyBundleText(corrupted);
        expect(result.ok).toBe(false);
        const inRecord = spans.findIndex(([start, end]) => offset >= start && offset < end);
        if (inRecord >= 0 && parses(corrupted) && !result.ok) expect(result.seq).toBe(inRecord);
      }),
      { numRuns: 2000 },
    );
  });

  it("detect the deletion of any record, naming its seq", () => {
    fc.assert(
      fc.property(fc.nat({ max: LOG.length - 1 }), (seq) => {
        const records = LOG.filter((r) => r.seq !== seq);
        expect(verifyBundle(withRecords(FULL, records))).toMatchObject({ ok: false, seq });
      }),
    );
  });

  it("detect a swap of any two records, naming the first position that changed", () => {
    fc.assert(
      fc.property(fc.nat({ max: LOG.length - 1 }), fc.nat({ max: LOG.length - 1 }), (a, b) => {
        fc.pre(a !== b);
        const records = [...LOG];
        [records[a], records[b]] = [records[b] as EvidenceRecord, records[a] as EvidenceRecord];
        expect(verifyBundle(withRecords(FULL, records))).toMatchObject({ ok: false, seq: Math.min(a, b) });
      }),
    );
  });

  it("detect a history rewritten with recomputed hashes through the checkpoint's Merkle root", () => {
    const rewritten = sealChain(
      [...LOG.slice(0, 5), { ...draft(5), data: { allowed: true } }, ...LOG.slice(6)],
      EMPTY_CHAIN_HEAD,
    );
    expect(verifyChain(rewritten).ok).toBe(true);
    expect(verifyBundle(withRecords(FULL, rewritten))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/Merkle root/) as unknown,
    });
  });

  it("report a record appended after the checkpoint as unsigned, and detect an unknown field", () => {
    const extra = sealRecord(draft(12), { nextSeq: 12, prevHash: LOG[11]?.hash ?? "" });
    expect(verifyBundle(withRecords(FULL, [...LOG, extra]))).toMatchObject({ ok: true, records: 13, unsigned: 1 });
    const withField = LOG.map((r) => (r.seq === 3 ? { ...r, extra: 1 } : r));
    expect(verifyBundle(withRecords(FULL, withField))).toMatchObject({
      ok: false,
      seq: 3,
      reason: expect.stringMatching(/malformed/) as unknown,
    });
  });

  it("is re-signed by anyone with a key, which only a pinned key id catches", () => {
    const forger = generateSigningKey();
    const forged = buildFullBundle(LOG, { ...context, key: forger });
    expect(verifyBundle(forged).ok).toBe(true);
    expect(verifyBundle(forged, { trustedKeyIds: [TEST_KEY.keyId] })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not a trusted key/) as unknown,
    });
    expect(verifyBundle(FULL, { trustedKeyIds: [TEST_KEY.keyId] }).ok).toBe(true);
  });

  it("reports unreadable input without a seq", () => {
    expect(verifyBundleText("{")).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not valid JSON/) as unknown,
    });
    expect(verifyBundleText(Buffer.from([0xff]))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/UTF-8/) as unknown,
    });
    expect(verifyBundle({ format: "other" })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/malformed bundle/) as unknown,
    });
  });
});

describe("filtered bundles", () => {
  const bySubject = LOG.filter((r) => r.subject === "Deployment/prod/web-1");
  const hashes = LOG.map((r) => r.hash);
  const SUBJECT = buildFilteredBundle(hashes, bySubject, { subject: "Deployment/prod/web-1" }, context);
  const SUFFIX = buildFilteredBundle(hashes, LOG.slice(7), { sinceSeq: 7 }, context);

  it("verify the selected records by inclusion proofs against the whole log's checkpoint", () => {
    expect(verifyBundleText(serializeBundle(SUBJECT))).toMatchObject({ ok: true, kind: "filtered", records: 4 });
    expect(SUBJECT.checkpoint?.checkpoint).toEqual(FULL.checkpoint?.checkpoint);
    expect(verifyBundleText(serializeBundle(SUFFIX))).toMatchObject({ ok: true, records: 5 });
  });

  it("detect any single-byte corruption", () => {
    const text = Buffer.from(serializeBundle(SUBJECT), "utf8");
    const spans = recordSpans(text, bySubject);
    fc.assert(
      fc.property(fc.nat({ max: text.length - 1 }), fc.integer({ min: 1, max: 255 }), (offset, delta) => {
        const corrupted = Buffer.from(text);
        corrupted[offset] = ((corrupted[offset] ?? 0) + delta) % 256;
        const result = verifyBundleText(corrupted);
        expect(result.ok).toBe(false);
        const inRecord = spans.findIndex(([start, end]) => offset >= start && offset < end);
        if (inRecord >= 0 && parses(corrupted) && !result.ok) expect(result.seq).toBeDefined();
      }),
      { numRuns: 1000 },
    );
  });

  it("detect a swap of records, and a record that does not match the filter", () => {
    const swapped = [bySubject[1], bySubject[0], ...bySubject.slice(2)] as EvidenceRecord[];
    expect(verifyBundle(withRecords(SUBJECT, swapped))).toMatchObject({ ok: false, seq: bySubject[1]?.seq });
    const other = buildFilteredBundle(
      hashes,
      [LOG[0] as EvidenceRecord],
      { subject: "Deployment/prod/web-1" },
      context,
    );
    expect(verifyBundle(other)).toMatchObject({
      ok: false,
      seq: 0,
      reason: expect.stringMatching(/filter/) as unknown,
    });
  });

  it("detect a deleted record in a seq suffix, naming it", () => {
    const proofs = SUFFIX.proofs ?? [];
    const damaged = {
      ...SUFFIX,
      records: SUFFIX.records.filter((r) => r.seq !== 9),
      proofs: proofs.filter((_, i) => i !== 2),
    };
    expect(verifyBundle(damaged)).toMatchObject({ ok: false, seq: 9 });
    const truncated = { ...SUFFIX, records: SUFFIX.records.slice(0, -1), proofs: proofs.slice(0, -1) };
    expect(verifyBundle(truncated)).toMatchObject({ ok: false, seq: 11 });
  });
});

describe("a later full bundle against an earlier one", () => {
  it("passes when it only appends, and names the first record of a rewritten history", () => {
    const later = buildFullBundle(
      [...LOG, sealRecord(draft(12), { nextSeq: 12, prevHash: LOG[11]?.hash ?? "" })],
      context,
    );
    expect(verifyExtends(FULL, later)).toMatchObject({ ok: true, records: 13 });
    const rewritten = sealChain(
      [...LOG.slice(0, 4), { ...draft(4), actor: "mallory" }, ...LOG.slice(5)],
      EMPTY_CHAIN_HEAD,
    );
    const forged = buildFullBundle(rewritten, context); // consistent on its own: re-hashed and re-signed
    expect(verifyBundle(forged).ok).toBe(true);
    expect(verifyExtends(FULL, forged)).toMatchObject({
      ok: false,
      seq: 4,
      reason: expect.stringMatching(/history rewritten/) as unknown,
    });
    expect(verifyExtends(FULL, buildFullBundle(LOG.slice(0, 10), context))).toMatchObject({ ok: false, seq: 10 });
  });
});

describe("stored checkpoints (signed by aegis serve, shipped by export)", () => {
  const LONG = chain(30);
  const hashes = LONG.map((r) => r.hash);
  const stored = [5, 12, 30].map((size, i) => {
    const at = { ...context, now: new Date(FIXED_NOW.getTime() + i * 10_000) };
    return { checkpoint: signLogCheckpoint(hashes.slice(0, size), at), publicKey: TEST_KEY.publicKeyPem };
  });
  const trusted = { trustedKeyIds: [TEST_KEY.keyId] };

  it("ship every checkpoint with consistency proofs, all verified against the trusted key", () => {
    const bundle = buildFullBundle(LONG, { checkpoints: stored });
    expect(bundle.earlier?.map((e) => e.consistency.length)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(verifyBundleText(serializeBundle(bundle), trusted)).toMatchObject({ ok: true, checkpoints: 3, unsigned: 0 });
    const filtered = buildFilteredBundle(
      hashes,
      LONG.filter((r) => r.seq % 3 === 0),
      { subject: "Deployment/prod/web-0" },
      { checkpoints: stored },
    );
    expect(verifyBundle(filtered, trusted)).toMatchObject({ ok: true, kind: "filtered", checkpoints: 3 });
    expect(verifyBundle(buildFullBundle(LONG, { checkpoints: stored.slice(0, 2) }), trusted)).toMatchObject({
      ok: true,
      unsigned: 18,
    });
  });

  it("without any stored checkpoint, a full bundle proves its chain only; a filtered one cannot be built", () => {
    expect(verifyBundle(buildFullBundle(LONG, { checkpoints: [] }), trusted)).toMatchObject({
      ok: true,
      checkpoints: 0,
      unsigned: 30,
    });
    expect(() => buildFilteredBundle(hashes, LONG, { sinceSeq: 0 }, { checkpoints: [] })).toThrow(/signed checkpoint/);
  });

  it("catch a log rewritten after an earlier checkpoint, even re-checkpointed by a forger with the same key id pinned", () => {
    const rewritten = sealChain(
      LONG.map(({ seq: _s, prevHash: _p, hash: _h, ...rest }, i) => (i === 3 ? { ...rest, actor: "mallory" } : rest)),
      EMPTY_CHAIN_HEAD,
    );
    // The old signed checkpoints stay in the append-only table; the rewritten records no longer extend them.
    const bundle = buildFullBundle(rewritten, { checkpoints: stored });
    expect(verifyBundle(bundle, trusted)).toMatchObject({ ok: false });
    // A forger re-signs every checkpoint with their own key: the pinned key id refuses it.
    const forger = generateSigningKey();
    const forged = buildFullBundle(rewritten, { ...context, key: forger });
    expect(verifyBundle(forged, trusted)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not a trusted key/) as unknown,
    });
    // And the server refuses to sign a log that does not extend its last checkpoint.
    expect(() =>
      nextCheckpoint(
        rewritten.map((r) => r.hash),
        stored[1],
        context,
      ),
    ).toThrow(/does not extend the checkpoint of size 12/);
    expect(nextCheckpoint(hashes, stored[1], context)?.checkpoint.checkpoint.size).toBe(30);
    expect(nextCheckpoint(hashes, stored[2], context)).toBeUndefined();
  });

  it("with a checkpoint the auditor kept: pass when the log extends it, name a truncation or a rewrite", () => {
    const kept = stored[1]?.checkpoint;
    const bundle = buildFullBundle(LONG, { checkpoints: stored });
    expect(verifyBundle(bundle, { ...trusted, keptCheckpoint: kept })).toMatchObject({ ok: true });
    const truncated = buildFullBundle(LONG.slice(0, 8), { ...context, now: FIXED_NOW });
    expect(verifyBundle(truncated, { ...trusted, keptCheckpoint: kept })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/log truncated: .* covers 12 records, the bundle's log holds 8/) as unknown,
    });
    const rewritten = sealChain(
      LONG.map(({ seq: _s, prevHash: _p, hash: _h, ...rest }, i) => (i === 3 ? { ...rest, actor: "mallory" } : rest)),
      EMPTY_CHAIN_HEAD,
    );
    const resigned = buildFullBundle(rewritten, context);
    expect(verifyBundle(resigned, { ...trusted, keptCheckpoint: kept })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/log rewritten: .* at size 12/) as unknown,
    });
  });

  it("with a kept note whose log lost every checkpoint the trusted key signed: say that nothing vouches for it", () => {
    const checkpoint = stored[1]?.checkpoint.checkpoint;
    const note = signCheckpointNote(
      { origin: TEST_ORIGIN, size: checkpoint?.size ?? 0, rootHash: checkpoint?.rootHash ?? "" },
      TEST_KEY.privateKey,
    );
    // The records are intact (so neither truncated nor rewritten), but a superuser deleted the
    // stored checkpoints before the export.
    const reExported = buildFullBundle(LONG, { checkpoints: [] });
    expect(verifyBundle(reExported, { ...trusted, keptCheckpoint: { note } })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        new RegExp(`holds no checkpoint signed by ${TEST_KEY.keyId}.*were the stored checkpoints deleted`),
      ) as unknown,
    });
    expect(
      verifyBundle(buildFullBundle(LONG, { checkpoints: stored }), { ...trusted, keptCheckpoint: { note } }),
    ).toMatchObject({
      ok: true,
    });
  });
});
