import fc from "fast-check";
import type { JsonValue } from "../../../src/json/canonical-json.js";

// Keys that trip naive object building (`copy[key] = …` on "__proto__"), sort order (UTF-16 code
// units, not code points: U+FB33 sorts after U+1F600's high surrogate) and escaping.
const trickyKey = fc.constantFrom(
  "__proto__",
  "constructor",
  "toString",
  "",
  "a",
  "A",
  "é",
  "\u{1F600}",
  "\uFB33",
  '"\\\n',
);
const key = fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: "binary", maxLength: 4 }), trickyKey);
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(
    -0,
    0,
    1e21,
    1e-7,
    0.000001,
    Number.MAX_SAFE_INTEGER,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
  ),
);

/** Random JSON values; objects are built with fromEntries so that "__proto__" is an own key, as JSON.parse makes it. */
const handMade: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    number,
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.array(fc.tuple(key, tie("value")), { maxLength: 5 }).map((entries) => Object.fromEntries(entries)),
  ),
})).value;

/** Random JSON values: the generator above, or fast-check's own with any code point in strings. */
export const jsonValue: fc.Arbitrary<JsonValue> = fc.oneof(
  handMade,
  fc.jsonValue({ stringUnit: "binary", maxDepth: 4 }) as fc.Arbitrary<JsonValue>,
);
