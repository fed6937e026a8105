/**
 * Readers for JSON of unknown shape (admission objects, informer caches, CEL-free checks). Each
 * returns an empty or undefined value for anything missing or of the wrong type, so no check
 * throws on odd input: a field that fails to decode is simply unset.
 */

export type JsonRecord = Readonly<Record<string, unknown>>;

export function asRecord(value: unknown): JsonRecord | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonRecord) : undefined;
}

/** `value` as a record, or `{}` when it is not one. */
export function recordOrEmpty(value: unknown): JsonRecord {
  return asRecord(value) ?? {};
}

export function recordAt(value: unknown, ...path: readonly string[]): JsonRecord | undefined {
  let current: unknown = value;
  for (const key of path) current = asRecord(current)?.[key];
  return asRecord(current);
}

export function arrayOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? (value as readonly unknown[]) : [];
}

export function stringOf(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function booleanOf(value: unknown): boolean | undefined {
  return typeof value === "boolean" ? value : undefined;
}

/** A finite number. */
export function numberOf(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** A number with no fractional part (so finite too). */
export function integerOf(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) ? value : undefined;
}

/** The strings of a list, other items skipped. */
export function stringListOf(value: unknown): readonly string[] {
  return arrayOf(value).filter((item): item is string => typeof item === "string");
}

/** The string-valued entries of a map such as metadata.labels. */
export function stringMapOf(value: unknown): Readonly<Record<string, string>> {
  const entries = Object.entries(asRecord(value) ?? {}).filter(
    (entry): entry is [string, string] => typeof entry[1] === "string",
  );
  return Object.fromEntries(entries);
}

/** metadata.labels of an object. */
export function labelsOf(object: unknown): Readonly<Record<string, string>> {
  return stringMapOf(recordAt(object, "metadata")?.["labels"]);
}
