// Durable local spool for records the database cannot take right now (DESIGN §5: "none is lost").
//
// File format: JSON lines, one record draft per line, each prefixed by the CRC-32 of its JSON:
//   `<8 hex digits> <canonical JSON>\n`
// Lines are only ever appended (O_APPEND) and fdatasync'd before `append()` resolves. A crash
// can leave a torn last line; recovery keeps every whole, checksum-valid line and cuts the file
// back to the last good one. The file is emptied once everything in it reached the database;
// a crash before that replays records the database already has, which the ledger skips by id.
//
// One process per spool file: each replica has its own data dir.
import type { FileHandle } from "node:fs/promises";
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { crc32 } from "node:zlib";
import type { Logger } from "../ports/logger.js";
import { silentLogger } from "../ports/logger.js";
import { canonicalJson } from "../json/canonical-json.js";
import type { RecordDraft } from "./chain/record.js";
import { recordDraftSchema } from "./chain/record.js";

const NEWLINE = 0x0a;

/** `writing`: its append has not finished; `durable`: on disk. A draft whose write failed is dropped. */
type EntryState = "writing" | "durable";

export interface SpoolEntry {
  readonly draft: RecordDraft;
  state: EntryState;
}

export interface SpoolRecovery {
  readonly records: number;
  /** Bytes of an incomplete or unreadable tail cut off the file (a write the crash interrupted). */
  readonly truncatedBytes: number;
  /** Unreadable lines followed by good ones: real corruption, reported and skipped. */
  readonly corruptLines: number;
}

export class Spool {
  private readonly entries: SpoolEntry[] = [];
  private exclusiveTail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    /** Length of the file up to the end of its last good line. */
    private goodLength: number,
    private readonly logger: Logger,
  ) {}

  static async open(path: string, logger: Logger = silentLogger): Promise<{ spool: Spool; recovery: SpoolRecovery }> {
    await mkdir(dirname(path), { recursive: true });
    const file = await openSpoolFile(path);
    try {
      const contents = await file.readFile();
      const parsed = parseSpool(contents, path, logger);
      if (parsed.goodLength < contents.length) await cutTo(file, parsed.goodLength);
      const spool = new Spool(path, file, parsed.goodLength, logger);
      for (const draft of parsed.drafts) spool.entries.push({ draft, state: "durable" });
      return {
        spool,
        recovery: {
          records: parsed.drafts.length,
          truncatedBytes: contents.length - parsed.goodLength,
          corruptLines: parsed.corruptLines,
        },
      };
    } catch (err) {
      await file.close();
      throw new Error(`evidence spool ${path}: cannot recover: ${String(err)}`, { cause: err });
    }
  }

  /** Records waiting for the database, whatever their state. */
  get depth(): number {
    return this.entries.length;
  }

  get durableDepth(): number {
    return this.entries.filter((entry) => entry.state === "durable").length;
  }

  /** `time` of the oldest waiting record. */
  get oldestTime(): string | undefined {
    return this.entries[0]?.draft.time;
  }

  /**
   * Resolves once the drafts are on disk (fdatasync). When the write fails (disk full, read-only
   * file system, closed spool) it rejects, naming the spool file and the error, and the drafts are
   * dropped: the spool never holds a record only in memory, so the caller must not report it
   * durable (the ledger rejects record(), the gate denies).
   */
  async append(drafts: readonly RecordDraft[]): Promise<void> {
    const added: SpoolEntry[] = drafts.map((draft) => ({ draft, state: "writing" }));
    this.entries.push(...added);
    await this.exclusive(async () => {
      try {
        await this.persistUnwritten();
      } catch (err) {
        this.drop(added);
        throw err;
      }
    });
  }

  /** Up to `max` entries from the head, in order, stopping at one whose append is still running. */
  peek(max: number): SpoolEntry[] {
    const ready: SpoolEntry[] = [];
    for (const entry of this.entries) {
      if (entry.state === "writing" || ready.length >= max) break;
      ready.push(entry);
    }
    return ready;
  }

  /** Forgets entries that reached the database; empties the file once nothing waits. */
  async release(done: readonly SpoolEntry[]): Promise<void> {
    const released = new Set(done);
    const remaining = this.entries.filter((entry) => !released.has(entry));
    this.entries.splice(0, this.entries.length, ...remaining);
    await this.exclusive(async () => {
      if (this.entries.length > 0 || this.goodLength === 0) return;
      await cutTo(this.file, 0);
      this.goodLength = 0;
    });
  }

  /** Closes the file; idempotent. Appends after this fail (and their drafts are dropped). */
  async close(): Promise<void> {
    await this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.file.close();
    });
  }

  // Writes every entry not yet on disk (this append's and any queued behind it) in one write + fsync.
  private async persistUnwritten(): Promise<void> {
    const unwritten = this.entries.filter((entry) => entry.state !== "durable");
    if (unwritten.length === 0) return;
    const bytes = Buffer.concat(unwritten.map((entry) => encodeLine(entry.draft)));
    try {
      await writeFully(this.file, bytes);
      await this.file.datasync();
    } catch (err) {
      await this.rewind();
      throw new Error(`evidence spool ${this.path}: cannot write ${unwritten.length} records: ${String(err)}`, {
        cause: err,
      });
    }
    this.goodLength += bytes.length;
    for (const entry of unwritten) entry.state = "durable";
  }

  // After a failed write, cut a possibly partial line so the next append starts on a line boundary.
  private async rewind(): Promise<void> {
    try {
      await cutTo(this.file, this.goodLength);
    } catch (err) {
      // The next recovery reports the partial line as corrupt and skips it; nothing valid is lost.
      this.logger.error({ err, path: this.path }, "evidence spool: cannot cut a partial write");
    }
  }

  private drop(added: readonly SpoolEntry[]): void {
    const dropped = new Set(added);
    const remaining = this.entries.filter((entry) => !dropped.has(entry));
    this.entries.splice(0, this.entries.length, ...remaining);
  }

  // File operations run one at a time, in call order.
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.exclusiveTail.then(operation, operation);
    this.exclusiveTail = run.catch(() => undefined);
    return run;
  }
}

export function encodeLine(draft: RecordDraft): Buffer {
  const json = Buffer.from(canonicalJson(draft), "utf8");
  const checksum = crc32(json).toString(16).padStart(8, "0");
  return Buffer.concat([Buffer.from(`${checksum} `, "ascii"), json, Buffer.of(NEWLINE)]);
}

interface ParsedSpool {
  readonly drafts: RecordDraft[];
  /** End of the last good line: everything after it is a torn or unreadable tail. */
  readonly goodLength: number;
  readonly corruptLines: number;
}

/** Exported for tests: reads whole, checksum-valid lines and reports the rest. */
export function parseSpool(contents: Buffer, path: string, logger: Logger): ParsedSpool {
  const drafts: RecordDraft[] = [];
  let goodLength = 0;
  let unreadable: number[] = [];
  let corruptLines = 0;
  let start = 0;
  for (let line = 1; start < contents.length; line++) {
    const end = contents.indexOf(NEWLINE, start);
    if (end < 0) break;
    const draft = decodeLine(contents.subarray(start, end));
    start = end + 1;
    if (draft === undefined) {
      unreadable.push(line);
      continue;
    }
    corruptLines += reportCorrupt(unreadable, path, logger);
    unreadable = [];
    drafts.push(draft);
    goodLength = start;
  }
  return { drafts, goodLength, corruptLines };
}

function reportCorrupt(lines: readonly number[], path: string, logger: Logger): number {
  if (lines.length > 0) logger.error({ path, lines }, "evidence spool: skipped corrupt lines between good ones");
  return lines.length;
}

function decodeLine(line: Buffer): RecordDraft | undefined {
  if (line.length < 10 || line[8] !== 0x20) return undefined;
  const json = line.subarray(9);
  if (crc32(json).toString(16).padStart(8, "0") !== line.subarray(0, 8).toString("ascii")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json.toString("utf8"));
  } catch {
    return undefined; // garbage that passed the checksum: treated like any other unreadable line
  }
  // zod validates; the value itself is kept, since a copy could drop keys such as "__proto__".
  return recordDraftSchema.safeParse(value).success ? (value as RecordDraft) : undefined;
}

async function openSpoolFile(path: string): Promise<FileHandle> {
  const file = await open(path, "a+", 0o600);
  // Make the file's directory entry durable too, or a crash could lose the whole file.
  const directory = await open(dirname(path), "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
  return file;
}

async function cutTo(file: FileHandle, length: number): Promise<void> {
  await file.truncate(length);
  await file.datasync();
}

async function writeFully(file: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}
