import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Namespace,
} from "@kubernetes/client-node";
import type { z } from "zod";
import {
  aegisExceptionSchema,
  aegisPolicySchema,
  approvalRequestSchema,
  GROUP,
  VERSION,
  type AegisException,
  type AegisPolicy,
  type ApprovalRequest,
} from "../../api/v1alpha1/index.js";
import type { ObjectStore, PolicySource } from "../../ports/kube.js";
import { listWatchSource, ResilientInformer } from "../../runtime/informer.js";
import type { Logger } from "../../ports/logger.js";

/** Keeps zod-parsed copies of an informer's objects; objects that fail to parse are logged and left out. */
class ParsedStore<T> implements ObjectStore<T> {
  private readonly items = new Map<string, T>();
  /** The same objects by namespace, for the gate's per-namespace questions (no scan of every object). */
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly listedByNamespace = new Map<string, readonly T[]>();

  constructor(
    private readonly informer: ResilientInformer<KubernetesObject>,
    private readonly parse: (raw: KubernetesObject) => T | undefined,
    private readonly onUpdate: () => void = () => undefined,
  ) {
    informer.addEventHandler({
      onChange: (raw) => this.put(raw),
      onDelete: (raw) => {
        this.remove(raw);
        this.onUpdate();
      },
    });
  }

  get(name: string, namespace?: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): readonly T[] {
    return [...this.items.values()];
  }

  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** The objects of one namespace: the same array until one of them changes (callers may memoise on it). */
  inNamespace(namespace: string): readonly T[] {
    let listed = this.listedByNamespace.get(namespace);
    if (listed === undefined) {
      listed = [...(this.byNamespace.get(namespace)?.values() ?? [])];
      this.listedByNamespace.set(namespace, listed);
    }
    return listed;
  }

  private put(raw: KubernetesObject): void {
    const parsed = this.parse(raw);
    if (parsed === undefined) {
      this.remove(raw);
    } else {
      this.items.set(keyOf(raw), parsed);
      const namespace = raw.metadata?.namespace ?? "";
      let inNamespace = this.byNamespace.get(namespace);
      if (!inNamespace) this.byNamespace.set(namespace, (inNamespace = new Map<string, T>()));
      inNamespace.set(raw.metadata?.name ?? "", parsed);
      this.listedByNamespace.delete(namespace);
    }
    this.onUpdate();
  }

  private remove(raw: KubernetesObject): void {
    this.items.delete(keyOf(raw));
    const namespace = raw.metadata?.namespace ?? "";
    const inNamespace = this.byNamespace.get(namespace);
    inNamespace?.delete(raw.metadata?.name ?? "");
    if (inNamespace?.size === 0) this.byNamespace.delete(namespace);
    this.listedByNamespace.delete(namespace);
  }
}

function keyOf(raw: KubernetesObject): string {
  const { name = "", namespace } = raw.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}

function parseWith<S extends z.ZodType>(
  schema: S,
  what: string,
  logger: Logger,
): (raw: KubernetesObject) => z.infer<S> | undefined {
  return (raw) => {
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    logger.warn(
      { name: keyOf(raw), issues: parsed.error.issues.slice(0, 5) },
      `${what} does not match its schema; ignored`,
    );
    return undefined;
  };
}

interface CompiledEntry<Compiled> {
  policy: AegisPolicy;
  compiled: Compiled | undefined;
  compileError: string | undefined;
}

/** Turns a stored policy into what the gate evaluates; throws with the reason when it cannot. */
export type PolicyCompiler<Compiled> = (policy: AegisPolicy) => Compiled;

/** The policy set the gate evaluates: every AegisPolicy, compiled when it changes (not per request). */
export class InformerPolicySource<Compiled> implements PolicySource<Compiled> {
  private entries = new Map<string, CompiledEntry<Compiled>>();
  private compiledList: readonly Compiled[] = [];
  private listed: readonly { policy: AegisPolicy; compileError: string | undefined }[] = [];

  constructor(
    private readonly store: ObjectStore<AegisPolicy>,
    private readonly compile: PolicyCompiler<Compiled>,
  ) {}

  /** Recompiles what changed; called by the store on every event. */
  refresh(): void {
    const next = new Map<string, CompiledEntry<Compiled>>();
    for (const policy of this.store.list()) {
      const name = policy.metadata.name ?? "";
      const previous = this.entries.get(name);
      next.set(name, previous && previous.policy === policy ? previous : this.compileEntry(policy));
    }
    this.entries = next;
    this.compiledList = [...next.values()].flatMap((entry) => (entry.compiled ? [entry.compiled] : []));
    this.listed = [...next.values()].map(({ policy, compileError }) => ({ policy, compileError }));
  }

  compiled(): readonly Compiled[] {
    return this.compiledList;
  }

  get(name: string): AegisPolicy | undefined {
    return this.entries.get(name)?.policy;
  }

  /** Built once per change, not per call: the gate reads it on every admission. */
  list(): readonly { policy: AegisPolicy; compileError: string | undefined }[] {
    return this.listed;
  }

  hasSynced(): boolean {
    return this.store.hasSynced();
  }

  private compileEntry(policy: AegisPolicy): CompiledEntry<Compiled> {
    try {
      return { policy, compiled: this.compile(policy), compileError: undefined };
    } catch (error) {
      return { policy, compiled: undefined, compileError: error instanceof Error ? error.message : String(error) };
    }
  }
}

export type CachedKind = "AegisPolicy" | "ApprovalRequest" | "AegisException" | "Namespace";

export interface KubeCaches<Compiled> {
  policies: InformerPolicySource<Compiled>;
  approvals: ObjectStore<ApprovalRequest>;
  exceptions: ObjectStore<AegisException>;
  /** The ApprovalRequests of one namespace (an index, not a scan). */
  approvalsIn: (namespace: string) => readonly ApprovalRequest[];
  /** The AegisExceptions of one namespace, as stored (their status is not trusted by the gate). */
  exceptionsIn: (namespace: string) => readonly AegisException[];
  namespaceLabels: (namespace: string) => Record<string, string>;
  informers: ResilientInformer<KubernetesObject>[];
  hasSynced(): boolean;
  /** Called after any ApprovalRequest, AegisPolicy, AegisException or Namespace change (dashboards, metrics, controllers). */
  onChange(listener: (kind: CachedKind, object: KubernetesObject) => void): void;
}

/** Informers for the gate's hot path: policies, approval requests, exceptions and namespace labels. */
export function createKubeCaches<Compiled>(
  kubeConfig: KubeConfig,
  logger: Logger,
  compile: PolicyCompiler<Compiled>,
): KubeCaches<Compiled> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const listeners: ((kind: CachedKind, object: KubernetesObject) => void)[] = [];
  const listCustom = (plural: string) => async (): Promise<KubernetesListObject<KubernetesObject>> =>
    (await custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural,
    })) as KubernetesListObject<KubernetesObject>;

  const policyInformer = new ResilientInformer<KubernetesObject>({
    name: "aegispolicies",
    source: listWatchSource({
      kubeConfig,
      path: `/apis/${GROUP}/${VERSION}/aegispolicies`,
      list: listCustom("aegispolicies"),
    }),
    logger,
  });
  const approvalInformer = new ResilientInformer<KubernetesObject>({
    name: "approvalrequests",
    source: listWatchSource({
      kubeConfig,
      path: `/apis/${GROUP}/${VERSION}/approvalrequests`,
      list: listCustom("approvalrequests"),
    }),
    logger,
  });
  const exceptionInformer = new ResilientInformer<KubernetesObject>({
    name: "aegisexceptions",
    source: listWatchSource({
      kubeConfig,
      path: `/apis/${GROUP}/${VERSION}/aegisexceptions`,
      list: listCustom("aegisexceptions"),
    }),
    logger,
  });
  const namespaceInformer = new ResilientInformer<V1Namespace>({
    name: "namespaces",
    source: listWatchSource({ kubeConfig, path: "/api/v1/namespaces", list: () => core.listNamespace() }),
    logger,
  });

  const policyStore: ParsedStore<AegisPolicy> = new ParsedStore(
    policyInformer,
    parseWith(aegisPolicySchema, "AegisPolicy", logger),
    (): void => policies.refresh(),
  );
  const policies: InformerPolicySource<Compiled> = new InformerPolicySource(policyStore, compile);
  const approvals = new ParsedStore(approvalInformer, parseWith(approvalRequestSchema, "ApprovalRequest", logger));
  const exceptions = new ParsedStore(exceptionInformer, parseWith(aegisExceptionSchema, "AegisException", logger));
  const notify = (kind: CachedKind) => ({
    onChange: (object: KubernetesObject) => listeners.forEach((listener) => listener(kind, object)),
    onDelete: (object: KubernetesObject) => listeners.forEach((listener) => listener(kind, object)),
  });
  policyInformer.addEventHandler(notify("AegisPolicy"));
  approvalInformer.addEventHandler(notify("ApprovalRequest"));
  exceptionInformer.addEventHandler(notify("AegisException"));
  // A namespace's labels decide which policies match in it (the audit judges it again).
  namespaceInformer.addEventHandler(notify("Namespace"));

  const informers = [
    policyInformer,
    approvalInformer,
    exceptionInformer,
    namespaceInformer as unknown as ResilientInformer<KubernetesObject>,
  ];
  return {
    policies,
    approvals,
    exceptions,
    approvalsIn: (namespace) => approvals.inNamespace(namespace),
    exceptionsIn: (namespace) => exceptions.inNamespace(namespace),
    namespaceLabels: (namespace) => ({
      "kubernetes.io/metadata.name": namespace,
      ...(namespaceInformer.get(namespace)?.metadata?.labels ?? {}),
    }),
    informers,
    hasSynced: () => informers.every((informer) => informer.hasSynced()),
    onChange: (listener) => listeners.push(listener),
  };
}
