import fc from "fast-check";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/ports/logger.js";
import { encodeLine, parseSpool, Spool } from "../../../src/evidence/spool.js";
import { draft } from "./fixtures.js";

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aegis-spool-"));
  path = join(dir, "spool.jsonl");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const drafts = Array.from({ length: 5 }, (_, i) => draft(i));

describe("evidence spool", () => {
  it("recovers appended drafts in order after a restart", async () => {
    const { spool } = await Spool.open(path);
    await spool.append(drafts.slice(0, 2));
    await spool.append(drafts.slice(2));
    await spool.close();
    const reopened = await Spool.open(path);
    expect(reopened.recovery).toEqual({ records: 5, truncatedBytes: 0, corruptLines: 0 });
    expect(reopened.spool.peek(10).map((e) => e.draft)).toEqual(drafts);
    await reopened.spool.close();
  });

  it("recovers every whole record from a file cut at any byte of its last write", async () => {
    const whole = Buffer.concat(drafts.slice(0, 4).map(encodeLine));
    const torn = encodeLine(drafts[4] ?? draft(4));
    for (let cut = 0; cut < torn.length; cut++) {
      await writeFile(path, Buffer.concat([whole, torn.subarray(0, cut)]));
      const { spool, recovery } = await Spool.open(path);
      expect(recovery).toEqual({ records: 4, truncatedBytes: cut, corruptLines: 0 });
      expect((await stat(path)).size).toBe(whole.length);
      // Appends after recovery start on a clean line and survive the next restart.
      await spool.append([draft(9)]);
      await spool.close();
      const again = await Spool.open(path);
      expect(again.spool.peek(10).map((e) => e.draft.id)).toEqual([
        "event-0",
        "event-1",
        "event-2",
        "event-3",
        "event-9",
      ]);
      await again.spool.close();
    }
  });

  it("skips and reports a corrupt line between good ones, keeping the rest", async () => {
    const lines = drafts.map(encodeLine);
    const damaged = Buffer.from(lines[2] ?? Buffer.alloc(0));
    damaged[20] = (damaged[20] ?? 0) ^ 0x01;
    await writeFile(path, Buffer.concat([lines[0], lines[1], damaged, lines[3], lines[4]] as Buffer[]));
    const { spool, recovery } = await Spool.open(path);
    expect(recovery).toEqual({ records: 4, truncatedBytes: 0, corruptLines: 1 });
    expect(spool.peek(10).map((e) => e.draft.id)).toEqual(["event-0", "event-1", "event-3", "event-4"]);
    await spool.close();
  });

  it("finds exactly the whole lines in any prefix of a spool file (property)", () => {
    const encoded = drafts.map(encodeLine);
    const file = Buffer.concat(encoded);
    fc.assert(
      fc.property(fc.nat({ max: file.length }), (length) => {
        const parsed = parseSpool(file.subarray(0, length), path, silentLogger);
        let expected = 0;
        let end = 0;
        for (const line of encoded) {
          if (end + line.length > length) break;
          end += line.length;
          expected++;
        }
        expect(parsed.drafts.map((d) => d.id)).toEqual(drafts.slice(0, expected).map((d) => d.id));
        expect(parsed.goodLength).toBe(end);
      }),
    );
  });

  it("empties the file once every record is released", async () => {
    const { spool } = await Spool.open(path);
    await spool.append(drafts);
    await spool.release(spool.peek(2));
    expect(spool.depth).toBe(3);
    expect((await readFile(path)).length).toBeGreaterThan(0);
    await spool.release(spool.peek(10));
    expect(spool.depth).toBe(0);
    expect((await readFile(path)).length).toBe(0);
    await spool.close();
  });

  it("drops drafts whose write failed and rejects naming the spool file: nothing waits only in memory", async () => {
    const { spool } = await Spool.open(path);
    await spool.append([draft(0)]);
    await spool.close(); // every later write fails: the file handle is gone
    await expect(spool.append([draft(1)])).rejects.toThrow(`evidence spool ${path}: cannot write 1 records`);
    await expect(spool.append([draft(2), draft(3)])).rejects.toThrow(/cannot write 2 records/);
    expect(spool.peek(10).map((e) => [e.draft.id, e.state])).toEqual([["event-0", "durable"]]);
  });
});
