// `aegis evidence collect --subject KIND/NS/NAME`: one chain-of-custody package about a subject
// (evidence/chain/custody.ts). Reads the ledger (its records with proofs and the checkpoints
// aegis serve signed) and the cluster with the collector's own credentials, then appends an
// `evidence.collection` record committing to the package's digest, so the collection itself is
// in the evidence. It never signs checkpoints; `--collector-key` signs the package as the collector.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { whoAmI } from "../adapters/kube/identity.js";
import { loadKubeConfig } from "../adapters/kube/kube-config.js";
import type { SubjectRef } from "../adapters/kube/subject-reader.js";
import { listSubjectEvents, readSubjectObject, SUBJECT_KINDS } from "../adapters/kube/subject-reader.js";
import type { CustodyPackage } from "../evidence/chain/custody.js";
import {
  COLLECTION_RECORD_TYPE,
  kubernetesSnapshot,
  PACKAGE_FORMAT,
  packageDigest,
  sealPackage,
  serializePackage,
} from "../evidence/chain/custody.js";
import { signingKeyFromPem } from "../evidence/chain/signing.js";
import { DEFAULT_ORIGIN, exportBundle } from "../evidence/export.js";
import { openEvidenceReader } from "../wiring/ledger.js";
import { writeFileAtomically } from "./write-file.js";

interface Output {
  write(text: string): unknown;
}

export interface EvidenceCollectOptions {
  readonly subject: string;
  readonly since?: string | undefined;
  readonly out?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly dataDir: string;
  readonly kubeconfig?: string | undefined;
  /** Skip the cluster (no object, no Events): the package then holds the evidence alone. */
  readonly cluster?: boolean | undefined;
  /** Ed25519 PKCS#8 PEM the collector signs the package with. */
  readonly collectorKey?: string | undefined;
  readonly now?: () => Date;
  readonly stdout?: Output;
  readonly stderr?: Output;
}

/** `Kind/namespace/name`, or `Kind/name` for a cluster-scoped kind. */
export function parseSubject(text: string): SubjectRef {
  const parts = text.split("/");
  const kind = parts[0] ?? "";
  const info = SUBJECT_KINDS[kind];
  if (info === undefined) {
    throw new Error(`--subject ${JSON.stringify(text)}: kind must be one of ${Object.keys(SUBJECT_KINDS).join(", ")}`);
  }
  const expected = info.namespaced ? 3 : 2;
  if (parts.length !== expected || parts.slice(1).some((part) => part.length === 0)) {
    throw new Error(`--subject ${JSON.stringify(text)}: expected ${kind}/${info.namespaced ? "NAMESPACE/" : ""}NAME`);
  }
  return info.namespaced
    ? { kind, namespace: parts[1], name: parts[2] ?? "" }
    : { kind, namespace: undefined, name: parts[1] ?? "" };
}

/** Returns the exit code: 0 written, 1 when collecting failed (the message says why and what to do). */
export async function evidenceCollect(opts: EvidenceCollectOptions): Promise<number> {
  const stderr = opts.stderr ?? process.stderr;
  const now = opts.now ?? (() => new Date());
  let subject: SubjectRef;
  try {
    subject = parseSubject(opts.subject);
  } catch (err) {
    stderr.write(`evidence collect: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const reader = await openEvidenceReader({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl });
  try {
    stderr.write(`evidence collect: reading the records about ${opts.subject}\n`);
    const bundle = await exportBundle(
      { store: reader.store, origin: DEFAULT_ORIGIN, now: now() },
      { subject: opts.subject, since: opts.since },
    );
    const cluster = opts.cluster === false ? undefined : await readCluster(opts, subject, stderr);
    const kubernetes = kubernetesSnapshot(
      cluster?.object ?? null,
      cluster?.events ?? [],
      bundle.records,
      cluster === undefined ? "not read (--no-cluster)" : cluster.error,
    );
    const content = {
      format: PACKAGE_FORMAT,
      subject: opts.subject,
      ...(opts.since === undefined ? {} : { since: opts.since }),
      bundle,
      kubernetes,
    } as const;
    const contentDigest = packageDigest(content);
    const collector = cluster?.identity ?? `os:${userInfo().username}@${hostname()}`;
    const collectedAt = now().toISOString();
    const recordId = `collection-${randomUUID()}`;
    const source =
      opts.databaseUrl === undefined ? `embedded database in ${opts.dataDir}` : describeDatabase(opts.databaseUrl);
    try {
      await reader.store.append([
        {
          id: recordId,
          time: collectedAt,
          type: COLLECTION_RECORD_TYPE,
          subject: opts.subject,
          actor: collector,
          data: {
            packageDigest: contentDigest,
            records: bundle.records.length,
            checkpointSize: bundle.checkpoint?.checkpoint.size ?? 0,
            since: opts.since ?? null,
            host: hostname(),
          },
        },
      ]);
    } catch (err) {
      stderr.write(
        `evidence collect: cannot append the evidence.collection record (${err instanceof Error ? err.message : String(err)}): collecting needs a login that may append to the ledger (the aegis_evidence_writer role); nothing was written\n`,
      );
      return 1;
    }
    const unsigned: Omit<CustodyPackage, "signature"> = {
      ...content,
      custody: {
        collector,
        authenticated: cluster?.identity !== undefined,
        collectedAt,
        host: hostname(),
        source,
        tool: "aegis evidence collect",
        recordId,
        contentDigest,
      },
    };
    const collectorKey =
      opts.collectorKey === undefined ? undefined : signingKeyFromPem(await readFile(opts.collectorKey, "utf8"));
    const text = serializePackage(sealPackage(unsigned, collectorKey));
    if (opts.out === undefined || opts.out === "-") (opts.stdout ?? process.stdout).write(text);
    else await writeFileAtomically(opts.out, text);
    stderr.write(
      `evidence collect: ${bundle.records.length} records about ${opts.subject}, ${kubernetes.events.length} Events, object ${kubernetes.object === null ? "absent" : "read"}; recorded as ${recordId}${opts.out && opts.out !== "-" ? `; written to ${opts.out}` : ""}\n`,
    );
    return 0;
  } catch (err) {
    stderr.write(`evidence collect: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await reader.close();
  }
}

interface ClusterView {
  readonly identity: string | undefined;
  readonly object: Record<string, unknown> | null;
  readonly events: Record<string, unknown>[];
  readonly error: string | undefined;
}

// The cluster is read best-effort: a package of the evidence alone is still worth having, and
// says why the rest is missing.
async function readCluster(opts: EvidenceCollectOptions, subject: SubjectRef, stderr: Output): Promise<ClusterView> {
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig({ kubeconfig: opts.kubeconfig });
  } catch (err) {
    return { identity: undefined, object: null, events: [], error: String(err instanceof Error ? err.message : err) };
  }
  try {
    stderr.write(`evidence collect: reading ${opts.subject} and its Events from the cluster\n`);
    const identity = (await whoAmI(kubeConfig)).username;
    const [object, events] = await Promise.all([
      readSubjectObject(kubeConfig, subject),
      listSubjectEvents(kubeConfig, subject),
    ]);
    return { identity, object, events, error: undefined };
  } catch (err) {
    return { identity: undefined, object: null, events: [], error: err instanceof Error ? err.message : String(err) };
  }
}

function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `postgres://${parsed.host}${parsed.pathname}`;
  } catch {
    return "PostgreSQL";
  }
}
