//go:build tools

// helm's command is a main package, which cannot be imported for its code; this blank import
// keeps it (and every module it needs) in go.mod/go.sum, so that
// `go build helm.sh/helm/v3/cmd/helm` resolves from this module offline, as e2e/controlplane
// does for kube-apiserver.
package helm

import _ "helm.sh/helm/v3/cmd/helm"
