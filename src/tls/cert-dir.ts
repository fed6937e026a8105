import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { TlsMaterial } from "../webhook/server.js";

/** The kubernetes.io/tls Secret layout cert-manager writes. */
export const CERT_FILE = "tls.crt";
export const KEY_FILE = "tls.key";

export async function readCertDir(directory: string): Promise<TlsMaterial> {
  try {
    const [cert, key] = await Promise.all([
      readFile(join(directory, CERT_FILE), "utf8"),
      readFile(join(directory, KEY_FILE), "utf8"),
    ]);
    return { cert, key };
  } catch (error) {
    throw new Error(
      `reading the webhook certificate from ${directory} (${CERT_FILE}, ${KEY_FILE}): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/**
 * Polls the folder (a mounted Secret is updated through a symlink swap, which inotify misses)
 * and hands a renewed certificate to `apply`. Returns the function that stops watching.
 */
export function watchCertDir(
  directory: string,
  apply: (tls: TlsMaterial) => void,
  onError: (error: unknown) => void,
  intervalMs = 30_000,
): () => void {
  let lastSeen = "";
  const fingerprint = async (): Promise<string> => {
    const [cert, key] = await Promise.all([stat(join(directory, CERT_FILE)), stat(join(directory, KEY_FILE))]);
    return `${cert.mtimeMs}:${cert.size}:${key.mtimeMs}:${key.size}`;
  };
  const check = async (): Promise<void> => {
    const current = await fingerprint();
    if (lastSeen && current !== lastSeen) apply(await readCertDir(directory));
    lastSeen = current;
  };
  void check().catch(onError);
  const timer = setInterval(() => void check().catch(onError), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
