// Command kubectl-meshdoctor is meshdoctor as a kubectl plugin: installed on
// the PATH under this name (krew's naming guide: kubectl-<plugin>), it runs as
// `kubectl meshdoctor trace FROM TO` and reads the current kubectl context's
// cluster by default, as a kubectl command does. -f/-k manifests are layered
// on top of the cluster; --kube=false reads the manifests alone.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/meshdoctor/meshdoctor/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cli.ApplyMemoryLimit()
	code := cli.Main(ctx, pluginArgs(os.Args[1:]), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// pluginArgs turns the live cluster mode on; a later --kube=false given by
// the user still wins, as with any repeated flag.
func pluginArgs(args []string) []string {
	return append([]string{"--kube"}, args...)
}
