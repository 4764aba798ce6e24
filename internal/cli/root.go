// Package cli is meshdoctor's command line: one file per command, each turning
// flags into options, calling the library and rendering the result. It is a thin
// adapter: no Istio semantics here, no os.Exit.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Exit statuses (SPEC.md): 0 clean, 1 findings or failing paths at or above
// --fail-on, 2 bad usage or unreadable input.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitBadInput = 2
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "dev"

// globals are the kubectl/istioctl-style flags every command shares.
type globals struct {
	files          []string
	kustomizations []string
	namespace      string
	allNamespaces  bool
	output         string
	kubeconfig     string
	kubeContext    string
	kube           bool
	requestTimeout time.Duration
}

// app carries the streams and the exit status a command sets.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	g      globals
	code   int
}

// exitError carries an exit status through cobra.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitBadInput, msg: fmt.Sprintf(format, args...)}
}

// Main runs meshdoctor with args and returns the exit status.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(stderr, "error:", ee.msg)
			}
			return ee.code
		}
		// cobra's own errors: unknown command or flag, wrong number of args.
		fmt.Fprintln(stderr, "error:", err)
		return ExitBadInput
	}
	return a.code
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "meshdoctor",
		Short: "Predict what Istio does to a request between two workloads, and why",
		Long: `meshdoctor reads Kubernetes and Istio manifests (files, directories, kustomizations)
and predicts what happens to a request from workload A to service B, hop by hop,
with the Envoy response a user would see and the object (file:line) that decides it.

Exit status: 0 clean, 1 findings or failing paths, 2 bad usage or unreadable input.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringArrayVarP(&a.g.files, "filename", "f", nil, "manifest file, directory (recursive) or - for stdin; repeatable")
	f.StringArrayVarP(&a.g.kustomizations, "kustomize", "k", nil, "kustomization directory, rendered in process; repeatable")
	f.StringVarP(&a.g.namespace, "namespace", "n", "", "namespace to show, and of objects that name none (default \"default\")")
	f.BoolVarP(&a.g.allNamespaces, "all-namespaces", "A", false, "show all namespaces")
	f.StringVarP(&a.g.output, "output", "o", "text", "output format: text|json|yaml (check: also sarif)")
	f.StringVar(&a.g.kubeconfig, "kubeconfig", "", "kubeconfig file for the live cluster mode (--kube)")
	f.StringVar(&a.g.kubeContext, "context", "", "kubeconfig context for the live cluster mode (--kube)")
	f.BoolVar(&a.g.kube, "kube", false, "read the live cluster (read-only; -f/-k objects replace cluster objects of the same kind/namespace/name)")
	f.DurationVar(&a.g.requestTimeout, "request-timeout", 0, "with --kube, the longest wait for each API request (e.g. 10s; 0 means 30s)")
	// The explicit list of commands, one file each.
	root.AddCommand(
		a.versionCommand(),
		a.inventoryCommand(),
		a.traceCommand(),
		a.describeCommand(),
		a.explainCommand(),
		a.checkCommand(), a.checksCommand(),
		a.matrixCommand(),
		a.whatifCommand(),
	)
	return root
}

func (a *app) checkOutput(allowed ...string) error {
	for _, o := range allowed {
		if a.g.output == o {
			return nil
		}
	}
	return usageErr("unknown output format %q (want one of %s)", a.g.output, strings.Join(allowed, ", "))
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print meshdoctor's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(a.stdout, "meshdoctor", Version)
			return nil
		},
	}
}
