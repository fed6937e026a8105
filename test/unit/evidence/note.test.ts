import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  checkpointNoteText,
  cosignatureMessage,
  noteKeyId,
  openCheckpointNote,
  parseCheckpointNoteText,
  parseSignedNote,
  signCheckpointNote,
  verifyCosignature,
} from "../../../src/evidence/chain/note.js";

// golang.org/x/mod/sumdb/note's test vector (note_test.go TestSign): the seed behind
// "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz" (type byte 0x01
// then the 32-byte seed), the key id c74f20a3 and the exact signature line Go writes.
const PETER_SEED = Buffer.from("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "base64").subarray(1);
const PETER_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_LINE =
  "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

function ed25519FromSeed(seed: Buffer) {
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

const root = `sha256:${"ab".repeat(32)}`;

describe("signed notes (C2SP signed-note)", () => {
  const peter = ed25519FromSeed(PETER_SEED);

  it("computes Go's key id and signature for its own test vector", () => {
    expect(noteKeyId("PeterNeumann", 0x01, peter.publicKey).toString("hex")).toBe("c74f20a3");
    const signature = sign(null, Buffer.from(PETER_TEXT), peter.privateKey);
    const line = `\u2014 PeterNeumann ${Buffer.concat([noteKeyId("PeterNeumann", 0x01, peter.publicKey), signature]).toString("base64")}`;
    expect(line).toBe(PETER_LINE);
    const parsed = parseSignedNote(`${PETER_TEXT}\n${PETER_LINE}\n`);
    expect(parsed.text).toBe(PETER_TEXT);
    expect(parsed.signatures.map((s) => s.name)).toEqual(["PeterNeumann"]);
  });

  it.each([
    ["no signature block", PETER_TEXT],
    ["a blank line and nothing", `${PETER_TEXT}\n`],
    ["a signature without its newline", `${PETER_TEXT}\n${PETER_LINE}`],
    ["a control character", `\u0001${PETER_TEXT}\n${PETER_LINE}\n`],
    ["a key name with a space", `${PETER_TEXT}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pA=\n`],
    ["a line after the signatures", `${PETER_TEXT}\n${PETER_LINE}\nUnexpected line.\n`],
  ])("refuses %s (as Go's note.Open does)", (_name, text) => {
    expect(() => parseSignedNote(text)).toThrow(/malformed note/);
  });
});

describe("checkpoint notes (C2SP tlog-checkpoint)", () => {
  const log = generateKeyPairSync("ed25519");

  it("writes origin, size and the base64 root, and reads them back", () => {
    const text = checkpointNoteText({ origin: "aegis.valina.ai/evidence", size: 42, rootHash: root });
    expect(text).toBe(`aegis.valina.ai/evidence\n42\n${Buffer.from("ab".repeat(32), "hex").toString("base64")}\n`);
    expect(parseCheckpointNoteText(text)).toEqual({ origin: "aegis.valina.ai/evidence", size: 42, rootHash: root });
  });

  it("opens a note signed by the log key and ignores other keys' lines", () => {
    const note = signCheckpointNote({ origin: "example.test/log", size: 7, rootHash: root }, log.privateKey);
    const withStranger = `${note}\u2014 witness.example/w1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n`;
    const opened = openCheckpointNote(withStranger, log.publicKey);
    expect(opened.ok && opened.checkpoint).toEqual({ origin: "example.test/log", size: 7, rootHash: root });
  });

  it("refuses a note whose size or root was changed after signing, or signed by another key", () => {
    const note = signCheckpointNote({ origin: "example.test/log", size: 7, rootHash: root }, log.privateKey);
    expect(openCheckpointNote(note.replace("\n7\n", "\n8\n"), log.publicKey)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not verify/) as unknown,
    });
    const other = generateKeyPairSync("ed25519");
    expect(openCheckpointNote(note, other.publicKey)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no signature by the log key/) as unknown,
    });
  });

  it.each([
    ["a size with leading zeros", "example.test/log\n07\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"],
    ["a short root", "example.test/log\n7\nq6ur\n"],
    ["an extension line", "example.test/log\n7\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\next\n"],
  ])("refuses a checkpoint body with %s", (_name, text) => {
    expect(() => parseCheckpointNoteText(text)).toThrow(/malformed note/);
  });

  it("checks a witness cosignature/v1 over the note text with its timestamp", () => {
    const witness = generateKeyPairSync("ed25519");
    const note = signCheckpointNote({ origin: "example.test/log", size: 7, rootHash: root }, log.privateKey);
    const { text } = parseSignedNote(note);
    const timestamp = 1_767_225_600;
    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64BE(BigInt(timestamp));
    const signature = sign(null, cosignatureMessage(text, timestamp), witness.privateKey);
    const line = `\u2014 witness.test/w1 ${Buffer.concat([noteKeyId("witness.test/w1", 0x04, witness.publicKey), stamp, signature]).toString("base64")}\n`;
    const cosigned = parseSignedNote(note + line);
    expect(verifyCosignature(cosigned, "witness.test/w1", witness.publicKey)).toEqual({ ok: true, timestamp });
    const forged = parseSignedNote(note + line.replace("witness.test/w1", "witness.test/w2"));
    expect(verifyCosignature(forged, "witness.test/w1", witness.publicKey).ok).toBe(false);
    const tampered = parseSignedNote(note.replace("\n7\n", "\n9\n") + line);
    expect(verifyCosignature(tampered, "witness.test/w1", witness.publicKey)).toMatchObject({ ok: false });
  });
});
