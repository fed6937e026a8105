import { readFileSync } from "node:fs";

const PEM_BLOCK = {
  certificate: /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/,
  "private key": /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[\s\S]+?-----END ([A-Z]+ )?PRIVATE KEY-----/,
} as const;

export type PemKind = keyof typeof PEM_BLOCK;

/**
 * A PEM file a client presents or trusts on every new connection (a CA bundle, a client
 * certificate or key of PostgreSQL or Redis). Read once now, so a missing or wrong file stops
 * AEGIS at start-up with `what` named; then read again on each `read()` (each new connection),
 * so a rotated file (a mounted Secret, swapped by a symlink) is used without a restart. A read
 * that fails or finds no PEM `kind` later keeps the last good content: a half-written file must
 * not cut the connection off.
 */
export function pemFile(file: string, kind: PemKind, what: string): { read(): string } {
  let last = readChecked(file, kind, what);
  return {
    read: () => {
      try {
        last = readChecked(file, kind, what);
      } catch {
        // keep the last good content
      }
      return last;
    },
  };
}

function readChecked(file: string, kind: PemKind, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`${what}: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  if (!PEM_BLOCK[kind].test(text)) throw new Error(`${what}: ${file} holds no PEM ${kind}`);
  return text;
}
