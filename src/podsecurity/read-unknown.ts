/**
 * Defensive readers for JSON of arbitrary shape. Each returns `undefined` (or an empty value) for
 * anything that is missing or has the wrong type, mirroring how a field that fails to decode is
 * simply unset for the checks.
 */

export type UnknownRecord = Readonly<Record<string, unknown>>;

export function asRecord(value: unknown): UnknownRecord | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return value as UnknownRecord;
}

export function asRecordOrEmpty(value: unknown): UnknownRecord {
  return asRecord(value) ?? {};
}

export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? (value as readonly unknown[]) : [];
}

export function asBoolean(value: unknown): boolean | undefined {
  return typeof value === "boolean" ? value : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function asInteger(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) ? value : undefined;
}

export function asStringList(value: unknown): readonly string[] {
  return asArray(value).filter((item): item is string => typeof item === "string");
}

export function asStringMap(value: unknown): ReadonlyMap<string, string> {
  const entries = Object.entries(asRecordOrEmpty(value)).filter(
    (entry): entry is [string, string] => typeof entry[1] === "string",
  );
  return new Map(entries);
}
