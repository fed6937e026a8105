// Every temporary folder an e2e test makes lives under one folder per run, which the global
// setup creates and its teardown removes (AEGIS_E2E_KEEP_TMP=1 keeps it for a post-mortem).
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export const E2E_TMPDIR_ENV = "AEGIS_E2E_TMPDIR";

/** A fresh folder named `<prefix>XXXXXX` under this run's temporary root. */
export function e2eTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(process.env[E2E_TMPDIR_ENV] || tmpdir(), prefix));
}
