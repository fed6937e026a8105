#!/usr/bin/env node
// The `aegis` command (package.json `bin`). Checks the Node.js version first and only then loads
// the CLI: a static import would load @kubernetes/client-node before any check could run, and on
// an older Node.js that fails with a stack trace.
import { checkNode } from "../cli/require-node.js";

if (checkNode("aegis")) await import("../cli/aegis.js");
