import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads the CA bundle (one or more PEM certificates) that the webhook's callers' client
 * certificates must chain to (--webhook-client-ca). Throws, naming the file, when it holds no
 * certificate or one that is not a CA: a typo must stop AEGIS, not leave it open or closed.
 */
export async function readClientCa(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`reading the webhook client CA ${file}: ${errorText(error)}`, { cause: error });
  }
  return validateClientCa(text, file);
}

/**
 * The certificates of `text`, one PEM block a line apart (a bundle concatenated without newlines
 * would otherwise lose all but its first CA), when each parses and is a CA; throws naming `source`.
 */
export function validateClientCa(text: string, source: string): string {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new Error(`the webhook client CA ${source} holds no PEM certificate`);
  for (const [index, block] of blocks.entries()) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (error) {
      throw new Error(`the webhook client CA ${source}: certificate ${index + 1} does not parse: ${errorText(error)}`, {
        cause: error,
      });
    }
    if (!certificate.ca)
      throw new Error(
        `the webhook client CA ${source}: certificate ${index + 1} (${certificate.subject}) is not a CA certificate`,
      );
  }
  return `${blocks.join("\n")}\n`;
}

/**
 * Polls the file (a mounted Secret or ConfigMap is updated through a symlink swap, which inotify
 * misses) and hands a changed, valid CA bundle to `apply`; an invalid one goes to `onError` and
 * the current CA stays. Returns the function that stops watching.
 */
export function watchClientCa(
  file: string,
  /** What readClientCa returned at start-up. */
  current: string,
  apply: (clientCa: string) => void,
  onError: (error: unknown) => void,
  intervalMs = 30_000,
): () => void {
  let applied = current;
  let lastRejected = "";
  const check = async (): Promise<void> => {
    const text = await readFile(file, "utf8");
    if (text === lastRejected) return;
    let next: string;
    try {
      next = validateClientCa(text, file);
    } catch (error) {
      lastRejected = text;
      throw error;
    }
    lastRejected = "";
    if (next === applied) return;
    apply(next);
    applied = next;
  };
  const timer = setInterval(() => void check().catch(onError), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
