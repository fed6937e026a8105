#!/usr/bin/env bash
# `npm test`: every suite, bringing up what it needs itself. Lint and typecheck first (cheap),
# then PostgreSQL and Redis (services:up) and the Debian packages the suites drive (test-deps.sh,
# the local node's among them), then unit, integration and e2e tests (the e2e global setup starts
# the local cluster: control plane and node). Ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
# On an older Node.js, say what to do instead of failing in the first tool with a stack trace.
node scripts/require-node.mjs "npm test"

echo "== lint"
npx eslint .
echo "== import boundaries"
npx depcruise src --config .dependency-cruiser.cjs --output-type err
echo "== format"
npx prettier --check . >/dev/null || { npx prettier --list-different . ; echo "format: the files above differ from prettier: run npm run format and commit"; exit 1; }
echo "== typecheck"
npx tsc -p tsconfig.json --noEmit
echo "== CRDs up to date"
npx tsx scripts/gen-crds.ts >/dev/null
git diff --exit-code --stat -- crds/ || { echo "crds/ is stale: run npm run crds and commit"; exit 1; }

echo "== services"
bash scripts/test-deps.sh
while IFS= read -r line; do
  case "$line" in DATABASE_URL=*|REDIS_URL=*) export "${line?}"; echo "$line" ;; esac
done < <(bash scripts/services.sh up)

echo "== tests"
mkdir -p .test-results
rm -f .test-results/vitest*.json
status=0
# One test run at a time on a machine: the e2e suites share one control plane and one
# ValidatingWebhookConfiguration. The unit tests need no server and go first on both cores;
# integration and e2e files then run one at a time (vitest.config.ts).
flock /tmp/aegis-e2e.lock npx vitest run --project unit --maxWorkers=2 --passWithNoTests \
  --reporter=default --reporter=json --outputFile.json=.test-results/vitest-unit.json "$@" || status=$?
flock /tmp/aegis-e2e.lock npx vitest run --project integration --project e2e --passWithNoTests \
  --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json "$@" || status=$?
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const file of [".test-results/vitest-unit.json", ".test-results/vitest.json"]) {
    if (!fs.existsSync(file)) { console.log(`${file}: missing (vitest did not finish)`); failed++; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
  process.exit(failed ? 1 : 0);
' || status=1
exit "$status"
