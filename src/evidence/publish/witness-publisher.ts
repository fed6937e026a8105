// Publishing checkpoints to a C2SP tlog-witness (c2sp.org/tlog-witness): POST add-checkpoint
// with `old <size>`, the consistency proof from that size and the signed checkpoint note; the
// witness checks the proof against the last checkpoint it cosigned and returns its cosignature.
// A witness that kept an older view of the log refuses a rewritten one (422/409), which is the
// point: it holds a copy of the log's history outside the database.
import type { WitnessResponse, WitnessTransport } from "../../ports/witness.js";
import type { VerifierKey } from "../chain/note.js";
import { parseSignedNote, verifyCosignature } from "../chain/note.js";
import type { CheckpointPublisher, ConsistencyFrom, PublishedCheckpoint } from "./publisher.js";

/** The spec allows at most 63 proof lines; a log of 2^53 leaves needs fewer. */
const MAX_PROOF_LINES = 63;
/** A 409 tells the size the witness holds; one retry with it, one more if it moved meanwhile. */
const ATTEMPTS = 3;

/** The add-checkpoint request body: old size line, proof lines, a blank line, the note. */
export function addCheckpointRequest(oldSize: number, proof: readonly Buffer[], note: string): string {
  if (proof.length > MAX_PROOF_LINES) throw new RangeError(`consistency proof of ${proof.length} lines is too long`);
  return `old ${oldSize}\n${proof.map((node) => `${node.toString("base64")}\n`).join("")}\n${note}`;
}

export interface WitnessPublisherOptions {
  readonly transport: WitnessTransport;
  /** When given, every answer must carry a valid cosignature by this key. */
  readonly witnessKey?: VerifierKey | undefined;
}

export class WitnessPublisher implements CheckpointPublisher {
  readonly name: string;
  private known: number | undefined;
  private cosigned: string | undefined;

  constructor(private readonly options: WitnessPublisherOptions) {
    this.name = `witness ${options.transport.url}`;
  }

  publishedSize(): number | undefined {
    return this.known;
  }

  /** The note with the witness's cosignature lines, as last returned. */
  lastCosignedNote(): string | undefined {
    return this.cosigned;
  }

  async publish(checkpoint: PublishedCheckpoint, consistencyFrom: ConsistencyFrom): Promise<void> {
    const size = checkpoint.stored.checkpoint.checkpoint.size;
    let old = this.known ?? 0;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (old > size) {
        throw new Error(
          `${this.name} holds a checkpoint of size ${old}, ours has ${size}: the log was truncated or rewritten since the witness saw it (compare with aegis evidence verify --checkpoint)`,
        );
      }
      const proof = old === 0 ? [] : await consistencyFrom(old);
      const response = await this.options.transport.addCheckpoint(addCheckpointRequest(old, proof, checkpoint.note));
      if (response.status === 200) {
        this.accept(checkpoint, response);
        this.known = size;
        return;
      }
      const held = heldSize(response);
      if (held === undefined)
        throw new Error(`${this.name} refused the checkpoint of size ${size}: ${explain(response)}`);
      this.known = held;
      old = held;
    }
    throw new Error(`${this.name} kept answering 409 Conflict; its view of the log moves while we publish`);
  }

  private accept(checkpoint: PublishedCheckpoint, response: WitnessResponse): void {
    const lines = response.body.endsWith("\n") ? response.body : `${response.body}\n`;
    const cosigned = `${checkpoint.note}${lines}`;
    const key = this.options.witnessKey;
    if (key !== undefined) {
      const verified = verifyCosignature(parseSignedNote(cosigned), key.name, key.publicKey);
      if (!verified.ok) throw new Error(`${this.name} answered 200 without a valid cosignature: ${verified.reason}`);
    }
    this.cosigned = cosigned;
  }
}

// 409 with text/x.tlog.size: the witness holds another size (we learn it and retry).
function heldSize(response: WitnessResponse): number | undefined {
  if (response.status !== 409 || !response.contentType.startsWith("text/x.tlog.size")) return undefined;
  const text = response.body.trim();
  return /^(0|[1-9][0-9]{0,15})$/.test(text) ? Number(text) : undefined;
}

function explain(response: WitnessResponse): string {
  const body = response.body.trim().slice(0, 200);
  const meaning: Record<number, string> = {
    400: "bad request",
    403: "it does not trust the log's key (configure the witness with aegis evidence key's output)",
    404: "it does not know this log's origin",
    409: "it holds a different root at this size: the log was forked or rewritten",
    422: "the consistency proof does not verify against what it saw: the log was rewritten",
  };
  return `HTTP ${response.status} (${meaning[response.status] ?? "unexpected answer"})${body ? `: ${body}` : ""}`;
}
