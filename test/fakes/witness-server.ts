// A local C2SP tlog-witness (c2sp.org/tlog-witness) on loopback, checking what a real witness
// checks: the log's note signature under a key it was configured with (403 otherwise), a known
// origin (404), old ≤ size (400), old equal to the size it last cosigned (409 + text/x.tlog.size),
// the RFC 6962 consistency proof (422), the same root at the same size (409). It stores the newest
// cosigned checkpoint atomically and returns a tlog-cosignature/v1 line. Written apart from
// src/evidence (its own parsing and proof check), so a bug there cannot cancel out here.
// GET /checkpoint?origin=… serves the stored copy, as an auditor would fetch it.
import type { KeyObject } from "node:crypto";
import { createHash, generateKeyPairSync, sign, verify } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

interface LogState {
  size: number;
  root: Buffer;
  /** The note as submitted plus our cosignature line. */
  cosigned: string;
}

export interface WitnessRequestLog {
  readonly status: number;
  readonly oldSize: number | undefined;
  readonly proofLines: number;
}

export interface TestWitness {
  readonly url: string;
  readonly name: string;
  /** `name+keyid+base64(0x04 || key)`: what AEGIS is configured with to check cosignatures. */
  readonly verifierKey: string;
  readonly requests: WitnessRequestLog[];
  stored(origin: string): LogState | undefined;
  close(): Promise<void>;
}

const sha256 = (...parts: (string | Uint8Array)[]): Buffer => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const rawKey = (key: KeyObject): Buffer => Buffer.from(key.export({ format: "jwk" }).x as string, "base64url");
const keyId = (name: string, type: number, key: KeyObject): Buffer =>
  sha256(`${name}\n`, Uint8Array.of(type), rawKey(key)).subarray(0, 4);
const node = (left: Buffer, right: Buffer): Buffer => sha256(Uint8Array.of(1), left, right);

// RFC 9162 §2.1.4.2, written out again on purpose.
function consistent(m: number, n: number, proof: Buffer[], oldRoot: Buffer, newRoot: Buffer): boolean {
  if (m === n) return proof.length === 0 && oldRoot.equals(newRoot);
  if (m === 0) return proof.length === 0;
  const path = (m & (m - 1)) === 0 ? [oldRoot, ...proof] : proof;
  if (path.length === 0) return false;
  let fn = m - 1;
  let sn = n - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = path[0] as Buffer;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      while (!(fn & 1) && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && fr.equals(oldRoot) && sr.equals(newRoot);
}

export async function startTestWitness(logs: { origin: string; publicKey: KeyObject }[]): Promise<TestWitness> {
  const name = "witness.test/w1";
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const state = new Map<string, LogState>();
  const requests: WitnessRequestLog[] = [];

  function addCheckpoint(body: string): {
    status: number;
    type?: string;
    text: string;
    oldSize?: number;
    lines: number;
  } {
    const blank = body.indexOf("\n\n");
    if (blank < 0) return { status: 400, text: "no blank line after the proof\n", lines: 0 };
    const head = body.slice(0, blank).split("\n");
    const note = body.slice(blank + 2);
    const oldMatch = /^old (0|[1-9][0-9]*)$/.exec(head[0] ?? "");
    if (oldMatch === null) return { status: 400, text: "bad old size line\n", lines: 0 };
    const oldSize = Number(oldMatch[1]);
    const proof = head.slice(1).map((line) => Buffer.from(line, "base64"));
    const lines = proof.length;
    if (lines > 63 || proof.some((hash) => hash.length !== 32))
      return { status: 400, text: "bad proof\n", oldSize, lines };
    const sep = note.lastIndexOf("\n\n");
    if (sep < 0 || !note.endsWith("\n")) return { status: 400, text: "not a signed note\n", oldSize, lines };
    const text = note.slice(0, sep + 1);
    const [origin = "", sizeText = "", rootText = "", ...rest] = text.split("\n");
    if (rest.length !== 1 || !/^(0|[1-9][0-9]*)$/.test(sizeText))
      return { status: 400, text: "bad checkpoint\n", oldSize, lines };
    const size = Number(sizeText);
    const root = Buffer.from(rootText, "base64");
    const log = logs.find((candidate) => candidate.origin === origin);
    if (log === undefined) return { status: 404, text: "unknown origin\n", oldSize, lines };
    const expectedId = keyId(origin, 0x01, log.publicKey);
    const signed = note
      .slice(sep + 2, -1)
      .split("\n")
      .some((line) => {
        const match = /^\u2014 (\S+) (\S+)$/.exec(line);
        if (match?.[1] !== origin) return false;
        const bytes = Buffer.from(match[2] ?? "", "base64");
        return (
          bytes.subarray(0, 4).equals(expectedId) && verify(null, Buffer.from(text), log.publicKey, bytes.subarray(4))
        );
      });
    if (!signed) return { status: 403, text: "no valid signature by a known log key\n", oldSize, lines };
    if (oldSize > size) return { status: 400, text: "old size beyond the checkpoint\n", oldSize, lines };
    const current = state.get(origin);
    if (oldSize !== (current?.size ?? 0)) {
      return { status: 409, type: "text/x.tlog.size", text: `${current?.size ?? 0}\n`, oldSize, lines };
    }
    if (current !== undefined && oldSize === size && !current.root.equals(root)) {
      return { status: 409, text: "same size, different root\n", oldSize, lines };
    }
    if (current !== undefined && oldSize > 0 && !consistent(oldSize, size, proof, current.root, root)) {
      return { status: 422, text: "consistency proof does not verify\n", oldSize, lines };
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64BE(BigInt(timestamp));
    const signature = sign(null, Buffer.from(`cosignature/v1\ntime ${timestamp}\n${text}`), privateKey);
    const line = `\u2014 ${name} ${Buffer.concat([keyId(name, 0x04, publicKey), stamp, signature]).toString("base64")}\n`;
    state.set(origin, { size, root, cosigned: note + line });
    return { status: 200, text: line, oldSize, lines };
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://witness");
    if (req.method === "GET" && url.pathname === "/checkpoint") {
      const stored = state.get(url.searchParams.get("origin") ?? "");
      res.writeHead(stored ? 200 : 404, { "content-type": "text/plain; charset=utf-8" }).end(stored?.cosigned ?? "");
      return;
    }
    if (req.method !== "POST" || url.pathname !== "/add-checkpoint") {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      // Synchronous from check to store: the atomicity the spec asks for.
      const answer = addCheckpoint(Buffer.concat(chunks).toString("utf8"));
      requests.push({ status: answer.status, oldSize: answer.oldSize, proofLines: answer.lines });
      res.writeHead(answer.status, { "content-type": answer.type ?? "text/plain; charset=utf-8" }).end(answer.text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const verifierKey = `${name}+${keyId(name, 0x04, publicKey).toString("hex")}+${Buffer.concat([Uint8Array.of(0x04), rawKey(publicKey)]).toString("base64")}`;
  return {
    url: `http://127.0.0.1:${port}`,
    name,
    verifierKey,
    requests,
    stored: (origin) => state.get(origin),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
