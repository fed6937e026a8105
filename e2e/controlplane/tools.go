//go:build tools

// The control plane's and the node's binaries come straight from their upstream main packages;
// this file keeps them in go.mod so that `go build k8s.io/kubernetes/cmd/...` resolves offline.
package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
