// Import boundaries of src/ (README "Architecture"; STYLE: adapters are the edge, decisions are pure).
// `npm run lint:boundaries` checks them; test/unit/repo/boundaries.test.ts shows a crossing import fails.
const DECISION = "^src/(policy|podsecurity|risk|approval|changehash|selfhealing|threats|json|evidence/chain)/";
const EDGE = "^src/adapters/";
const ROOTS = "^src/(wiring/|main\\.ts|cli/|bin/)";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "api-is-the-vocabulary",
      comment: "src/api holds CRD schemas, contracts and shared types: it imports nothing else of AEGIS.",
      severity: "error",
      from: { path: "^src/api/" },
      to: { path: "^src/", pathNot: "^src/(api|json)/" },
    },
    {
      name: "ports-are-interfaces",
      comment: "src/ports declares what the core needs of the edge: it may name api types only.",
      severity: "error",
      from: { path: "^src/ports/" },
      to: { path: "^src/", pathNot: "^src/(api|ports)/" },
    },
    {
      name: "decisions-are-pure",
      comment:
        "Decision code (policy, pod security, risk, approval, change hash, hash chain…) reads only api, ports and other decision code.",
      severity: "error",
      from: { path: DECISION },
      to: { path: "^src/", pathNot: [DECISION, "^src/(api|ports)/"] },
    },
    {
      name: "decisions-do-no-io",
      comment: "Decision code imports no I/O library.",
      severity: "error",
      from: { path: DECISION },
      to: {
        path: "^(node:)?(fs|net|http|https|http2|child_process|dgram)(/|$)|node_modules/(pg|ioredis|express|@kubernetes/client-node|@slack|@octokit|@electric-sql)/",
      },
    },
    {
      name: "adapters-are-the-edge",
      comment:
        "Adapters implement ports with I/O; they import api, ports, the controller runtime and each other, never decision, HTTP or wiring code.",
      severity: "error",
      from: { path: EDGE },
      to: { path: "^src/", pathNot: ["^src/(api|ports|runtime|adapters|json)/", "^src/tls/"] },
    },
    {
      name: "core-does-not-reach-the-edge",
      comment:
        "Only the composition root (src/wiring, main.ts, the CLI) builds adapters; everything else receives ports.",
      severity: "error",
      from: { path: "^src/", pathNot: [EDGE, ROOTS] },
      to: { path: EDGE },
    },
    {
      name: "nothing-imports-the-root",
      comment: "The composition root is imported only by the entry points.",
      severity: "error",
      from: { path: "^src/", pathNot: ROOTS },
      to: { path: ROOTS },
    },
    {
      name: "no-circular",
      comment: "Folders depend one way.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
