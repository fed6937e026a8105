// In-memory implementations of the ports the gate and the reconcilers read, laid out like the
// informer caches (src/adapters/kube/caches.ts): zod-parsed objects in a Map keyed ns/name, and
// policies compiled once when they change, not per request.
import type { AegisPolicy, ApprovalRequest } from "../../src/api/v1alpha1/index.js";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/index.js";
import type { EvidenceEvent, EvidenceRecorder } from "../../src/ports/evidence.js";
import type { ApprovalRequestWriter, CreateOutcome, ObjectStore, PolicySource } from "../../src/ports/kube.js";

export class MemoryObjectStore<
  T extends { metadata: { name?: string | undefined; namespace?: string | undefined } },
> implements ObjectStore<T> {
  readonly items = new Map<string, T>();

  constructor(objects: Iterable<T> = []) {
    for (const object of objects) this.put(object);
  }

  put(object: T): void {
    this.items.set(keyOf(object), object);
  }

  delete(object: T): void {
    this.items.delete(keyOf(object));
  }

  get(name: string, namespace?: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): readonly T[] {
    return [...this.items.values()];
  }

  hasSynced(): boolean {
    return true;
  }
}

export function keyOf(object: { metadata: { name?: string | undefined; namespace?: string | undefined } }): string {
  const { name = "", namespace } = object.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

/** Compiles every policy once with `compilePolicy`; throws if one does not compile. */
export class MemoryPolicySource implements PolicySource<CompiledPolicy> {
  private readonly byName = new Map<string, AegisPolicy>();
  private readonly compiledList: readonly CompiledPolicy[];

  constructor(policies: readonly AegisPolicy[]) {
    for (const policy of policies) this.byName.set(policy.metadata.name ?? "", policy);
    this.compiledList = policies.map((policy) => compilePolicy(policy));
  }

  compiled(): readonly CompiledPolicy[] {
    return this.compiledList;
  }

  get(name: string): AegisPolicy | undefined {
    return this.byName.get(name);
  }

  list(): readonly { policy: AegisPolicy; compileError: string | undefined }[] {
    return [...this.byName.values()].map((policy) => ({ policy, compileError: undefined }));
  }

  hasSynced(): boolean {
    return true;
  }
}

/** Writes into the store directly, as the informer would deliver the created object. */
export class MemoryApprovalRequestWriter implements ApprovalRequestWriter {
  created = 0;

  constructor(private readonly store: MemoryObjectStore<ApprovalRequest>) {}

  create(request: ApprovalRequest): Promise<CreateOutcome> {
    if (this.store.get(request.metadata.name ?? "", request.metadata.namespace)) return Promise.resolve("exists");
    this.created += 1;
    this.store.put({ ...request, metadata: { ...request.metadata, creationTimestamp: new Date().toISOString() } });
    return Promise.resolve("created");
  }

  replace(expired: ApprovalRequest, fresh: ApprovalRequest): Promise<void> {
    this.store.delete(expired);
    this.store.put(fresh);
    return Promise.resolve();
  }
}

/**
 * Counts records and keeps the last `keep` of them (a bounded array, so a long soak measures the
 * server, not an ever-growing benchmark buffer). Serialises each event like a real store would.
 */
export class MemoryEvidenceRecorder implements EvidenceRecorder {
  recorded = 0;
  bytes = 0;
  readonly recent: EvidenceEvent[] = [];

  constructor(private readonly keep = 1000) {}

  record(event: EvidenceEvent): Promise<void> {
    this.recorded += 1;
    this.bytes += JSON.stringify(event).length;
    this.recent.push(event);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
    return Promise.resolve();
  }
}
