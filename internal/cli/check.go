package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks"
	"github.com/meshdoctor/meshdoctor/internal/report"
)

func (a *app) checkCommand() *cobra.Command {
	var failOn string
	var ignores []string
	var noFixes bool
	var maxFixes int
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Report every misconfiguration: code, severity, object, file:line, message and a verified fix",
		Long: `check runs every check of ` + "`meshdoctor checks`" + ` over the manifests, istioctl-analyze style:
one line per finding, "Severity [CODE] (Kind namespace/name file:line) message", with the
related objects and fixes verified by running the checks again on the patched mesh.

Suppress a finding with the annotation meshdoctor.io/ignore: "MD0103: reason" on the object
(a reason is required), or with --ignore CODE[=Kind ns/name glob]. Unused suppressions are
reported (MD0003).

Exit status: 1 when a finding is at or above --fail-on (default error), for every output
format; 2 on bad usage or unreadable input; 0 otherwise.`,
		Example: `  meshdoctor check -k examples/titanium/k8s-manifests/overlays/gcp
  meshdoctor check -f manifests/ -o sarif --fail-on warning > meshdoctor.sarif
  meshdoctor check -f manifests/ --ignore 'MD0103=PeerAuthentication istio-system/*'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput(report.Formats...); err != nil {
				return err
			}
			var threshold check.Severity
			if failOn != "none" {
				s, err := check.ParseSeverity(failOn)
				if err != nil {
					return usageErr("--fail-on: %v (or none)", err)
				}
				threshold = s
			}
			all := checks.All()
			if err := check.Validate(all); err != nil {
				return fmt.Errorf("internal: %w", err)
			}
			if maxFixes < 0 {
				return usageErr("--max-fixes must not be negative")
			}
			opts := check.Options{Fixes: !noFixes, MaxFixes: maxFixes}
			for _, s := range ignores {
				ig, err := check.ParseIgnore(s, all)
				if err != nil {
					return usageErr("%v", err)
				}
				opts.Ignore = append(opts.Ignore, ig)
			}
			in, err := a.loadInput()
			if err != nil {
				return err
			}
			res := check.Run(in.idx, all, opts)
			if a.g.namespace != "" && !a.g.allNamespaces {
				kept := res.Findings[:0]
				for _, f := range res.Findings {
					if f.Object.Namespace == "" || a.inNamespace(f.Object.Namespace) {
						kept = append(kept, f)
					}
				}
				res.Findings = kept
			}
			if threshold != 0 && res.Max() >= threshold {
				a.setCode(ExitFindings)
			}
			base, _ := os.Getwd()
			return report.Write(a.stdout, a.g.output, report.Input{Result: res, Checks: all, Version: Version, BaseDir: base})
		},
	}
	cmd.Flags().StringVar(&failOn, "fail-on", "error", "exit 1 when a finding is at or above this severity: error|warning|info|none")
	cmd.Flags().StringArrayVar(&ignores, "ignore", nil, "suppress CODE, or CODE=Kind ns/name glob (* matches anything); repeatable")
	cmd.Flags().BoolVar(&noFixes, "no-fixes", false, "skip computing and verifying fixes (faster on large meshes)")
	cmd.Flags().IntVar(&maxFixes, "max-fixes", 50, "compute fixes for at most this many findings, errors first (0: all); each costs a partial rebuild or a trace")
	return cmd
}
