#!/usr/bin/env node
// The `kubectl-aegis` command (package.json `bin`; kubectl runs it as `kubectl aegis`). Checks the
// Node.js version before loading the plugin, whose imports fail with a stack trace on older Node.js.
import { checkNode } from "../cli/require-node.js";

if (checkNode("kubectl aegis")) await import("../cli/kubectl-aegis.js");
