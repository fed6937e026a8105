// Publishes the newest checkpoint to ConfigMap aegis-evidence-checkpoint in AEGIS's namespace,
// with the consistency proof from the checkpoint it replaces; the webhook admits only that
// (webhook/checkpoint-guard.ts). `kubectl get configmap aegis-evidence-checkpoint -o
// jsonpath='{.data.checkpoint}'` is then a copy an auditor can verify a bundle against.
import type { KeyObject } from "node:crypto";
import type { ConfigMapSlot } from "../../ports/kube.js";
import { publishedData, readPublished } from "../chain/published-checkpoint.js";
import type { CheckpointPublisher, ConsistencyFrom, PublishedCheckpoint } from "./publisher.js";

export class ConfigMapPublisher implements CheckpointPublisher {
  readonly name: string;
  private known: number | undefined;

  constructor(
    private readonly slot: ConfigMapSlot,
    private readonly publicKey: KeyObject,
  ) {
    this.name = `ConfigMap ${slot.name}`;
  }

  publishedSize(): number | undefined {
    return this.known;
  }

  async publish(checkpoint: PublishedCheckpoint, consistencyFrom: ConsistencyFrom): Promise<void> {
    const size = checkpoint.stored.checkpoint.checkpoint.size;
    const current = await this.slot.read();
    const held = current === undefined ? undefined : readPublished(current.data, this.publicKey);
    const heldSize = held?.ok === true ? held.view.signed.checkpoint.size : undefined;
    if (heldSize !== undefined && heldSize > size) {
      this.known = heldSize;
      throw new Error(
        `${this.name} holds a checkpoint of ${heldSize} records, ours has ${size}: the log was truncated or rewritten since it was published`,
      );
    }
    if (held?.ok === true && heldSize === size) {
      this.known = size;
      const heldRoot = held.view.signed.checkpoint.rootHash;
      if (heldRoot !== checkpoint.stored.checkpoint.checkpoint.rootHash) {
        throw new Error(
          `${this.name} holds another root (${heldRoot}) at size ${size}: the log was forked or rewritten`,
        );
      }
      return;
    }
    const previousSize = heldSize ?? 0;
    const data = publishedData(checkpoint.stored, checkpoint.note, previousSize, await consistencyFrom(previousSize));
    if (current === undefined) await this.slot.create(data);
    else await this.slot.replace(data, current.resourceVersion);
    this.known = size;
  }
}
