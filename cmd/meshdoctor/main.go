// Command meshdoctor predicts what Istio does to a request between two
// workloads, from manifests or a live cluster, and finds every misconfiguration.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/meshdoctor/meshdoctor/internal/cli"
)

func main() {
	cli.ApplyMemoryLimit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
