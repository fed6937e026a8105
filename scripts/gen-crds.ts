// Regenerates crds/ from the zod schemas (`npm run crds`). test/unit/api/crds.test.ts fails when
// the committed files differ from what this writes.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { renderCrdFiles } from "../src/api/crds.js";

const outDir = join(import.meta.dirname, "..", "crds");
mkdirSync(outDir, { recursive: true });
for (const [file, text] of renderCrdFiles((value) => stringify(value, { lineWidth: 0 }))) {
  writeFileSync(join(outDir, file), text);
  console.log(`wrote crds/${file}`);
}
