/**
 * Readers for JSON of unknown shape (admission objects, CEL-free checks). Each returns an empty
 * or undefined value for anything missing or of the wrong type, so no check throws on odd input.
 */

export type JsonRecord = Readonly<Record<string, unknown>>;

export function asRecord(value: unknown): JsonRecord | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonRecord) : undefined;
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

export function numberOf(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
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
