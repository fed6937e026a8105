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
  // Plain JSON data in any key order (an object from JSON.parse, as the API server sends it): a
  // copy in canonical key order is what JSON.stringify writes canonically, natively, and twice as
  // fast as the package's walk. The package is the reference for everything else.
  const copy = canonicalCopy(value);
  if (copy !== undefined) return JSON.stringify(copy);
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
 * A copy of plain JSON data whose JSON.stringify is its RFC 8785 form (keys in UTF-16 order), also
 * after members are deleted from it; undefined for anything else (see sortedPlainCopy), which
 * the caller converts or serialises the slow way.
 */
export function canonicalCopy(value: unknown): JsonValue | undefined {
  const copy = sortedPlainCopy(value, 0);
  return copy === NOT_PLAIN ? undefined : (copy as JsonValue);
}

const NOT_PLAIN = Symbol("not plain JSON in a key order V8 keeps");
const INTEGER_LIKE_KEY = /^(?:0|[1-9]\d*)$/;
/** Starts with a digit (one comparison for the common key) and is an array index's form. */
const isIntegerLike = (key: string): boolean => {
  const first = key.charCodeAt(0);
  return first >= 48 && first <= 57 && INTEGER_LIKE_KEY.test(key);
};

/**
 * A copy of plain JSON data (null, booleans, finite numbers, well-formed strings, plain arrays
 * without holes, plain objects with well-formed keys; undefined members dropped, as
 * JSON.stringify and the package drop them) with every object's keys inserted
 * in UTF-16 order, or NOT_PLAIN, also when a key is integer-like (V8 lists those first whatever
 * the insertion order, so JSON.stringify of the copy would not be canonical) or `__proto__`.
 */
function sortedPlainCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
      return value.isWellFormed() ? value : NOT_PLAIN;
    case "number":
      return Number.isFinite(value) ? value : NOT_PLAIN;
    case "boolean":
      return value;
    case "object": {
      if (value === null) return null;
      if (depth >= MAX_FAST_DEPTH) return NOT_PLAIN;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return NOT_PLAIN;
        const items = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) return NOT_PLAIN;
          const item = sortedPlainCopy(value[i], depth + 1);
          if (item === NOT_PLAIN) return NOT_PLAIN;
          items[i] = item;
        }
        return items;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return NOT_PLAIN;
      const record = value as Record<string, unknown>;
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(record).sort()) {
        const member = record[key];
        if (member === undefined) continue;
        // An assignment to "__proto__" would set the copy's prototype, not a member.
        if (!key.isWellFormed() || isIntegerLike(key) || key === "__proto__") return NOT_PLAIN;
        const item = sortedPlainCopy(member, depth + 1);
        if (item === NOT_PLAIN) return NOT_PLAIN;
        copy[key] = item;
      }
      return copy;
    }
    default:
      return NOT_PLAIN;
  }
}
