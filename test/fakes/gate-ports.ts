// In-memory implementations of the gate's ports, for tests of the webhook without servers.
import type { AegisPolicy, ApprovalRequest } from "../../src/api/v1alpha1/index.js";
import { aegisPolicySchema } from "../../src/api/v1alpha1/index.js";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/index.js";
import type { EvidenceEvent, EvidenceRecorder } from "../../src/ports/evidence.js";
import type { ApprovalRequestWriter, CreateOutcome, ObjectStore, PolicySource } from "../../src/ports/kube.js";

export class MemoryPolicies implements PolicySource<CompiledPolicy> {
  private readonly policies = new Map<string, AegisPolicy>();

  add(raw: unknown): this {
    const policy = aegisPolicySchema.parse(raw);
    this.policies.set(policy.metadata.name ?? "", policy);
    return this;
  }
  compiled(): readonly CompiledPolicy[] {
    return [...this.policies.values()].map(compilePolicy);
  }
  get(name: string): AegisPolicy | undefined {
    return this.policies.get(name);
  }
  list(): readonly { policy: AegisPolicy; compileError: string | undefined }[] {
    return [...this.policies.values()].map((policy) => ({ policy, compileError: undefined }));
  }
  hasSynced(): boolean {
    return true;
  }
}

/** A store that is also the writer: what the gate creates, it later finds (as the informer would). */
export class MemoryApprovalRequests implements ObjectStore<ApprovalRequest>, ApprovalRequestWriter {
  readonly items = new Map<string, ApprovalRequest>();
  creates = 0;

  get(name: string, namespace?: string): ApprovalRequest | undefined {
    return this.items.get(`${namespace ?? ""}/${name}`);
  }
  list(): readonly ApprovalRequest[] {
    return [...this.items.values()];
  }
  hasSynced(): boolean {
    return true;
  }
  create(request: ApprovalRequest): Promise<CreateOutcome> {
    const key = `${request.metadata.namespace ?? ""}/${request.metadata.name ?? ""}`;
    if (this.items.has(key)) return Promise.resolve("exists");
    this.creates += 1;
    this.items.set(key, {
      ...request,
      metadata: { ...request.metadata, creationTimestamp: new Date().toISOString(), uid: `uid-${this.creates}` },
    });
    return Promise.resolve("created");
  }
  async replace(_expired: ApprovalRequest, fresh: ApprovalRequest): Promise<void> {
    this.items.delete(`${fresh.metadata.namespace ?? ""}/${fresh.metadata.name ?? ""}`);
    await this.create(fresh);
  }
}

export class MemoryEvidence implements EvidenceRecorder {
  readonly events: EvidenceEvent[] = [];
  record(event: EvidenceEvent): Promise<void> {
    this.events.push(event);
    return Promise.resolve();
  }
}
