import { controllerOwnerOf } from "./pod-template.js";

/**
 * The kube-controller-manager controllers that make pod-carrying objects from their owners'
 * templates (with `--use-service-account-credentials`, each under its own service account), and
 * which kind each makes for which owner. Their owners were gated when users wrote them, so what
 * they make from those templates is not gated again — which also keeps an AEGIS outage from
 * stopping rescheduling and scale-out. They are trusted as the control plane is: a user cannot
 * act as them without access to kube-system.
 */
const MAKES = {
  deployment: { kind: "ReplicaSet", owner: "Deployment" },
  replicaSet: { kind: "Pod", owner: "ReplicaSet" },
  statefulSet: { kind: "Pod", owner: "StatefulSet" },
  daemonSet: { kind: "Pod", owner: "DaemonSet" },
  job: { kind: "Pod", owner: "Job" },
  cronJob: { kind: "Job", owner: "CronJob" },
} as const;

export const BUILT_IN_CONTROLLERS: Readonly<
  Record<string, readonly { readonly kind: string; readonly owner: string }[]>
> = {
  "system:serviceaccount:kube-system:deployment-controller": [MAKES.deployment],
  "system:serviceaccount:kube-system:replicaset-controller": [MAKES.replicaSet],
  "system:serviceaccount:kube-system:statefulset-controller": [MAKES.statefulSet],
  "system:serviceaccount:kube-system:daemon-set-controller": [MAKES.daemonSet],
  "system:serviceaccount:kube-system:job-controller": [MAKES.job],
  "system:serviceaccount:kube-system:cronjob-controller": [MAKES.cronJob],
  // A controller manager run without --use-service-account-credentials acts as itself for all of them.
  "system:kube-controller-manager": Object.values(MAKES),
};

/**
 * Control-plane identities whose writes to gated kinds never change what runs: the garbage
 * collector edits ownerReferences and finalizers; nodes (group system:nodes) write mirror pods
 * of static pods, which are node configuration.
 */
export const CONTROL_PLANE_USERS: readonly string[] = ["system:serviceaccount:kube-system:generic-garbage-collector"];
export const CONTROL_PLANE_GROUPS: readonly string[] = ["system:nodes"];

/** Every identity the webhook configuration's matchConditions keep away from the gate. */
export function exemptUsernames(): string[] {
  return [...Object.keys(BUILT_IN_CONTROLLERS), ...CONTROL_PLANE_USERS];
}

export interface ProvenanceInput {
  readonly operation: "CREATE" | "UPDATE";
  readonly kind: string;
  readonly object: unknown;
  readonly user: { readonly username: string; readonly groups: readonly string[] };
}

/**
 * Whether a request is a control-plane write the gate leaves alone: a built-in controller making
 * the kind it makes for an owner of the kind it manages (the owner was gated), or a garbage
 * collector / node write. The same rule the webhook configuration applies by identity, checked
 * again here in case a configuration without matchConditions sends these requests anyway.
 */
export function isControlPlaneWrite(input: ProvenanceInput): boolean {
  if (input.user.groups.some((group) => CONTROL_PLANE_GROUPS.includes(group))) return true;
  if (CONTROL_PLANE_USERS.includes(input.user.username)) return true;
  const makes = Object.hasOwn(BUILT_IN_CONTROLLERS, input.user.username)
    ? BUILT_IN_CONTROLLERS[input.user.username]
    : undefined;
  if (makes === undefined) return false;
  const owner = controllerOwnerOf(input.object);
  return makes.some((entry) => entry.kind === input.kind && entry.owner === owner?.kind);
}
