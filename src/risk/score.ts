import type { RiskFactor } from "../api/v1alpha1/index.js";
import { sameJson } from "../changehash/index.js";
import { describeContainer, hasPinnedDigest, imageSourceOf } from "../policy/index.js";
import {
  CRITICAL_NAMESPACE_LABEL,
  MAX_RISK_SCORE,
  RISK_FACTOR_POINTS,
  WORKING_HOURS_UTC,
  type RiskFactorName,
} from "./factors.js";
import { imageChanges } from "./summary.js";
import {
  containerKey,
  hostAccessSignals,
  privilegeSignals,
  secretVolumes,
  workloadView,
  type WorkloadView,
} from "./workload.js";

export interface RiskInput {
  readonly operation: "CREATE" | "UPDATE";
  readonly kind: string;
  readonly object: Record<string, unknown>;
  /** The stored object on UPDATE, null on CREATE. */
  readonly oldObject: Record<string, unknown> | null;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** The decision time, passed in: risk code never reads the clock. */
  readonly now: Date;
  /** Image sources (see imageSourceOf) this workload used before, when the caller knows them. */
  readonly knownRegistries?: readonly string[];
  /**
   * What humans approved in the namespace (the caller's ApprovalRequests): the image repositories
   * (`registry/repository`) and the requesters of approved changes. Absent: no baseline, so
   * new-image and new-owner do not apply.
   */
  readonly approvedHistory?: { readonly repositories: readonly string[]; readonly requesters: readonly string[] };
  /** Who asks for the change (AdmissionReview userInfo), for new-owner. */
  readonly requester?: string;
}

export interface RiskScore {
  /** Sum of the factors' points, clamped to 0-100. */
  readonly score: number;
  readonly factors: readonly RiskFactor[];
}

interface RiskViews {
  readonly input: RiskInput;
  readonly current: WorkloadView;
  readonly previous: WorkloadView | undefined;
}

type FactorDetector = (views: RiskViews) => string | undefined;

const MAX_LISTED = 5;

/** Joins up to five items for a factor's detail, counting the rest. */
function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(", ");
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

const newWorkload: FactorDetector = ({ input }) => (input.operation === "CREATE" ? `new ${input.kind}` : undefined);

function isKnownSource(source: string, known: readonly string[]): boolean {
  return known.some((entry) => source === entry || source.startsWith(`${entry}/`));
}

/** Without an old object or a known list there is no baseline, so nothing counts as new. */
const newRegistry: FactorDetector = ({ input, current, previous }) => {
  if (previous === undefined && input.knownRegistries === undefined) return undefined;
  const known = [
    ...(previous?.images.map(imageSourceOf) ?? []),
    ...(input.knownRegistries ?? []).map((k) => k.replace(/\/+$/, "")),
  ];
  const novel = unique(current.images.map(imageSourceOf)).filter((source) => !isKnownSource(source, known));
  if (novel.length === 0) return undefined;
  return previous === undefined
    ? `images from ${listed(novel)}, in no change approved in namespace ${input.namespaceLabels["kubernetes.io/metadata.name"] ?? "of this change"}`
    : `images from ${listed(novel)}, not used by this ${input.kind} before`;
};

function repositoryOf(image: { registry: string; repository: string }): string {
  return `${image.registry}/${image.repository}`;
}

/** Repositories no approved change of the namespace ran, from sources that are not new themselves (new-registry counts those). */
const newImage: FactorDetector = ({ input, current, previous }) => {
  const history = input.approvedHistory;
  if (history === undefined) return undefined;
  const knownSources = [
    ...(previous?.images.map(imageSourceOf) ?? []),
    ...(input.knownRegistries ?? []).map((k) => k.replace(/\/+$/, "")),
  ];
  const repositories = new Set([...history.repositories, ...(previous?.images.map(repositoryOf) ?? [])]);
  const novel = unique(
    current.images
      .filter((image) => isKnownSource(imageSourceOf(image), knownSources))
      .map(repositoryOf)
      .filter((repository) => !repositories.has(repository)),
  );
  return novel.length === 0 ? undefined : `${listed(novel)}: in no change approved in this namespace`;
};

const newOwner: FactorDetector = ({ input }) => {
  const history = input.approvedHistory;
  if (history === undefined || input.requester === undefined || history.requesters.includes(input.requester))
    return undefined;
  return `${input.requester} has no approved change in this namespace yet`;
};

const mutableTag: FactorDetector = ({ current }) => {
  const mutable = unique(current.images.filter((image) => !hasPinnedDigest(image)).map((image) => image.raw));
  return mutable.length === 0 ? undefined : `not pinned by digest: ${listed(mutable)}`;
};

const privilegeIncrease: FactorDetector = ({ current, previous }) => {
  const before = previous === undefined ? new Set<string>() : privilegeSignals(previous);
  const added = [...privilegeSignals(current)].filter((signal) => !before.has(signal));
  return added.length === 0 ? undefined : listed(added);
};

const hostAccess: FactorDetector = ({ current }) => {
  const signals = hostAccessSignals(current);
  return signals.length === 0 ? undefined : listed(signals);
};

const criticalNamespace: FactorDetector = ({ input }) =>
  input.namespaceLabels[CRITICAL_NAMESPACE_LABEL] === "true"
    ? `namespace is labelled ${CRITICAL_NAMESPACE_LABEL}=true`
    : undefined;

/** A missing replicas field is Kubernetes' default of 1. */
const replicasJump: FactorDetector = ({ current, previous }) => {
  if (previous === undefined) return undefined;
  const before = previous.replicas ?? 1;
  const after = current.replicas ?? 1;
  return after > before * 2 || after - before >= 10 ? `replicas ${before} -> ${after}` : undefined;
};

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const outsideWorkingHours: FactorDetector = ({ input }) => {
  const day = input.now.getUTCDay();
  const hour = input.now.getUTCHours();
  const time = `${WEEKDAYS[day] ?? ""} ${input.now.toISOString().slice(11, 16)} UTC`;
  if (day === 0 || day === 6) return `${time} is a weekend`;
  if (hour < WORKING_HOURS_UTC.start || hour >= WORKING_HOURS_UTC.end) return `${time} is outside 08:00-18:00 UTC`;
  return undefined;
};

function envChanges(current: WorkloadView, previous: WorkloadView): string[] {
  const before = new Map(previous.containers.map((c) => [containerKey(c), c.spec]));
  return current.containers
    .filter((c) => {
      const old = before.get(containerKey(c)) ?? {};
      return (
        !sameJson(c.spec["env"] ?? [], old["env"] ?? []) || !sameJson(c.spec["envFrom"] ?? [], old["envFrom"] ?? [])
      );
    })
    .map((c) => `env of ${describeContainer(c)}`);
}

function secretVolumeChanges(current: WorkloadView, previous: WorkloadView): string[] {
  const before = secretVolumes(previous);
  const after = secretVolumes(current);
  const names = unique([...before.keys(), ...after.keys()]);
  return names
    .filter((name) => !sameJson(before.get(name), after.get(name)))
    .map((name) => `secret volume ${JSON.stringify(name)}`);
}

/** Compared with the old object only: on CREATE everything is new anyway. */
const secretOrEnvChange: FactorDetector = ({ current, previous }) => {
  if (previous === undefined) return undefined;
  const changes = [...envChanges(current, previous), ...secretVolumeChanges(current, previous)];
  return changes.length === 0 ? undefined : `changed: ${listed(changes)}`;
};

const imageChange: FactorDetector = ({ input }) => {
  if (input.oldObject === null) return undefined;
  const changes = imageChanges(input.kind, input.oldObject, input.object);
  return changes.length === 0 ? undefined : listed(changes);
};

const DETECTORS: Readonly<Record<RiskFactorName, FactorDetector>> = {
  "new-workload": newWorkload,
  "new-registry": newRegistry,
  "mutable-tag": mutableTag,
  "privilege-increase": privilegeIncrease,
  "host-access": hostAccess,
  "critical-namespace": criticalNamespace,
  "replicas-jump": replicasJump,
  "outside-working-hours": outsideWorkingHours,
  "secret-or-env-change": secretOrEnvChange,
  "image-change": imageChange,
  "new-image": newImage,
  "new-owner": newOwner,
};

export function clampScore(points: number): number {
  return Math.min(MAX_RISK_SCORE, Math.max(0, Math.round(points)));
}

/**
 * Risk score v1: every factor that applies, with its points and a human detail, and their sum
 * clamped to 0-100. Pure: the time comes in as `now`.
 */
export function scoreRisk(input: RiskInput): RiskScore {
  const views: RiskViews = {
    input,
    current: workloadView(input.kind, input.object),
    previous: input.oldObject === null ? undefined : workloadView(input.kind, input.oldObject),
  };
  const factors = Object.entries(DETECTORS).flatMap(([name, detect]): RiskFactor[] => {
    const detail = detect(views);
    return detail === undefined ? [] : [{ name, points: RISK_FACTOR_POINTS[name as RiskFactorName], detail }];
  });
  return { score: clampScore(factors.reduce((sum, factor) => sum + factor.points, 0)), factors };
}

/** `new-registry +20, mutable-tag +10`, for denial messages. */
export function formatRiskFactors(factors: readonly RiskFactor[]): string {
  return factors.map((factor) => `${factor.name} +${factor.points}`).join(", ");
}
