package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/explain"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

func (a *app) explainCommand() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "explain [TEXT]",
		Short: "Read an Envoy error, curl error or Istio access-log line: what each part means and the causes, ranked",
		Long: `explain reads what a caller saw: an Envoy response body ("upstream connect error or
disconnect/reset before headers. ..."), a curl error ("curl: (56) Recv failure: ..."), or
an Istio access-log line in the default TEXT format (or JSON encoding). It says what each
part means (response code, flags such as UF,URX, response code details, transport failure
reason, upstream cluster) and ranks the cause codes that can produce it: high, medium,
low or excluded, each with why and what to check. Without TEXT it reads standard input.

With manifests (-f/-k) and --from, it traces the request on the configuration and narrows
to the cause present there, naming the failing hop's object (file:line). --to defaults to
the request the log line names (authority and path, or the outbound cluster's host:port).

Exit status: 0 when explained, 1 when the traced request fails, 2 on bad input.`,
		Example: `  meshdoctor explain "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused"
  kubectl logs deploy/istio-ingressgateway -n istio-system | grep ' 503 ' | tail -1 | meshdoctor explain
  meshdoctor explain -k overlays/gcp --from istio-system/istio-ingressgateway --to http://titanium.example.com/blog/ "$(cat error.txt)"`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json", "yaml"); err != nil {
				return err
			}
			text := strings.Join(args, " ")
			if len(args) == 0 {
				for _, f := range a.g.files {
					if f == "-" {
						return usageErr("the text to explain and -f - cannot both come from standard input: give the text as an argument")
					}
				}
				b, err := io.ReadAll(a.stdin)
				if err != nil {
					return usageErr("reading standard input: %v", err)
				}
				text = string(b)
			}
			rep, err := explain.Explain(text)
			if err != nil {
				return usageErr("%v", err)
			}
			config := len(a.g.files) > 0 || len(a.g.kustomizations) > 0 || a.g.kube
			if !config && (from != "" || to != "") {
				return usageErr("--from and --to trace the request on manifests: give them with -f PATH or -k DIR")
			}
			if config {
				if from == "" {
					return usageErr("with manifests, give --from NAMESPACE/WORKLOAD: the workload or gateway whose request failed (the text does not say which proxy wrote it)")
				}
				if to == "" {
					t, ok := rep.Parsed.Target()
					if !ok {
						return usageErr("give --to URL: the text names no request authority or outbound cluster to trace")
					}
					to = t
				}
				in, err := a.loadInput()
				if err != nil {
					return err
				}
				method := ""
				if m := rep.Parsed.Method; m != "" {
					method = strings.ToUpper(m)
				}
				t, err := trace.Run(resolve.New(in.idx), from, to, trace.Options{Method: method, Headers: map[string]string{}})
				if err != nil {
					return usageErr("%v", err)
				}
				rep.Narrow(t)
				if t.Result != trace.ResultOK {
					a.setCode(ExitFindings)
				}
			}
			if a.g.output == "text" {
				writeExplainText(a.stdout, rep)
				return nil
			}
			return writeData(a.stdout, a.g.output, rep)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "NAMESPACE/WORKLOAD whose request failed (or \"external\"); needs -f or -k")
	cmd.Flags().StringVar(&to, "to", "", "URL or HOST:PORT of the request (default: read from the access-log line)")
	return cmd
}

var formatNames = map[string]string{
	explain.FormatEnvoyBody:     "Envoy response body",
	explain.FormatAccessLog:     "Istio access-log line",
	explain.FormatAccessLogJSON: "Istio access-log line (JSON)",
	explain.FormatCurl:          "curl error",
}

// writeExplainText renders a report for a terminal: the parts, the causes
// ranked, then the configuration's trace in short.
func writeExplainText(w io.Writer, r *explain.Report) {
	p := r.Parsed
	name := formatNames[p.Format]
	if name == "" {
		name = "text"
	}
	fmt.Fprintf(w, "%s\n", name)
	width := 0
	for _, part := range p.Parts {
		width = max(width, len(part.Field))
	}
	for _, part := range p.Parts {
		fmt.Fprintf(w, "  %-*s  %s\n", width, part.Field, part.Text)
		fmt.Fprintf(w, "  %-*s    %s\n", width, "", part.Meaning)
	}
	fmt.Fprintln(w, "\ncauses, most likely first:")
	cw := 0
	for _, c := range r.Causes {
		cw = max(cw, len(c.Cause))
	}
	indent := strings.Repeat(" ", 2+8+2+cw+2)
	prevWhy := ""
	for _, c := range r.Causes {
		why := c.Why
		if why == prevWhy {
			why = "(same reason)"
		}
		prevWhy = c.Why
		fmt.Fprintf(w, "  %-8s  %-*s  %s\n", c.Likelihood, cw, c.Cause, why)
		if c.Check != "" {
			fmt.Fprintf(w, "%scheck: %s\n", indent, c.Check)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	if t := r.Trace; t != nil {
		fmt.Fprintf(w, "\nconfiguration: %s  %s -> %s", strings.ToUpper(t.Result), t.From, t.To)
		if t.Cause != "" {
			fmt.Fprintf(w, ": %s", t.Cause)
		}
		fmt.Fprintln(w)
		for _, h := range t.Hops {
			if h.Status != trace.HopFail {
				continue
			}
			fmt.Fprintf(w, "  ✗ %s  %s\n", h.Step, h.Detail)
			for _, o := range h.Objects {
				fmt.Fprintf(w, "      %s\n", refText(o))
			}
		}
		for i, f := range t.Fixes {
			fmt.Fprintf(w, "  fix %d: %s (security cost: %s)\n", i+1, f.Summary, f.Security)
		}
		fmt.Fprintf(w, "  every hop and the fix patches: meshdoctor trace %s %s\n", t.From, t.To)
	}
	fmt.Fprintf(w, "\n%s\n", r.Summary)
}
