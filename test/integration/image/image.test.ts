// What ships besides the code: the image built from the project's Dockerfile (scripts/image.sh,
// buildah), its CycloneDX SBOM (syft) naming the npm and Debian contents, and the chart as
// `helm package` makes it. The image build and the SBOM are cached, so a warm run takes seconds.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCommand } from "../../helpers/run-command.js";
import { chartDir, helm, HELM_BUILD_TIMEOUT_MS, repoRoot } from "../chart/helm.js";

/** A cold run makes the Debian rootfs, builds the image and syft: many minutes on two cores. */
const COLD_BUILD_MS = 40 * 60_000;

const run = (command: string, args: string[], env: Record<string, string> = {}): ReturnType<typeof runCommand> =>
  runCommand(command, args, { cwd: repoRoot, env });

interface CycloneDx {
  bomFormat: string;
  specVersion: string;
  metadata?: { component?: { name?: string } };
  components?: { name: string; version?: string; purl?: string; type?: string }[];
}

interface PackageLock {
  packages: Record<string, { version?: string; dev?: boolean }>;
}

describe("the image, its SBOM and the chart package", () => {
  let sbom: CycloneDx;
  let image: string;
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), "aegis-package-"));
    // Not loaded into the node here: the in-cluster e2e suite does that.
    const built = await run("bash", ["scripts/image.sh", "sbom"], { AEGIS_IMAGE_LOAD: "0" });
    if (built.code !== 0) throw new Error(`scripts/image.sh sbom failed:\n${built.stderr.slice(-3000)}`);
    const lines = built.stdout.trim().split("\n");
    image = lines[0] ?? "";
    sbom = JSON.parse(await readFile(lines[lines.length - 1] ?? "", "utf8")) as CycloneDx;
  }, COLD_BUILD_MS);
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it("builds the image named after package.json's version", async () => {
    const { version } = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version: string };
    expect(image).toBe(`localhost/aegis:${version}`);
  });

  it("has a CycloneDX SBOM naming every production npm dependency at its locked version", async () => {
    expect(sbom.bomFormat).toBe("CycloneDX");
    expect(Number(sbom.specVersion)).toBeGreaterThanOrEqual(1.4);
    const lock = JSON.parse(await readFile(path.join(repoRoot, "package-lock.json"), "utf8")) as PackageLock;
    const npm = new Set(
      (sbom.components ?? []).filter((c) => c.purl?.startsWith("pkg:npm/")).map((c) => `${c.name}@${c.version}`),
    );
    const production = Object.entries(lock.packages)
      .filter(([where, entry]) => where.startsWith("node_modules/") && !entry.dev && entry.version)
      .map(
        ([where, entry]) =>
          `${where.slice(where.lastIndexOf("node_modules/") + "node_modules/".length)}@${entry.version}`,
      );
    expect(production.length).toBeGreaterThan(20);
    const missing = production.filter((entry) => !npm.has(entry));
    expect(missing, "production dependencies the SBOM does not list").toEqual([]);
    // Dev tools never reach the image.
    expect([...npm].some((entry) => entry.startsWith("vitest@") || entry.startsWith("typescript@"))).toBe(false);
  });

  it("names the Debian packages of the base with their versions", () => {
    const debian = (sbom.components ?? []).filter((c) => c.purl?.startsWith("pkg:deb/debian/"));
    const names = new Set(debian.map((c) => c.name));
    for (const name of ["libc6", "base-files", "libstdc++6", "passwd"]) expect(names, name).toContain(name);
    expect(debian.every((c) => typeof c.version === "string" && c.version.length > 0)).toBe(true);
  });

  it(
    "packages the chart with helm package: the archive lints and renders like the directory",
    async () => {
      const packaged = await helm(["package", chartDir, "--destination", workDir]);
      expect(packaged.code, packaged.stderr).toBe(0);
      const chart = parse(await readFile(path.join(chartDir, "Chart.yaml"), "utf8")) as {
        name: string;
        version: string;
      };
      const archive = path.join(workDir, `${chart.name}-${chart.version}.tgz`);
      expect(packaged.stdout).toContain(archive);
      const listing = await run("tar", ["-tzf", archive]);
      for (const file of ["Chart.yaml", "values.yaml", "values.schema.json", "templates/statefulset.yaml", "crds/"]) {
        expect(listing.stdout, file).toContain(`aegis/${file}`);
      }
      const set = ["--set", "replicaCount=1"];
      const fromArchive = await helm(["template", "aegis", archive, ...set]);
      const fromDirectory = await helm(["template", "aegis", chartDir, ...set]);
      expect(fromArchive.code, fromArchive.stderr).toBe(0);
      // The chart generates the evidence signing key on install: the one value that differs per render.
      const withoutKey = (text: string): string =>
        text.replace(/signing-key\.pem: \S+/g, "signing-key.pem: <generated>");
      expect(withoutKey(fromArchive.stdout)).toBe(withoutKey(fromDirectory.stdout));
      expect(fromArchive.stdout).toContain("kind: StatefulSet");
    },
    HELM_BUILD_TIMEOUT_MS,
  );
});
