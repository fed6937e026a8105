// Chain-of-custody packages (`aegis evidence collect`): everything about one subject in one
// canonical JSON file that verifies offline. The evidence part is a filtered bundle (records
// with inclusion proofs, the server-signed checkpoints and their consistency proofs); beside it
// the object as the cluster holds it now with its changeHash and the one the evidence last
// recorded, its Events, and a custody block naming who collected it, when, from where, and the
// id of the `evidence.collection` record that commits to the package's digest in the ledger.
// The collector may sign the package with a key of their own. Building and verifying are pure.
import type { KeyObject } from "node:crypto";
import { sign, verify } from "node:crypto";
import { z } from "zod";
import { computeChangeHash } from "../../changehash/index.js";
import { canonicalJson } from "../../json/canonical-json.js";
import type { EvidenceRecord } from "../../ports/evidence.js";
import type { BundleVerification, EvidenceBundle, VerifyOptions } from "./bundle.js";
import { verifyBundle } from "./bundle.js";
import { DIGEST_PATTERN, sha256Bytes, toDigest } from "./hashing.js";
import type { SigningKey } from "./signing.js";
import { keyIdOf, parsePublicKeyPem } from "./signing.js";

export const PACKAGE_FORMAT = "aegis.valina.ai/evidence-package/v1";
export const COLLECTION_RECORD_TYPE = "evidence.collection";
const SIGNATURE_CONTEXT = "aegis.valina.ai/evidence-package-signature/v1\n";

export interface KubernetesSnapshot {
  /** The object as read at collection time; null when it no longer exists. */
  readonly object: Record<string, unknown> | null;
  /** computeChangeHash(object); null without an object. */
  readonly changeHash: string | null;
  /** The changeHash of the newest admission record about the subject; null when none. */
  readonly recordedChangeHash: string | null;
  readonly events: readonly Record<string, unknown>[];
  /** Why the cluster could not be read (the package then holds the evidence only). */
  readonly error?: string;
}

export interface Custody {
  /** The collector's identity, from the API server (SelfSubjectReview) when `authenticated`. */
  readonly collector: string;
  readonly authenticated: boolean;
  readonly collectedAt: string;
  /** The machine and the evidence database the package was collected on and from. */
  readonly host: string;
  readonly source: string;
  readonly tool: string;
  /** Id of the evidence.collection record whose data.packageDigest is `contentDigest`. */
  readonly recordId: string;
  /** sha256 of the canonical JSON of {format, subject, since, bundle, kubernetes}. */
  readonly contentDigest: string;
}

export interface CustodyPackage {
  readonly format: typeof PACKAGE_FORMAT;
  readonly subject: string;
  readonly since?: string;
  readonly bundle: EvidenceBundle;
  readonly kubernetes: KubernetesSnapshot;
  readonly custody: Custody;
  /** The collector's own signature over everything else. */
  readonly signature?: { readonly publicKey: string; readonly keyId: string; readonly value: string };
}

export type PackageContent = Pick<CustodyPackage, "format" | "subject" | "since" | "bundle" | "kubernetes">;

export function packageDigest(content: PackageContent): string {
  const { format, subject, since, bundle, kubernetes } = content;
  return toDigest(sha256Bytes(canonicalJson({ format, subject, since, bundle, kubernetes })));
}

/** The newest admission record's changeHash among `records` (seq order), or null. */
export function recordedChangeHashOf(records: readonly EvidenceRecord[]): string | null {
  for (let i = records.length - 1; i >= 0; i--) {
    const changeHash = records[i]?.data["changeHash"];
    if (records[i]?.type === "admission.decision" && typeof changeHash === "string") return changeHash;
  }
  return null;
}

export function kubernetesSnapshot(
  object: Record<string, unknown> | null,
  events: readonly Record<string, unknown>[],
  records: readonly EvidenceRecord[],
  error?: string,
): KubernetesSnapshot {
  return {
    object,
    changeHash: object === null ? null : computeChangeHash(object),
    recordedChangeHash: recordedChangeHashOf(records),
    events,
    ...(error === undefined ? {} : { error }),
  };
}

/** Seals the package: custody as given, then the collector's signature when a key is given. */
export function sealPackage(unsigned: Omit<CustodyPackage, "signature">, collectorKey?: SigningKey): CustodyPackage {
  if (collectorKey === undefined) return unsigned;
  const value = sign(null, signedBytes(unsigned), collectorKey.privateKey).toString("hex");
  return { ...unsigned, signature: { publicKey: collectorKey.publicKeyPem, keyId: collectorKey.keyId, value } };
}

function signedBytes(unsigned: Omit<CustodyPackage, "signature">): Buffer {
  return Buffer.from(SIGNATURE_CONTEXT + canonicalJson(unsigned), "utf8");
}

const digest = z.string().regex(DIGEST_PATTERN);
const packageSchema = z.strictObject({
  format: z.literal(PACKAGE_FORMAT),
  subject: z.string().min(1),
  since: z.string().optional(),
  bundle: z.unknown(),
  kubernetes: z.strictObject({
    object: z.record(z.string(), z.unknown()).nullable(),
    changeHash: digest.nullable(),
    recordedChangeHash: z.string().nullable(),
    events: z.array(z.record(z.string(), z.unknown())),
    error: z.string().optional(),
  }),
  custody: z.strictObject({
    collector: z.string().min(1),
    authenticated: z.boolean(),
    collectedAt: z.iso.datetime({ offset: false, precision: 3 }),
    host: z.string(),
    source: z.string(),
    tool: z.string(),
    recordId: z.string().min(1),
    contentDigest: digest,
  }),
  signature: z
    .strictObject({ publicKey: z.string(), keyId: digest, value: z.string().regex(/^[0-9a-f]{128}$/) })
    .optional(),
});

export interface PackageVerifyOptions extends VerifyOptions {
  /** When given, the package must be signed by one of these collector keys. */
  readonly collectorKeyIds?: readonly string[];
}

export type PackageVerification =
  | {
      readonly ok: true;
      readonly subject: string;
      readonly evidence: Extract<BundleVerification, { ok: true }>;
      /** Whether the object now in the cluster is the change the evidence last recorded. */
      readonly objectMatchesEvidence: boolean | null;
      readonly custody: Custody;
      readonly collectorKeyId?: string;
    }
  | { readonly ok: false; readonly seq?: number; readonly reason: string };

/** Verifies a parsed package: its evidence bundle against the trusted key, then every other part. */
export function verifyPackage(candidate: unknown, options: PackageVerifyOptions = {}): PackageVerification {
  const parsed = packageSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `malformed package: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}` };
  }
  const pkg = parsed.data;
  const evidence = verifyBundle(pkg.bundle, options);
  if (!evidence.ok) return { ...evidence, reason: `bundle: ${evidence.reason}` };
  const bundle = pkg.bundle as EvidenceBundle;
  if (bundle.kind !== "filtered" || bundle.filter?.subject !== pkg.subject) {
    return {
      ok: false,
      reason: `bundle: it is not the records about ${pkg.subject} (filter ${canonicalJson(bundle.filter ?? null)})`,
    };
  }
  const kube = pkg.kubernetes;
  const objectHash = kube.object === null ? null : computeChangeHash(kube.object);
  if (objectHash !== kube.changeHash) {
    return {
      ok: false,
      reason: `kubernetes.object does not hash to kubernetes.changeHash ${String(kube.changeHash)}: it was altered`,
    };
  }
  const recorded = recordedChangeHashOf(bundle.records);
  if (recorded !== kube.recordedChangeHash) {
    return {
      ok: false,
      reason: `kubernetes.recordedChangeHash ${String(kube.recordedChangeHash)} is not the newest admission record's (${String(recorded)})`,
    };
  }
  const content = { ...pkg, bundle } as PackageContent;
  if (packageDigest(content) !== pkg.custody.contentDigest) {
    return {
      ok: false,
      reason: `package content does not match custody.contentDigest ${pkg.custody.contentDigest}: it was altered after collection`,
    };
  }
  const signed = checkCollectorSignature(pkg as CustodyPackage, options);
  if (!signed.ok) return signed;
  return {
    ok: true,
    subject: pkg.subject,
    evidence,
    objectMatchesEvidence: objectHash === null || recorded === null ? null : objectHash === recorded,
    custody: pkg.custody,
    ...(signed.keyId === undefined ? {} : { collectorKeyId: signed.keyId }),
  };
}

function checkCollectorSignature(
  pkg: CustodyPackage,
  options: PackageVerifyOptions,
): { ok: true; keyId?: string } | { ok: false; reason: string } {
  if (pkg.signature === undefined) {
    return options.collectorKeyIds === undefined
      ? { ok: true }
      : { ok: false, reason: "the package carries no collector signature, and a collector key was required" };
  }
  let publicKey: KeyObject;
  try {
    publicKey = parsePublicKeyPem(pkg.signature.publicKey);
  } catch (err) {
    return { ok: false, reason: `collector signature: ${err instanceof Error ? err.message : String(err)}` };
  }
  const keyId = keyIdOf(publicKey);
  if (keyId !== pkg.signature.keyId)
    return { ok: false, reason: "collector signature: keyId does not name its public key" };
  const { signature, ...unsigned } = pkg;
  if (!verify(null, signedBytes(unsigned), publicKey, Buffer.from(signature.value, "hex"))) {
    return { ok: false, reason: "collector signature does not verify: the package was altered after it was signed" };
  }
  if (options.collectorKeyIds !== undefined && !options.collectorKeyIds.includes(keyId)) {
    return { ok: false, reason: `collector signature by ${keyId}, which is not a trusted collector key` };
  }
  return { ok: true, keyId };
}

/** Packages are written like bundles: RFC 8785 JSON plus a newline, every byte significant. */
export function serializePackage(pkg: CustodyPackage): string {
  return `${canonicalJson(pkg)}\n`;
}

/** Verifies a package as serializePackage wrote it; any byte changed outside the checks above still fails here. */
export function verifyPackageText(text: string, options: PackageVerifyOptions = {}): PackageVerification {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    return { ok: false, reason: `package is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const result = verifyPackage(parsed, options);
  if (!result.ok) return result;
  const canonical = canonicalJson(parsed);
  if (canonical === body) return result;
  let offset = 0;
  while (offset < body.length && body[offset] === canonical[offset]) offset++;
  return {
    ok: false,
    reason: `package text differs from its canonical encoding at character ${offset} (altered after collection)`,
  };
}

/** Whether parsed JSON claims to be a package (rather than a bundle). */
export function isPackage(candidate: unknown): boolean {
  return (
    typeof candidate === "object" && candidate !== null && (candidate as { format?: unknown }).format === PACKAGE_FORMAT
  );
}
