import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { digestBytes, GENESIS_PREV_HASH, toDigest } from "../../../src/evidence/chain/hashing.js";
import { computeRecordHash, sealChain, EMPTY_CHAIN_HEAD } from "../../../src/evidence/chain/record.js";
import { draft } from "./fixtures.js";

describe("record hash", () => {
  it("is sha256 of the JCS encoding of every field but hash, id included", () => {
    const [record] = sealChain([draft(0)], EMPTY_CHAIN_HEAD);
    if (!record) throw new Error("no record");
    const expectedText =
      '{"actor":"system:aegis","data":{"allowed":true,"index":0,"nested":{"a":true,"b":[1,2.5,null]},"note":"ünïcödé ✓"},' +
      '"id":"event-0","prevHash":"' +
      GENESIS_PREV_HASH +
      '","seq":0,"subject":"Deployment/prod/web-0",' +
      '"time":"2025-01-01T00:00:00.000Z","type":"admission.decision"}';
    const expected = "sha256:" + createHash("sha256").update(expectedText, "utf8").digest("hex");
    expect(record.hash).toBe(expected);
    expect(computeRecordHash(record)).toBe(expected);
  });

  it("changes when any field changes, including the id", () => {
    const [record] = sealChain([draft(0)], EMPTY_CHAIN_HEAD);
    if (!record) throw new Error("no record");
    const variants = [
      { id: "other" },
      { seq: 1 },
      { time: "2025-01-01T00:00:00.001Z" },
      { data: {} },
      { prevHash: toDigest(Buffer.alloc(32, 1)) },
    ];
    for (const change of variants) expect(computeRecordHash({ ...record, ...change })).not.toBe(record.hash);
  });

  it("genesis prevHash is sha256: followed by 64 zeros", () => {
    expect(GENESIS_PREV_HASH).toBe(`sha256:${"0".repeat(64)}`);
    expect(digestBytes(GENESIS_PREV_HASH)).toEqual(Buffer.alloc(32));
    expect(() => digestBytes("sha256:ABC")).toThrow(/not a sha256 digest/);
  });
});
