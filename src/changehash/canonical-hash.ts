import { hash } from "node:crypto";
import { canonicalJson, type JsonValue } from "../json/canonical-json.js";

/**
 * Copies `value` into plain JSON the way the API server would have stored it, so hashing is total
 * on anything a client could have sent: lone UTF-16 surrogates become U+FFFD (Go's encoder does
 * the same), non-finite numbers become null, and as in JSON.stringify `toJSON()` is called (a
 * Date becomes its ISO string), Number/String/Boolean objects are unwrapped, and leaves with no
 * JSON form (undefined, functions, symbols, BigInt) become null inside arrays and are dropped from
 * objects. Returns undefined for such a leaf at the top. A cycle throws a TypeError. On JSON
 * values (what JSON.parse returns) it is a deep copy, `__proto__` keys included.
 */
export function toJsonValue(value: unknown): JsonValue | undefined {
  // JSON.stringify makes the same conversions natively; only a lone surrogate (which it escapes
  // as \udXXX, and JSON.parse would bring back) needs the walk below, as do its throws (a cycle,
  // a BigInt). A false alarm (an escaped backslash before "ud8") only costs the slow path.
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return toJson(value, new Set());
  }
  if (text === undefined) return undefined;
  if (LONE_SURROGATE_ESCAPE.test(text)) return toJson(value, new Set());
  return JSON.parse(text) as JsonValue;
}

const LONE_SURROGATE_ESCAPE = /\\ud[89a-f]/i;

function toJson(input: unknown, ancestors: Set<object>): JsonValue | undefined {
  const value = unboxed(input);
  if (value === null) return null;
  switch (typeof value) {
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "string":
      return value.toWellFormed();
    case "object":
      return toJsonContainer(value, ancestors);
    default:
      return undefined;
  }
}

function unboxed(value: unknown): unknown {
  const plain =
    typeof value === "object" && value !== null && typeof (value as { toJSON?: unknown }).toJSON === "function"
      ? (value as { toJSON: () => unknown }).toJSON()
      : value;
  return plain instanceof Number || plain instanceof String || plain instanceof Boolean ? plain.valueOf() : plain;
}

function toJsonContainer(value: object, ancestors: Set<object>): JsonValue {
  if (ancestors.has(value)) throw new TypeError("value has no JSON form: it contains a cycle");
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return Array.from(value as readonly unknown[], (item) => toJson(item, ancestors) ?? null);
    const entries: [string, JsonValue][] = [];
    for (const [key, item] of Object.entries(value)) {
      const json = toJson(item, ancestors);
      if (json !== undefined) entries.push([key.toWellFormed(), json]);
    }
    // fromEntries defines own properties: an assignment `copy["__proto__"] = …` would not.
    return Object.fromEntries(entries);
  } finally {
    ancestors.delete(value);
  }
}

/** Hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return hash("sha256", text, "hex");
}

/** RFC 8785 of `value` as the API server would store it ({@link toJsonValue}); undefined is null. */
function storedCanonicalJson(value: unknown): string {
  return canonicalJson(toJsonValue(value) ?? null);
}

/** `sha256:` + hex SHA-256 of the RFC 8785 (JCS) canonical JSON of {@link toJsonValue}(`value`); undefined hashes as null. */
export function canonicalSha256(value: unknown): string {
  return `sha256:${sha256Hex(storedCanonicalJson(value))}`;
}

/** Whether `a` and `b` would be stored as the same JSON ({@link toJsonValue}; undefined counts as null). Never throws but on a cycle. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (isPlainJson(a) && isPlainJson(b)) return plainJsonEqual(a, b);
  return storedCanonicalJson(a) === storedCanonicalJson(b);
}

/**
 * JSON as JSON.parse returns it, which is stored as it is: finite numbers, plain objects (without
 * a `toJSON` member) with well-formed keys, arrays. Only strings may still differ from their
 * stored form (a lone surrogate is U+FFFD there), which {@link plainJsonEqual} allows for.
 */
function isPlainJson(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (Array.isArray(value)) return value.every(isPlainJson);
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (key === "toJSON" || !key.isWellFormed() || !isPlainJson(record[key])) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Structural equality of two {@link isPlainJson} values, without serialising them. */
function plainJsonEqual(a: unknown, b: unknown): boolean {
  if (typeof a === "string") return typeof b === "string" && (a === b || a.toWellFormed() === b.toWellFormed());
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return a === b;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!plainJsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  for (const key of keys) if (!Object.hasOwn(right, key) || !plainJsonEqual(left[key], right[key])) return false;
  return true;
}
