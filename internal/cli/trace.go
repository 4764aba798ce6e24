package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

func (a *app) traceCommand() *cobra.Command {
	var method, gateway string
	var headers []string
	cmd := &cobra.Command{
		Use:   "trace FROM TO",
		Short: "Follow one request hop by hop: the verdict, its cause, the Envoy response and verified fixes",
		Long: `trace predicts what happens to one request from FROM to TO, hop by hop: the client
proxy, the route, the destination, the DestinationRule and client TLS, the endpoints,
the server's PeerAuthentication, authorization and the application port. Each hop
names the object (file:line) that decided it. A failing trace shows the HTTP status and
Envoy response a user would see, and fixes verified by tracing the patched mesh.

FROM is NAMESPACE/WORKLOAD (a Deployment, StatefulSet, DaemonSet or Pod, or the ingress
gateway istio-system/istio-ingressgateway) or "external" (a client outside the cluster
entering through the ingress gateway; --gateway NS/NAME for another one).
TO is a URL (http://HOST[:PORT]/PATH, https://...) or HOST:PORT; HOST is a short
service name (resolved in FROM's namespace), name.namespace, an FQDN, or a host of a
Gateway or VirtualService.

Exit status: 0 when the request succeeds, 1 when it fails or is denied, 2 on bad input
or when FROM or TO cannot be resolved.`,
		Example: `  meshdoctor trace -k examples/titanium/k8s-manifests/overlays/gcp istio-system/istio-ingressgateway http://titanium.example.com/blog/
  meshdoctor trace -f manifests/ shop/frontend http://cart.shop:80/api -o json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json", "yaml"); err != nil {
				return err
			}
			hdr := map[string]string{}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok {
					return usageErr("header %q is not 'Name: value'", h)
				}
				hdr[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			in, err := a.loadInput()
			if err != nil {
				return err
			}
			e := resolve.New(in.idx)
			t, err := trace.Run(e, args[0], args[1], trace.Options{Method: strings.ToUpper(method), Headers: hdr, Gateway: gateway})
			if err != nil {
				return usageErr("%v", err)
			}
			if t.Result != trace.ResultOK {
				a.setCode(ExitFindings)
			}
			if a.g.output == "text" {
				writeTraceText(a.stdout, t)
				return nil
			}
			return writeData(a.stdout, a.g.output, t)
		},
	}
	cmd.Flags().StringVar(&method, "method", "GET", "HTTP method, for routing and authorization matches")
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "request header 'Name: value' (Host overrides the URL's host); repeatable")
	cmd.Flags().StringVar(&gateway, "gateway", "", "gateway NS/NAME an external client enters through (default: the ingress gateway)")
	return cmd
}

// writeTraceText renders a trace for a terminal: the verdict first, the hops
// with ✓/✗, the fixes last.
func writeTraceText(w io.Writer, t *trace.Trace) {
	switch t.Result {
	case trace.ResultOK:
		fmt.Fprintf(w, "OK  %s -> %s", t.From, t.To)
		if t.Security != "" {
			fmt.Fprintf(w, " (%s)", t.Security)
		}
		fmt.Fprintln(w)
	default:
		fmt.Fprintf(w, "%s  %s -> %s: %s\n", strings.ToUpper(t.Result), t.From, t.To, t.Cause)
		status := "no HTTP response"
		if t.HTTPStatus != 0 {
			status = fmt.Sprintf("HTTP %d", t.HTTPStatus)
		}
		if t.Envoy.ResponseFlags != "" {
			status += " " + t.Envoy.ResponseFlags
		}
		fmt.Fprintf(w, "    the caller sees: %s", status)
		if t.Envoy.Message != "" {
			fmt.Fprintf(w, " %q", t.Envoy.Message)
		}
		fmt.Fprintln(w)
	}
	if t.Summary != "" {
		fmt.Fprintf(w, "    why: %s\n", t.Summary)
	}
	fmt.Fprintln(w)
	for _, h := range t.Hops {
		mark := "·"
		switch h.Status {
		case trace.HopOK:
			mark = "✓"
		case trace.HopFail:
			mark = "✗"
		}
		fmt.Fprintf(w, "  %s %-16s %s\n", mark, h.Step, h.Detail)
		for _, o := range h.Objects {
			fmt.Fprintf(w, "      %s\n", refText(o))
		}
	}
	if len(t.Assumptions) > 0 {
		fmt.Fprintln(w, "\nassumptions:")
		for _, s := range t.Assumptions {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	if len(t.Fixes) > 0 {
		fmt.Fprintln(w, "\nfixes (each verified by tracing the patched mesh):")
		for i, f := range t.Fixes {
			fmt.Fprintf(w, "  %d. %s\n     security cost: %s\n", i+1, f.Summary, f.Security)
			for _, l := range strings.Split(strings.TrimRight(f.Patch, "\n"), "\n") {
				fmt.Fprintf(w, "       %s\n", l)
			}
		}
	}
}
