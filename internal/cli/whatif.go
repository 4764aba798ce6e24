package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/whatif"
)

func (a *app) whatifCommand() *cobra.Command {
	var changes, deletes []string
	var allowWeaker, traces, noFindings bool
	cmd := &cobra.Command{
		Use:   "whatif --change FILE... [--delete Kind/ns/name...]",
		Short: "Judge a change before it is applied: the paths it breaks, fixes, or makes less secure",
		Long: `whatif applies a change to the base manifests (-f/-k, or --kube) as kubectl apply would:
each object of --change files replaces the base object of the same kind, namespace and
name, or is added; --delete Kind/ns/name removes one. The change's objects are newer than
the base's, which decides Istio's oldest-wins rules. It then compares every path the
change can affect, before and after: paths broken, newly denied, that lose mTLS, that now
work only because a server accepts plaintext, newly allowed, fixed, that gain mTLS; and
the findings of check that appear or disappear.

Exit status: 1 when the change breaks a path that worked, or lowers security unless
--allow-weaker; 2 on bad usage or unreadable input; 0 otherwise. For every output format.`,
		Example: `  meshdoctor whatif -k examples/titanium/k8s-manifests/overlays/gcp \
      --change examples/titanium/proposals/05-authz-allow-gateway-only.yaml
  meshdoctor whatif -f base/ --change pr/ -o sarif > whatif.sarif`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json", "yaml", "sarif"); err != nil {
				return err
			}
			if len(changes) == 0 && len(deletes) == 0 {
				return usageErr("nothing to judge: give --change FILE (repeatable) or --delete Kind/ns/name")
			}
			var keys []objects.Key
			for _, d := range deletes {
				parts := strings.Split(d, "/")
				switch {
				case len(parts) == 3 && parts[0] != "" && parts[2] != "":
					keys = append(keys, objects.Key{Kind: parts[0], Namespace: parts[1], Name: parts[2]})
				case len(parts) == 2 && parts[0] != "" && parts[1] != "":
					keys = append(keys, objects.Key{Kind: parts[0], Name: parts[1]})
				default:
					return usageErr("--delete %q: want Kind/namespace/name (or Kind/name for a cluster-scoped kind)", d)
				}
			}
			in, err := a.loadInput()
			if err != nil {
				return err
			}
			chg := load.Load(load.Options{Files: changes, Stdin: a.stdin})
			a.reportLoad(chg)
			if len(chg.Objects) == 0 && len(keys) == 0 {
				return usageErr("--change: no object of a known kind in %s", strings.Join(changes, ", "))
			}
			opts := whatif.Options{Traces: traces}
			if !noFindings {
				all := checks.All()
				opts.Findings = func(x *mesh.Index) []whatif.Finding {
					res := check.Run(x, all, check.Options{})
					out := make([]whatif.Finding, 0, len(res.Findings))
					for _, f := range res.Findings {
						out = append(out, whatif.Finding{Code: f.Code, Severity: f.Severity.String(), Message: f.Message, Object: f.Object})
					}
					return out
				}
			}
			rep, err := whatif.Run(whatif.Input{Base: in.res.Objects, Change: chg.Objects, Delete: keys, DefaultNamespace: a.g.namespace}, opts)
			if err != nil {
				return usageErr("%v", err)
			}
			if rep.Breaks || (rep.Weaker && !allowWeaker) {
				a.setCode(ExitFindings)
			}
			switch a.g.output {
			case "json":
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			case "yaml":
				b, err := yaml.Marshal(rep)
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(b)
				return err
			case "sarif":
				base, _ := os.Getwd()
				return rep.SARIF(a.stdout, Version, base, allowWeaker)
			}
			_, err = fmt.Fprint(a.stdout, rep.Text())
			return err
		},
	}
	cmd.Flags().StringArrayVar(&changes, "change", nil, "file or directory of objects to add or replace; repeatable")
	cmd.Flags().StringArrayVar(&deletes, "delete", nil, "object to remove, Kind/namespace/name; repeatable")
	cmd.Flags().BoolVar(&allowWeaker, "allow-weaker", false, "exit 0 when the change lowers security but breaks nothing")
	cmd.Flags().BoolVar(&traces, "trace", false, "include the before and after trace of each changed path")
	cmd.Flags().BoolVar(&noFindings, "no-findings", false, "skip comparing the findings of check (faster on large meshes)")
	return cmd
}
