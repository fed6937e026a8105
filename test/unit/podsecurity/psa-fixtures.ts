/** Locates and lists upstream's Pod Security Admission fixtures (`<level>/<version>/<pass|fail>/<case>.yaml`). */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { PodLike } from "../../../src/podsecurity/index.js";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export const FIXTURES_ROOT =
  process.env["AEGIS_PSA_FIXTURES"] ?? resolve(REPO_ROOT, "test/fixtures/pod-security-admission");

export type FixtureLevel = "baseline" | "restricted";
export type Expectation = "pass" | "fail";

export interface Fixture {
  readonly level: FixtureLevel;
  readonly version: string;
  readonly expectation: Expectation;
  /** The case name without digits, e.g. `hostnamespaces` for `hostnamespaces1.yaml`. */
  readonly stem: string;
  /** `restricted/v1.37/fail/hostnamespaces1.yaml` */
  readonly id: string;
  readonly path: string;
}

const LEVELS: readonly FixtureLevel[] = ["baseline", "restricted"];
const EXPECTATIONS: readonly Expectation[] = ["pass", "fail"];

function subdirectories(path: string): string[] {
  if (!existsSync(path)) return [];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
}

export function minorOf(version: string): number {
  return Number(version.replace(/^v1\./, ""));
}

/** The `v1.N` directories of a level, oldest first. */
export function versionDirectories(level: FixtureLevel): string[] {
  return subdirectories(join(FIXTURES_ROOT, level))
    .filter((name) => /^v1\.\d+$/.test(name))
    .sort((a, b) => minorOf(a) - minorOf(b));
}

function fixturesIn(level: FixtureLevel, version: string, expectation: Expectation): Fixture[] {
  const directory = join(FIXTURES_ROOT, level, version, expectation);
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((file) => file.endsWith(".yaml"))
    .sort()
    .map((file) => ({
      level,
      version,
      expectation,
      stem: file.replace(/\d*\.yaml$/, ""),
      id: `${level}/${version}/${expectation}/${file}`,
      path: join(directory, file),
    }));
}

export function listFixtures(): Fixture[] {
  return LEVELS.flatMap((level) =>
    versionDirectories(level).flatMap((version) =>
      EXPECTATIONS.flatMap((expectation) => fixturesIn(level, version, expectation)),
    ),
  );
}

export function loadPod(fixture: Fixture): PodLike {
  const document: unknown = parse(readFileSync(fixture.path, "utf8"));
  return document as PodLike;
}
