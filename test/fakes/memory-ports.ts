// In-memory implementations of the ports in src/ports/ (and the evidence reader the REST API
// reads), for unit and integration tests and the benchmarks (bench/ imports them too). Each one
// keeps the contract of the adapter it stands in for, not canned answers:
// - MemoryObjectStore: an informer cache (objects keyed `namespace/name`, or `name` when
//   cluster-scoped); put() bumps resourceVersion as the API server would.
// - MemoryApprovalRequests: that cache plus the API server's writes to it (create is idempotent
//   by name, replace deletes by uid precondition, a decision append tests resourceVersion).
// - MemoryPolicySource: compiles each policy when it changes; one that does not compile is left
//   out of compiled() and listed with its error (src/adapters/kube/caches.ts).
// - MemoryEvidence: the ledger's record() contract (validated drafts, JSON-only data, idempotent
//   by id, sealed into a hash chain) and the newest-first reader.
// - TableAuth: TokenReview and SubjectAccessReview from two tables.
import { randomUUID } from "node:crypto";
import {
  aegisPolicySchema,
  type AegisPolicy,
  type ApprovalRequest,
  type Decision,
} from "../../src/api/v1alpha1/index.js";
import { EMPTY_CHAIN_HEAD, recordDraftSchema, sealRecord, type ChainHead } from "../../src/evidence/chain/record.js";
import type { EvidenceReader } from "../../src/http/evidence-reader.js";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/index.js";
import type { AccessReviewer, TokenAuthenticator } from "../../src/ports/auth.js";
import type { EvidenceEvent, EvidenceRecord, EvidenceRecorder } from "../../src/ports/evidence.js";
import type { ApprovalRequestWriter, CreateOutcome, ObjectStore } from "../../src/ports/kube.js";
import { InformerPolicySource } from "../../src/adapters/kube/caches.js";

/** Who a token belongs to (src/api), named through the port so this file follows the port. */
type Identity = Parameters<AccessReviewer["canApprove"]>[0];

interface Named {
  metadata: { name?: string | undefined; namespace?: string | undefined; resourceVersion?: string | undefined };
}

/** The cache key of an object: `namespace/name`, or `name` when it is cluster-scoped. */
export function keyOf(object: { metadata: { name?: string | undefined; namespace?: string | undefined } }): string {
  const { name = "", namespace } = object.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

/** An informer cache: reads never fail, and what was put last is what get() returns. */
export class MemoryObjectStore<T extends Named> implements ObjectStore<T> {
  private readonly items = new Map<string, T>();
  private version = 0;
  /** Per namespace, the same array until an object there changes (as the informer cache's index). */
  private readonly listed = new Map<string, readonly T[]>();

  constructor(objects: Iterable<T> = []) {
    for (const object of objects) this.put(object);
  }

  /** Stores the object as the API server would return it: with a new resourceVersion. */
  put(object: T): T {
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.version) } };
    this.items.set(keyOf(stored), stored);
    this.listed.delete(stored.metadata.namespace ?? "");
    return stored;
  }

  delete(object: T): boolean {
    this.listed.delete(object.metadata.namespace ?? "");
    return this.items.delete(keyOf(object));
  }

  /** The objects of one namespace, as src/adapters/kube/caches.ts's namespace index hands them out. */
  inNamespace(namespace: string): readonly T[] {
    let found = this.listed.get(namespace);
    if (found === undefined) {
      found = [...this.items.values()].filter((item) => (item.metadata.namespace ?? "") === namespace);
      this.listed.set(namespace, found);
    }
    return found;
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

/** The ApprovalRequest cache and the API server's writes to it, which the cache sees at once. */
export class MemoryApprovalRequests extends MemoryObjectStore<ApprovalRequest> implements ApprovalRequestWriter {
  /** Requests create() made (not counting "exists"). */
  created = 0;

  constructor(
    objects: Iterable<ApprovalRequest> = [],
    private readonly now: () => Date = () => new Date(),
  ) {
    super(objects);
  }

  create(request: ApprovalRequest): Promise<CreateOutcome> {
    if (this.get(request.metadata.name ?? "", request.metadata.namespace)) return Promise.resolve("exists");
    this.created += 1;
    this.put({
      ...request,
      metadata: { ...request.metadata, creationTimestamp: this.now().toISOString(), uid: randomUUID() },
    });
    return Promise.resolve("created");
  }

  /** Deletes `expired` only if it is still the stored object (uid precondition), then creates `fresh`. */
  async replace(expired: ApprovalRequest, fresh: ApprovalRequest): Promise<void> {
    const current = this.get(expired.metadata.name ?? "", expired.metadata.namespace);
    if (current && current.metadata.uid === expired.metadata.uid) this.delete(current);
    await this.create(fresh);
  }

  async consume(request: ApprovalRequest, decision: Decision): Promise<"consumed" | "conflict"> {
    try {
      await this.appendDecision(request, decision);
      return "consumed";
    } catch (error) {
      if (error instanceof Error && error.message.includes("409")) return "conflict";
      throw error;
    }
  }

  read(namespace: string, name: string): Promise<ApprovalRequest | undefined> {
    return Promise.resolve(this.get(name, namespace));
  }

  /** What the API server does with appendDecision's JSON patch: test resourceVersion, then append. */
  appendDecision(request: ApprovalRequest, decision: Decision): Promise<void> {
    const current = this.get(request.metadata.name ?? "", request.metadata.namespace);
    if (!current) return Promise.reject(new Error("recording decision: HTTP 404"));
    if (current.metadata.resourceVersion !== request.metadata.resourceVersion)
      return Promise.reject(new Error("recording decision: HTTP 409: the object has been modified"));
    this.put({ ...current, spec: { ...current.spec, decisions: [...current.spec.decisions, decision] } });
    return Promise.resolve();
  }
}

/**
 * The live policy set: the very class the informer cache uses (compiled once per change), over an
 * in-memory store instead of an informer.
 */
export class MemoryPolicySource extends InformerPolicySource<CompiledPolicy> {
  private readonly stored: Map<string, AegisPolicy>;

  constructor(policies: Iterable<unknown> = []) {
    const stored = new Map<string, AegisPolicy>();
    super(
      {
        get: (name) => stored.get(name),
        list: () => [...stored.values()],
        hasSynced: () => true,
      },
      compilePolicy,
    );
    this.stored = stored;
    for (const policy of policies) this.add(policy);
  }

  /** Parses `raw` as an AegisPolicy (throws if it does not match the schema) and compiles it. */
  add(raw: unknown): AegisPolicy {
    const policy = aegisPolicySchema.parse(raw);
    this.stored.set(policy.metadata.name ?? "", policy);
    this.refresh();
    return policy;
  }

  delete(name: string): boolean {
    const deleted = this.stored.delete(name);
    this.refresh();
    return deleted;
  }
}

/**
 * The evidence ledger without a database: record() validates the draft, skips an id it already
 * holds and seals the record into a hash chain; latest() reads newest first. `keep` bounds the records held (a long benchmark soak measures the
 * server, not this buffer); `recorded` counts every record appended.
 */
export class MemoryEvidence implements EvidenceRecorder, EvidenceReader {
  readonly records: EvidenceRecord[] = [];
  recorded = 0;
  private head: ChainHead = EMPTY_CHAIN_HEAD;
  /** Ids callers gave (idempotency keys); generated ones are unique already. */
  private readonly ids = new Set<string>();

  constructor(private readonly options: { keep?: number; now?: () => Date } = {}) {}

  record(event: EvidenceEvent): Promise<void> {
    try {
      if (event.id !== undefined && this.ids.has(event.id)) return Promise.resolve();
      const draft = recordDraftSchema.parse({
        id: event.id ?? randomUUID(),
        time: (this.options.now?.() ?? new Date()).toISOString(),
        type: event.type,
        subject: event.subject,
        actor: event.actor,
        data: event.data,
      });
      // Sealing hashes canonical JSON, so data JSON cannot carry (NaN, cycles…) throws here;
      // the stored copy is detached from the caller's object, as the ledger's is.
      const sealed = sealRecord(draft, this.head);
      const record = { ...sealed, data: JSON.parse(JSON.stringify(sealed.data)) as EvidenceRecord["data"] };
      this.head = { nextSeq: record.seq + 1, prevHash: record.hash };
      if (event.id !== undefined) this.ids.add(event.id);
      this.recorded += 1;
      this.records.push(record);
      const keep = this.options.keep ?? Infinity;
      if (this.records.length > keep) this.records.splice(0, this.records.length - keep);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  latest(limit: number, before = Number.POSITIVE_INFINITY): Promise<EvidenceRecord[]> {
    const older = this.records.filter((record) => record.seq < before);
    return Promise.resolve(limit > 0 ? older.slice(-limit).reverse() : []);
  }
}

/**
 * TokenReview and SubjectAccessReview from tables: tokens to identities, who may approve, and
 * who may read where (`"all"`: a ClusterRole binding; a set: RoleBindings in those namespaces).
 */
export class TableAuth implements TokenAuthenticator, AccessReviewer {
  readonly reviews: { verb: "approve" | "get" | "update"; username: string; namespace: string | null }[] = [];

  constructor(
    readonly tokens: Map<string, Identity> = new Map(),
    readonly approvers: Set<string> = new Set(),
    readonly readers: Map<string, ReadonlySet<string> | "all"> = new Map(),
    /** Who may update aegispolicies (and so retrain the risk model). */
    readonly policyEditors: Set<string> = new Set(),
  ) {}

  canTrainRisk(identity: Identity): Promise<boolean> {
    this.reviews.push({ verb: "update", username: identity.username, namespace: null });
    return Promise.resolve(this.policyEditors.has(identity.username));
  }

  canRead(identity: Identity, namespace: string | null): Promise<boolean> {
    this.reviews.push({ verb: "get", username: identity.username, namespace });
    const scope = this.readers.get(identity.username);
    return Promise.resolve(scope === "all" || (namespace !== null && scope?.has(namespace) === true));
  }

  authenticate(token: string): Promise<Identity | null> {
    return Promise.resolve(this.tokens.get(token) ?? null);
  }

  canApprove(identity: Identity): Promise<boolean> {
    return Promise.resolve(this.approvers.has(identity.username));
  }
}
