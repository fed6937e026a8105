//go:build tools

// Argo CD's binary comes straight from its upstream main package; this file keeps it in go.mod
// so that `go build github.com/argoproj/argo-cd/v2/cmd` resolves from the module cache.
package argocd

import _ "github.com/argoproj/argo-cd/v2/cmd"
