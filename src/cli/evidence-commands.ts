// `aegis evidence export|verify` (DESIGN §4): an auditor's view of the ledger. verify is offline
// for a bundle file, and exits 1 naming the first bad record on any break.
import type { Command } from "commander";
import { Option } from "commander";
import { fstat } from "node:fs";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { BundleVerification, EvidenceBundle, KeptCheckpoint } from "../evidence/chain/bundle.js";
import { serializeBundle, verifyBundleText, verifyExtends } from "../evidence/chain/bundle.js";
import { signedCheckpointSchema } from "../evidence/chain/checkpoint.js";
import { keyIdOf, parsePublicKeyPem } from "../evidence/chain/signing.js";
import { DEFAULT_ORIGIN, exportBundle } from "../evidence/export.js";
import { readSigningKey } from "../evidence/signing-key-file.js";
import type { PackageVerification } from "../evidence/chain/custody.js";
import { isPackage, verifyPackageText } from "../evidence/chain/custody.js";
import type { EvidenceCollectOptions } from "./evidence-collect.js";
import { writeFileAtomically } from "./write-file.js";

export const DEFAULT_DATA_DIR = "./.aegis-data";

interface Output {
  write(text: string): unknown;
}

export interface EvidenceExportOptions {
  /** File to write; stdout when absent or "-". */
  readonly out?: string | undefined;
  /** A seq number or an RFC 3339 time. */
  readonly since?: string | undefined;
  readonly subject?: string | undefined;
  /** PostgreSQL; unset: the embedded database in `dataDir`. */
  readonly databaseUrl?: string | undefined;
  readonly dataDir: string;
  readonly stdout?: Output;
  readonly stderr?: Output;
}

export async function evidenceExport(opts: EvidenceExportOptions): Promise<void> {
  const text = serializeBundle(await liveBundle(opts));
  if (opts.out === undefined || opts.out === "-") {
    (opts.stdout ?? process.stdout).write(text);
    return;
  }
  await writeFileAtomically(opts.out, text);
  (opts.stderr ?? process.stderr).write(`evidence: bundle written to ${opts.out}\n`);
}

async function liveBundle(opts: Omit<EvidenceExportOptions, "out">): Promise<EvidenceBundle> {
  // Read access only: no signing key is loaded or created, and nothing is migrated.
  const { openEvidenceReader } = await import("../wiring/ledger.js");
  const reader = await openEvidenceReader({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl });
  try {
    return await exportBundle(
      { store: reader.store, origin: DEFAULT_ORIGIN, now: new Date() },
      { since: opts.since, subject: opts.subject },
    );
  } finally {
    await reader.close();
  }
}

export interface EvidenceVerifyOptions {
  /**
   * Bundle file, or "-" for stdin. Absent: stdin when it is a pipe or a file (`aegis evidence
   * export | aegis evidence verify`), otherwise a live export from the database.
   */
  readonly bundle?: string | undefined;
  /** PEM public key file the checkpoints must be signed with: the trust anchor (this or keyId is required). */
  readonly publicKey?: string | undefined;
  /** `sha256:` key id (what `aegis evidence key` prints) the checkpoints must be signed with. */
  readonly keyId?: string | undefined;
  /** A full bundle kept from an earlier export: the new one must hold its records unchanged. */
  readonly previous?: string | undefined;
  /** A checkpoint kept by the auditor (JSON from an earlier bundle, or a C2SP note from a witness or the ConfigMap): the log must extend it. */
  readonly checkpoint?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly dataDir?: string | undefined;
  /** Where a piped bundle comes from: default process.stdin when it is a pipe or a file; false: never stdin. */
  readonly stdin?: NodeJS.ReadableStream | false;
  readonly stdout?: Output;
  readonly stderr?: Output;
}

/** Printed when verify is given no trust anchor: the key embedded in a bundle proves nothing by itself. */
export const TRUST_ANCHOR_GUIDANCE = `evidence verify needs the key you trust: --public-key FILE or --key-id sha256:…
  The public key inside a bundle is never trusted by itself: whoever rewrote the log could re-sign it.
  Obtain the key out of band: run \`aegis evidence key\` where aegis serve keeps its signing key
  (it prints the PEM and the key id; aegis serve also logs the key id at start), or ask the operator.
`;

const KEY_ID_PATTERN = /^sha256:[0-9a-f]{64}$/;

/**
 * Returns the exit code: 0 when the bundle verifies, 1 on any break (printing the first bad
 * record), 2 on bad usage (no trusted key, or an unreadable one).
 */
export async function evidenceVerify(opts: EvidenceVerifyOptions = {}): Promise<number> {
  const stderr = opts.stderr ?? process.stderr;
  const trusted = await trustedKeyId(opts).catch((err: unknown) => err as Error);
  if (trusted === undefined || trusted instanceof Error) {
    stderr.write(
      trusted === undefined ? TRUST_ANCHOR_GUIDANCE : `evidence verify: ${trusted.message}\n${TRUST_ANCHOR_GUIDANCE}`,
    );
    return 2;
  }
  let keptCheckpoint: KeptCheckpoint | undefined;
  if (opts.checkpoint !== undefined) {
    const kept = await readKeptCheckpoint(opts.checkpoint);
    if (kept instanceof Error) {
      stderr.write(`evidence verify: ${kept.message}\n`);
      return 2;
    }
    keptCheckpoint = kept;
  }
  const options = { trustedKeyIds: [trusted], ...(keptCheckpoint === undefined ? {} : { keptCheckpoint }) };
  const input = await readBundleInput(opts);
  const packaged = packageText(input.bytes);
  if (packaged !== undefined) {
    const verdict = verifyPackageText(packaged, options);
    (opts.stdout ?? process.stdout).write(`${describePackage(verdict, input.source)}\n`);
    return verdict.ok ? 0 : 1;
  }
  let result = verifyBundleText(input.bytes, options);
  if (result.ok && opts.previous !== undefined) {
    result = verifyExtends(await readJson(opts.previous), JSON.parse(input.bytes.toString()), options);
  }
  (opts.stdout ?? process.stdout).write(`${describeVerification(result, input.source)}\n`);
  return result.ok ? 0 : 1;
}

// A chain-of-custody package (aegis evidence collect) rather than a bundle: its text, else undefined.
function packageText(bytes: Buffer | string): string | undefined {
  const text = bytes.toString();
  try {
    return isPackage(JSON.parse(text)) ? text : undefined;
  } catch {
    return undefined;
  }
}

export function describePackage(result: PackageVerification, source: string): string {
  if (!result.ok) return describeVerification(result, source);
  const { custody, evidence } = result;
  const object =
    result.objectMatchesEvidence === null
      ? "no object or no admission record to compare"
      : result.objectMatchesEvidence
        ? "the object in the cluster is the change the evidence last recorded"
        : "the object in the cluster differs from the change the evidence last recorded";
  const signer =
    result.collectorKeyId === undefined
      ? "unsigned by the collector"
      : `signed by collector key ${result.collectorKeyId}`;
  return `${describeVerification(evidence, source).replace(/^OK [^:]*: filtered bundle/, `OK ${source}: custody package for ${result.subject}`)}; ${object}; collected by ${custody.collector}${custody.authenticated ? "" : " (not authenticated)"} at ${custody.collectedAt} on ${custody.host}, recorded as ${custody.recordId}; ${signer}`;
}

export function describeVerification(result: BundleVerification, source: string): string {
  if (!result.ok) {
    const where = result.seq === undefined ? "" : `record seq ${result.seq}: `;
    return `FAIL ${source}: ${where}${result.reason}`;
  }
  const verified = `OK ${source}: ${result.kind} bundle, ${result.records} records verified`;
  if (result.checkpoint === undefined) {
    return `${verified}; chain only: no signed checkpoint stored yet (aegis serve signs one every --evidence-checkpoint-interval)`;
  }
  const { size, rootHash, timestamp, origin } = result.checkpoint;
  const unsigned = result.unsigned > 0 ? `; ${result.unsigned} newer records chained but not yet signed` : "";
  return `${verified}; checkpoint ${origin} size ${size} root ${rootHash} at ${timestamp}, signed by ${result.keyId} (${result.checkpoints} signed checkpoints consistent)${unsigned}`;
}

/**
 * --checkpoint FILE: a JSON signed checkpoint (`jq .checkpoint` of a bundle) or a C2SP checkpoint
 * note (a witness's copy, or `.data.checkpoint` of the published ConfigMap).
 */
async function readKeptCheckpoint(path: string): Promise<KeptCheckpoint | Error> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    return new Error(`cannot read --checkpoint ${path}: ${String(err)}`);
  }
  if (!text.trimStart().startsWith("{")) return { note: text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return new Error(`--checkpoint ${path} is neither a checkpoint note nor JSON: ${String(err)}`);
  }
  const kept = signedCheckpointSchema.safeParse(parsed);
  return kept.success
    ? kept.data
    : new Error(
        `--checkpoint ${path} is not a signed checkpoint (JSON {checkpoint, keyId, signature}, or a checkpoint note)`,
      );
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read bundle ${path}: ${String(err)}`, { cause: err });
  }
}

// The trusted key id from --key-id and/or --public-key (both given: they must name the same key).
async function trustedKeyId(opts: EvidenceVerifyOptions): Promise<string | undefined> {
  if (opts.keyId !== undefined && !KEY_ID_PATTERN.test(opts.keyId)) {
    throw new Error(`--key-id must be sha256: and 64 lower-case hex digits, got ${JSON.stringify(opts.keyId)}`);
  }
  if (opts.publicKey === undefined) return opts.keyId;
  const fromFile = await readKeyId(opts.publicKey);
  if (opts.keyId !== undefined && opts.keyId !== fromFile) {
    throw new Error(`--key-id ${opts.keyId} and --public-key ${opts.publicKey} (${fromFile}) name different keys`);
  }
  return fromFile;
}

// Accepts what `aegis evidence key` prints: the PEM block, with or without the key id line after it.
async function readKeyId(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`--public-key ${path}: cannot read it: ${String(err)}`, { cause: err });
  }
  const pem = /-----BEGIN PUBLIC KEY-----\n[^-]*-----END PUBLIC KEY-----\n/.exec(text)?.[0] ?? text;
  try {
    return keyIdOf(parsePublicKeyPem(pem));
  } catch (err) {
    throw new Error(`--public-key ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

async function readBundleInput(opts: EvidenceVerifyOptions): Promise<{ bytes: Buffer | string; source: string }> {
  if (
    opts.bundle === "-" ||
    (opts.bundle === undefined && opts.stdin !== false && (opts.stdin !== undefined || (await stdinCarriesData())))
  ) {
    const bytes = await readStream(opts.stdin || process.stdin);
    if (bytes.length > 0 || opts.bundle === "-") return { bytes, source: "stdin" };
  }
  if (opts.bundle !== undefined && opts.bundle !== "-")
    return { bytes: await readFile(opts.bundle), source: opts.bundle };
  const bundle = await liveBundle({ dataDir: opts.dataDir ?? DEFAULT_DATA_DIR, databaseUrl: opts.databaseUrl });
  return { bytes: serializeBundle(bundle), source: "live export" };
}

// A shell pipe (FIFO) or a redirected file is a bundle; a terminal, /dev/null or the socket a
// parent process leaves open by default is not, and must not make verify wait forever.
async function stdinCarriesData(): Promise<boolean> {
  try {
    const stats = await promisify(fstat)(0);
    return stats.isFIFO() || (stats.isFile() && stats.size > 0);
  } catch {
    return false; // no fd 0 at all: nothing to read
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * `aegis evidence key`: prints the checkpoint public key (PEM) and its key id, for auditors to
 * pin with `verify --public-key FILE` or `--key-id`. Never creates a key.
 */
export async function evidenceKey(opts: {
  dataDir: string;
  signingKey?: string | undefined;
  stdout?: Output;
}): Promise<void> {
  const { key } = await readSigningKey({ dataDir: opts.dataDir, keyFile: opts.signingKey });
  (opts.stdout ?? process.stdout).write(`${key.publicKeyPem}key id: ${key.keyId}\n`);
}

/** @deprecated the old name of evidenceKey. */
export const evidencePublicKey = evidenceKey;

/** Adds `export`, `verify` and `key` (alias `public-key`) under the `evidence` command. */
export function registerEvidenceCommands(evidence: Command): void {
  const databaseUrl = (): Option =>
    new Option("--database-url <url>", "PostgreSQL; unset: embedded database in the data dir").env("DATABASE_URL");
  const dataDir = (): Option =>
    new Option("--data-dir <dir>", "embedded database and signing key").env("AEGIS_DATA_DIR").default(DEFAULT_DATA_DIR);
  const signingKey = (): Option =>
    new Option("--signing-key <file>", "checkpoint signing key (PEM); default <data-dir>/evidence-signing-key.pem").env(
      "AEGIS_EVIDENCE_SIGNING_KEY",
    );

  evidence
    .command("export")
    .description(
      "write an evidence bundle with the checkpoints aegis serve signed: every record, or those selected with their inclusion proofs (read access only, no signing key)",
    )
    .option("--out <file>", "bundle file (default: stdout)")
    .option("--since <seq|time>", "only records from this seq number or RFC 3339 time on")
    .option("--subject <subject>", "only records about this subject, e.g. Deployment/prod/web")
    .addOption(databaseUrl())
    .addOption(dataDir())
    .action(async (flags: EvidenceExportOptions) => {
      await evidenceExport(flags);
    });

  evidence
    .command("verify")
    .description(
      "verify a bundle offline (exit 1 naming the first bad record); without --bundle: stdin if piped, else a live export",
    )
    .option("--bundle <file>", 'bundle file, or "-" for stdin')
    .option(
      "--public-key <file>",
      "trusted public key (PEM, as `aegis evidence key` prints it); this or --key-id is required",
    )
    .option("--key-id <sha256:hex>", "trusted key id, as `aegis evidence key` prints it")
    .option("--previous <file>", "a full bundle from an earlier export: fail if any of its records changed")
    .option(
      "--checkpoint <file>",
      "a checkpoint kept outside the ledger: jq .checkpoint of an earlier bundle, a witness's checkpoint note, or the published ConfigMap's .data.checkpoint; fail unless the log extends it",
    )
    .addOption(databaseUrl())
    .addOption(dataDir())
    .action(async (flags: EvidenceVerifyOptions) => {
      process.exitCode = await evidenceVerify(flags);
    });

  evidence
    .command("collect")
    .description(
      "write a chain-of-custody package about one subject: its records with proofs, the signed checkpoints, the object and its Events, who collected it; recorded in the ledger",
    )
    .requiredOption(
      "--subject <subject>",
      "KIND/NAMESPACE/NAME (KIND/NAME when cluster-scoped), e.g. Deployment/prod/web",
    )
    .option("--since <seq|time>", "only records from this seq number or RFC 3339 time on")
    .option("--out <file>", "package file (default: stdout)")
    .option("--collector-key <file>", "your own Ed25519 private key (PKCS#8 PEM) to sign the package with")
    .option(
      "--kubeconfig <file>",
      "cluster to read the object and Events from, with your credentials (default KUBECONFIG)",
    )
    .option("--no-cluster", "do not read the cluster: the package holds the evidence alone")
    .addOption(databaseUrl())
    .addOption(dataDir())
    .action(async (flags: EvidenceCollectOptions) => {
      const { evidenceCollect } = await import("./evidence-collect.js");
      process.exitCode = await evidenceCollect(flags);
    });

  evidence
    .command("key")
    .alias("public-key")
    .description("print the public key that signs checkpoints (PEM) and its key id; never creates a key")
    .addOption(dataDir())
    .addOption(signingKey())
    .action(async (flags: { dataDir: string; signingKey?: string }) => {
      await evidenceKey(flags);
    });
}
