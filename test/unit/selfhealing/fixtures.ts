import { computeChangeHash } from "../../../src/changehash/index.js";
import {
  deploymentView,
  podView,
  replicaSetView,
  type DeploymentView,
  type PodView,
  type ReplicaSetView,
} from "../../../src/selfhealing/index.js";

export const NOW = new Date("2026-03-02T10:00:00Z");
export const minutesAgo = (minutes: number): string => new Date(NOW.getTime() - minutes * 60_000).toISOString();

export function template(image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { metadata: { labels: { app: "web" }, ...extra }, spec: { containers: [{ name: "web", image }] } };
}

interface DeploymentOptions {
  image?: string;
  conditions?: Record<string, unknown>[];
  annotations?: Record<string, string>;
  status?: Record<string, unknown>;
  resourceVersion?: string;
}

export function rawDeployment(options: DeploymentOptions = {}): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "prod",
      uid: "dep-uid",
      resourceVersion: options.resourceVersion ?? "100",
      generation: 3,
      annotations: options.annotations ?? {},
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: template(options.image ?? "ghcr.io/acme/web:3"),
    },
    status: {
      observedGeneration: 3,
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 0,
      conditions: options.conditions ?? [],
      ...options.status,
    },
  };
}

export function deployment(options: DeploymentOptions = {}): DeploymentView {
  const view = deploymentView(rawDeployment(options));
  if (!view) throw new Error("bad fixture");
  return view;
}

export function replicaSet(name: string, revision: number, image: string): ReplicaSetView {
  const view = replicaSetView({
    metadata: {
      name,
      uid: `${name}-uid`,
      annotations: { "deployment.kubernetes.io/revision": String(revision) },
      ownerReferences: [{ kind: "Deployment", name: "web", uid: "dep-uid", controller: true }],
    },
    spec: { template: template(image, { labels: { app: "web", "pod-template-hash": name } }) },
  });
  if (!view) throw new Error("bad fixture");
  return view;
}

interface PodOptions {
  restarts?: number;
  waiting?: string;
  phase?: string;
  createdMinutesAgo?: number;
  deletingMinutesAgo?: number;
  ready?: boolean;
  /** The container's previous run, as the kubelet reports it (`lastState.terminated`). */
  lastTerminated?: { reason: string; exitCode: number };
}

export function pod(name: string, owner: string, options: PodOptions = {}): PodView {
  const view = podView({
    metadata: {
      name,
      uid: `${name}-uid`,
      resourceVersion: "7",
      creationTimestamp: minutesAgo(options.createdMinutesAgo ?? 1),
      ...(options.deletingMinutesAgo === undefined
        ? {}
        : { deletionTimestamp: new Date(NOW.getTime() - options.deletingMinutesAgo * 60_000) }),
      ownerReferences: [{ kind: "ReplicaSet", name: owner, uid: `${owner}-uid`, controller: true }],
    },
    status: {
      phase: options.phase ?? "Running",
      containerStatuses: [
        {
          name: "web",
          ready: options.ready ?? false,
          restartCount: options.restarts ?? 0,
          state: options.waiting ? { waiting: { reason: options.waiting } } : { running: {} },
          ...(options.lastTerminated ? { lastState: { terminated: options.lastTerminated } } : {}),
        },
      ],
    },
  });
  if (!view) throw new Error("bad fixture");
  return view;
}

/** The changeHash the gate computed when the Deployment ran `image`. */
export function hashFor(image: string): string {
  return computeChangeHash(rawDeployment({ image }));
}
