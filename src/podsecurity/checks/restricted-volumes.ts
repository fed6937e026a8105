import type { CheckDefinition, CheckFinding } from "../check.js";
import { joinQuoted, pluralize, sortedUnique } from "../format.js";
import type { Pod, Volume } from "../pod-model.js";

/** Volume types that do not reach outside the Pod's own, API-managed data. */
const ALLOWED_SOURCES: ReadonlySet<string> = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "image",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

/**
 * The volume sources that are not allowed. A volume with no known source at all is allowed:
 * the API server defaults it to an emptyDir.
 */
const RESTRICTED_SOURCES: readonly string[] = [
  "hostPath",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "nfs",
  "iscsi",
  "glusterfs",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "fc",
  "azureFile",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "storageos",
];

/** Restricted allows only volume types that cannot reach node or network storage directly. */
export const restrictedVolumes: CheckDefinition = {
  id: "restrictedVolumes",
  level: "restricted",
  versions: [{ sinceMinor: 0, check: checkRestrictedVolumes, overrides: ["hostPathVolumes"] }],
};

function restrictedSourcesOf(volume: Volume): string[] {
  if ([...volume.sources].some((source) => ALLOWED_SOURCES.has(source))) return [];
  return RESTRICTED_SOURCES.filter((source) => volume.sources.has(source));
}

function checkRestrictedVolumes(pod: Pod): CheckFinding | undefined {
  const badVolumes = pod.spec.volumes.filter((volume) => restrictedSourcesOf(volume).length > 0);
  if (badVolumes.length === 0) return undefined;
  const names = badVolumes.map((volume) => volume.name);
  const types = sortedUnique(badVolumes.flatMap(restrictedSourcesOf));
  return {
    reason: "restricted volume types",
    detail: `${pluralize(names.length, "volume", "volumes")} ${joinQuoted(names)} ${pluralize(names.length, "uses", "use")} restricted volume ${pluralize(types.length, "type", "types")} ${joinQuoted(types)}`,
  };
}
