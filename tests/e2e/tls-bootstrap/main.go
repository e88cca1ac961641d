// tls-bootstrap runs the kubelet's own TLS-bootstrap code (the code a kubelet runs at start
// with --bootstrap-kubeconfig) against a live API server, and nothing else of the kubelet:
//
//	tls-bootstrap <bootstrap-kubeconfig> <kubeconfig-to-write> <cert-dir> <node-name>
//
// It exits 0 once <kubeconfig-to-write> holds a client certificate the API server issued,
// and non-zero with the kubelet's own error otherwise (or when the 90-second wait runs out,
// e.g. while a CSR stays pending).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/kubelet/certificate/bootstrap"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: tls-bootstrap BOOTSTRAP_KUBECONFIG KUBECONFIG CERT_DIR NODE_NAME")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := bootstrap.LoadClientCert(ctx, os.Args[2], os.Args[1], os.Args[3], types.NodeName(os.Args[4]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "tls-bootstrap:", err)
		os.Exit(1)
	}
}
