import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/** A JSON value as RFC 8785 canonicalisation sees it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Copies `value` into plain JSON the way the API server would have stored it, so hashing is total:
 * lone UTF-16 surrogates become U+FFFD (Go's encoder does the same), non-finite numbers and
 * non-JSON leaves become null inside arrays and are dropped from objects, as in JSON.stringify.
 */
export function toJsonValue(value: unknown): JsonValue | undefined {
  if (value === null) return null;
  switch (typeof value) {
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "string":
      return value.toWellFormed();
    case "object":
      return Array.isArray(value) ? toJsonArray(value) : toJsonObject(value as Record<string, unknown>);
    default:
      return undefined;
  }
}

function toJsonArray(items: readonly unknown[]): JsonValue[] {
  return items.map((item) => toJsonValue(item) ?? null);
}

function toJsonObject(record: Record<string, unknown>): { [key: string]: JsonValue } {
  const copy: { [key: string]: JsonValue } = {};
  for (const [key, item] of Object.entries(record)) {
    const json = toJsonValue(item);
    if (json !== undefined) copy[key.toWellFormed()] = json;
  }
  return copy;
}

/** Hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** RFC 8785 (JCS) canonical JSON of `value` after {@link toJsonValue}; undefined is null. */
export function canonicalJson(value: unknown): string {
  return canonicalize(toJsonValue(value) ?? null) ?? "null";
}

/** `sha256:` + hex SHA-256 of the RFC 8785 (JCS) canonical JSON of `value`; undefined hashes as null. */
export function canonicalSha256(value: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(value))}`;
}
