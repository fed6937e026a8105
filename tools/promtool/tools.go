//go:build tools

// promtool's command is a main package, which cannot be imported for its code; this blank import
// keeps it (and every module it needs) in go.mod/go.sum, so that
// `go build github.com/prometheus/prometheus/cmd/promtool` resolves from this module, as
// tools/helm does for helm.
package promtool

import _ "github.com/prometheus/prometheus/cmd/promtool"
