import type { AegisPolicy, ApprovalRequest, Decision } from "../api/v1alpha1/index.js";

/** A read-only view of an informer's cache. Reads never call the API server. */
export interface ObjectStore<T> {
  get(name: string, namespace?: string): T | undefined;
  list(): readonly T[];
  hasSynced(): boolean;
}

/** The live policy set: what the gate evaluates and what approval rules read. */
export interface PolicySource<Compiled> {
  /** Policies that compiled; invalid ones are left out (and marked not Ready by their reconciler). */
  compiled(): readonly Compiled[];
  /** A policy as stored, by name, whether or not it compiled. */
  get(name: string): AegisPolicy | undefined;
  /** Every stored policy, with why it did not compile (undefined when it did). */
  list(): readonly { policy: AegisPolicy; compileError: string | undefined }[];
  hasSynced(): boolean;
}

export type CreateOutcome = "created" | "exists";

/** The one write the gate makes: the Pending request for a change that needs approval. */
export interface ApprovalRequestWriter {
  /** Creates the request; an existing one with that name is left alone ("exists"). */
  create(request: ApprovalRequest): Promise<CreateOutcome>;
  /** Deletes an Expired (or Used) request (by uid precondition) and creates its fresh successor. */
  replace(expired: ApprovalRequest, fresh: ApprovalRequest): Promise<void>;
  /**
   * Appends AEGIS's Consume to exactly this version of the request (resourceVersion guard):
   * "conflict" when the request changed meanwhile, so that two admissions never share one use.
   */
  consume(request: ApprovalRequest, decision: Decision): Promise<"consumed" | "conflict">;
  /** The request as the API server holds it now (not the cache); undefined when gone. */
  read(namespace: string, name: string): Promise<ApprovalRequest | undefined>;
}

/** Reads one workload from the API server (not a cache): the gate's view behind a `scale` request. */
export interface WorkloadReader {
  get(
    resource: { group: string; version: string; resource: string },
    namespace: string,
    name: string,
  ): Promise<Record<string, unknown> | undefined>;
}

/** A ConfigMap's data and version, as the publisher of evidence checkpoints reads and writes it. */
export interface VersionedData {
  readonly data: Readonly<Record<string, string>>;
  readonly resourceVersion: string;
}

/** One ConfigMap in AEGIS's namespace that AEGIS keeps current (the published evidence checkpoint). */
export interface ConfigMapSlot {
  /** `namespace/name`, for logs. */
  readonly name: string;
  read(): Promise<VersionedData | undefined>;
  create(data: Readonly<Record<string, string>>): Promise<void>;
  /** Replaces the data if the object is still at `resourceVersion` (else the API server's 409). */
  replace(data: Readonly<Record<string, string>>, resourceVersion: string): Promise<void>;
}
