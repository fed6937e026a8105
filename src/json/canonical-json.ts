// The one RFC 8785 (JCS) serialiser: evidence records, Merkle leaves, checkpoints, bundles and
// the changeHash are all hashed over its output. JCS rather than JSON.stringify because key order
// and number formatting must not depend on who serialised the value (STYLE anti-pattern 12).
import canonicalize from "canonicalize";

/** A JSON value as RFC 8785 canonicalisation sees it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * RFC 8785 canonical JSON of `value`: byte-identical to the `canonicalize` package on JSON values
 * (keys sorted by UTF-16 code units, ECMAScript number formatting, no whitespace).
 *
 * Other input gets JSON.stringify's conversions, never more: `toJSON()` is called (a Date becomes
 * its ISO string), Number/String/Boolean objects are unwrapped, a class instance or Map is its own
 * enumerable string keys (a Map has none: `{}`), members that are undefined, functions or symbols
 * are dropped from objects and become null in arrays, as do array holes; -0 is written 0.
 *
 * Throws a TypeError for what JSON cannot carry, rather than hashing something else: NaN,
 * ±Infinity, BigInt, a lone UTF-16 surrogate in a string or key, a cycle, and a top-level value
 * with no JSON form (undefined, a function, a symbol). Callers that want the API server's
 * leniency convert first (changehash's `toJsonValue`).
 */
export function canonicalJson(value: unknown): string {
  // Data already in canonical order (parsed back from canonical text, as verifiers read it) is
  // what JSON.stringify writes: same number and string forms, and key order as stored.
  if (isCanonicallyOrdered(value, 0)) return JSON.stringify(value);
  // Plain JSON data in any key order (an object from JSON.parse, as the API server sends it):
  // one recursive pass. The package is the reference for everything else.
  const plain = plainCanonical(value, 0);
  if (plain !== undefined) return plain;
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (err) {
    throw new TypeError(`value has no RFC 8785 form: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (text === undefined) throw new TypeError(`value of type ${typeof value} has no JSON representation`);
  return text;
}

const MAX_FAST_DEPTH = 512;

/**
 * True when JSON.stringify(value) is exactly its RFC 8785 form: only null, booleans, finite
 * numbers, well-formed strings, plain arrays without holes and plain objects whose own keys are
 * well-formed and already in UTF-16 order (V8 puts integer-like keys first, which this order
 * check catches). Anything else (toJSON, boxed values, class instances, undefined members,
 * cycles, great depth) is left to the full serialiser.
 */
function isCanonicallyOrdered(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
      return value.isWellFormed();
    case "number":
      return Number.isFinite(value);
    case "boolean":
      return true;
    case "object": {
      if (value === null) return true;
      if (depth >= MAX_FAST_DEPTH) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isCanonicallyOrdered(value[i], depth + 1)) return false;
        }
        return true;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      const record = value as Record<string, unknown>;
      let previous: string | undefined;
      for (const key of Object.keys(record)) {
        if ((previous !== undefined && !(previous < key)) || !key.isWellFormed()) return false;
        if (!isCanonicallyOrdered(record[key], depth + 1)) return false;
        previous = key;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * RFC 8785 of plain JSON data (null, booleans, finite numbers, well-formed strings, plain arrays
 * without holes, plain objects with well-formed keys and no member but undefined outside JSON),
 * written in one pass; undefined for anything else, which the package then serialises or refuses.
 * Keys are sorted by `sort()`'s default order, UTF-16 code units, as RFC 8785 requires; strings
 * and numbers are written by JSON.stringify, whose forms RFC 8785 adopts.
 */
function plainCanonical(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case "string":
      return value.isWellFormed() ? JSON.stringify(value) : undefined;
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (depth >= MAX_FAST_DEPTH) return undefined;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return undefined;
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) return undefined;
          const item = plainCanonical(value[i], depth + 1);
          if (item === undefined) return undefined;
          out += i === 0 ? item : `,${item}`;
        }
        return `${out}]`;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return undefined;
      const record = value as Record<string, unknown>;
      let out = "{";
      let first = true;
      for (const key of Object.keys(record).sort()) {
        const member = record[key];
        // Dropped, as JSON.stringify and the package drop it.
        if (member === undefined) continue;
        if (!key.isWellFormed()) return undefined;
        const text = plainCanonical(member, depth + 1);
        if (text === undefined) return undefined;
        out += `${first ? "" : ","}${JSON.stringify(key)}:${text}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      return undefined;
  }
}
