/** Message helpers that mirror upstream's wording (`pluralize`, `joinQuote`). */

export function pluralize(count: number, singular: string, plural: string): string {
  return count === 1 ? singular : plural;
}

/** `"a", "b"`: Go's `%q` for plain strings is JSON string quoting. */
export function joinQuoted(values: readonly string[]): string {
  return values.map((value) => JSON.stringify(value)).join(", ");
}

/** `container "a"` or `containers "a", "b"`. */
export function describeContainers(names: readonly string[]): string {
  return `${pluralize(names.length, "container", "containers")} ${joinQuoted(names)}`;
}

/** `pod`, `container "a"` or `pod and containers "a", "b"`: who set a forbidden value. */
export function describeSetters(podSetsIt: boolean, containerNames: readonly string[]): string {
  const setters = podSetsIt ? ["pod"] : [];
  if (containerNames.length > 0) setters.push(describeContainers(containerNames));
  return setters.join(" and ");
}

/** The distinct values, sorted like upstream's string sets. */
export function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
