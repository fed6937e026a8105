// Where the checkpoint signing key comes from: PEM handed in (e.g. read from a Kubernetes
// Secret), a PEM file, or a key generated on first start and kept in the data dir.
import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SigningKey } from "./chain/signing.js";
import { generateSigningKey, privateKeyToPem, signingKeyFromPem } from "./chain/signing.js";

export const DEFAULT_KEY_FILE_NAME = "evidence-signing-key.pem";

export interface SigningKeySource {
  readonly dataDir: string;
  /** PKCS#8 PEM text; wins over files. */
  readonly privateKeyPem?: string | undefined;
  /** A PEM file that must exist; otherwise `<dataDir>/evidence-signing-key.pem`, created when absent. */
  readonly keyFile?: string | undefined;
}

export interface LoadedSigningKey {
  readonly key: SigningKey;
  readonly origin: "provided" | "file" | "generated";
  readonly path?: string;
}

/** The signing key, never creating one: for `aegis evidence key` on a machine that holds it. */
export async function readSigningKey(source: SigningKeySource): Promise<LoadedSigningKey> {
  if (source.privateKeyPem !== undefined || source.keyFile !== undefined) return loadSigningKey(source);
  const path = join(source.dataDir, DEFAULT_KEY_FILE_NAME);
  const existing = await readKeyFileIfPresent(path);
  if (existing === undefined) {
    throw new Error(
      `no evidence signing key at ${path}: run this where aegis serve keeps its key, or pass --signing-key`,
    );
  }
  return { key: existing, origin: "file", path };
}

export async function loadSigningKey(source: SigningKeySource): Promise<LoadedSigningKey> {
  if (source.privateKeyPem !== undefined) return { key: signingKeyFromPem(source.privateKeyPem), origin: "provided" };
  if (source.keyFile !== undefined)
    return { key: await readKeyFile(source.keyFile), origin: "file", path: source.keyFile };
  const path = join(source.dataDir, DEFAULT_KEY_FILE_NAME);
  const existing = await readKeyFileIfPresent(path);
  if (existing !== undefined) return { key: existing, origin: "file", path };
  return createKeyFile(source.dataDir, path);
}

async function readKeyFile(path: string): Promise<SigningKey> {
  const key = await readKeyFileIfPresent(path);
  if (key === undefined) throw new Error(`evidence signing key file ${path} does not exist`);
  return key;
}

async function readKeyFileIfPresent(path: string): Promise<SigningKey | undefined> {
  let pem: string;
  try {
    pem = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read evidence signing key ${path}: ${String(err)}`, { cause: err });
  }
  try {
    return signingKeyFromPem(pem);
  } catch (err) {
    throw new Error(`evidence signing key ${path}: ${String(err)}`, { cause: err });
  }
}

// Written to a temporary file, then linked into place: link() fails if another process created
// the key meanwhile, and then that key is used, so two starters never end up with two keys.
async function createKeyFile(dataDir: string, path: string): Promise<LoadedSigningKey> {
  await mkdir(dataDir, { recursive: true });
  const key = generateSigningKey();
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, privateKeyToPem(key), { mode: 0o600, flush: true });
  try {
    await link(temporary, path);
    return { key, origin: "generated", path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new Error(`cannot save the evidence signing key to ${path}: ${String(err)}`, { cause: err });
    }
    return { key: await readKeyFile(path), origin: "file", path };
  } finally {
    await rm(temporary, { force: true });
  }
}
