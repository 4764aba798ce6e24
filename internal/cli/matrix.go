package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks"
	"github.com/meshdoctor/meshdoctor/internal/matrix"
	"github.com/meshdoctor/meshdoctor/internal/report/html"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

func (a *app) matrixCommand() *cobra.Command {
	var from, to, failOn string
	var maxPairs, fixes int
	var aggregate bool
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Every client against every service port: the verdict, its cause and the security of each path",
		Long: `matrix evaluates every path of the mesh: each workload (with or without a sidecar),
each gateway, and "external" for the routes that enter through a gateway, against every
Service port. Each cell is the verdict (ok, fail, denied), the cause of a failure and the
security of the connection (mtls, tls, plaintext).

-n NS keeps the paths whose client or Service is in NS. --from keeps some clients
(NAMESPACE/WORKLOAD, NAMESPACE, or external); --to keeps some Services
(NAMESPACE/SERVICE[:PORT], SERVICE.NAMESPACE[:PORT], an FQDN, or NAMESPACE).

A mesh with more than --max-pairs paths is aggregated by namespace: rows are client
namespaces, columns the namespaces of the Services, and each cell counts its paths.

-o html writes one self-contained page: the mesh drawn as a graph, edges coloured by
verdict; clicking an edge shows its trace and the verified fixes; the findings of check
beside it. Fixes are searched for the first --fixes failing paths (each rebuilds the mesh).

Exit status: 1 when a path fails or is denied (unless --fail-on none), 2 on bad input,
0 otherwise.`,
		Example: `  meshdoctor matrix -k examples/titanium/k8s-manifests/overlays/gcp
  meshdoctor matrix -f manifests/ --from external -o json
  meshdoctor matrix -f manifests/ -o html > mesh.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json", "yaml", "html"); err != nil {
				return err
			}
			if fixes < 0 {
				return usageErr("--fixes must not be negative")
			}
			if failOn != "error" && failOn != "none" {
				return usageErr("--fail-on %q: want error (exit 1 when a path fails or is denied) or none", failOn)
			}
			in, err := a.loadInput()
			if err != nil {
				return err
			}
			opts := matrix.Options{From: from, To: to, MaxPairs: maxPairs, Aggregate: aggregate}
			if !a.g.allNamespaces {
				opts.Namespace = a.g.namespace
			}
			if a.g.output == "html" {
				opts.Hops, opts.Fixes = true, fixes
			}
			m, err := matrix.Build(resolve.New(in.idx), opts)
			if err != nil {
				return usageErr("%v", err)
			}
			if failOn == "error" && m.Summary.Fail+m.Summary.Denied > 0 {
				a.setCode(ExitFindings)
			}
			switch a.g.output {
			case "text":
				return matrix.WriteText(a.stdout, m)
			case "html":
				all := checks.All()
				if err := check.Validate(all); err != nil {
					return fmt.Errorf("internal: %w", err)
				}
				res := check.Run(in.idx, all, check.Options{})
				findings := []check.Finding{}
				for _, f := range res.Findings {
					if f.Object.Namespace == "" || a.inNamespace(f.Object.Namespace) {
						findings = append(findings, f)
					}
				}
				return html.Write(a.stdout, html.Input{Matrix: m, Findings: findings, Title: "meshdoctor matrix", Version: Version})
			}
			return writeData(a.stdout, a.g.output, m)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "keep the paths of these clients: NAMESPACE/WORKLOAD, NAMESPACE or external")
	cmd.Flags().StringVar(&to, "to", "", "keep the paths to these Services: NAMESPACE/SERVICE[:PORT], SERVICE.NAMESPACE[:PORT], an FQDN or NAMESPACE")
	cmd.Flags().IntVar(&maxPairs, "max-pairs", matrix.DefaultMaxPairs, "aggregate by namespace above this many paths (negative: never)")
	cmd.Flags().BoolVar(&aggregate, "by-namespace", false, "aggregate by namespace whatever the size")
	cmd.Flags().IntVar(&fixes, "fixes", 20, "with -o html, search verified fixes for this many failing paths (each rebuilds the mesh)")
	cmd.Flags().StringVar(&failOn, "fail-on", "error", "exit 1 when a path fails or is denied (error), or never (none)")
	return cmd
}
