package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

func (a *app) inventoryCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inventory",
		Short: "List what was loaded: namespaces, workloads, services and policies with file:line",
		Long: `inventory lists every object meshdoctor read, with its source file and line,
the kinds it skipped (with counts) and the documents it could not read.

Exit status: 0, or 2 when a document could not be read.`,
		Example: `  meshdoctor inventory -k examples/titanium/k8s-manifests/overlays/gcp
  meshdoctor inventory -f manifests/ -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json", "yaml"); err != nil {
				return err
			}
			in, err := a.loadInput()
			if err != nil {
				return err
			}
			inv := a.buildInventory(in)
			if a.g.output == "text" {
				writeInventoryText(a.stdout, inv)
				return nil
			}
			return writeData(a.stdout, a.g.output, inv)
		},
	}
}

// Inventory is the data of `meshdoctor inventory` (-o json|yaml).
type Inventory struct {
	Summary     InventorySummary `json:"summary"`
	Namespaces  []InvNamespace   `json:"namespaces"`
	Workloads   []InvWorkload    `json:"workloads"`
	Services    []InvService     `json:"services"`
	Policies    []InvPolicy      `json:"policies"`
	Others      []InvPolicy      `json:"others,omitempty"` // ServiceAccounts, ConfigMaps
	Skipped     map[string]int   `json:"skipped,omitempty"`
	Errors      []load.Error     `json:"errors,omitempty"`
	Warnings    []load.Error     `json:"warnings,omitempty"`
	Assumptions []string         `json:"assumptions,omitempty"`
}

// InventorySummary counts what was read.
type InventorySummary struct {
	Files     int `json:"files"`
	Documents int `json:"documents"`
	Objects   int `json:"objects"`
	Skipped   int `json:"skipped"`
	Errors    int `json:"errors"`
}

// InvNamespace is one namespace.
type InvNamespace struct {
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels,omitempty"`
	Source   string            `json:"source,omitempty"`
	Implicit bool              `json:"implicit,omitempty"`
}

// InvWorkload is one workload.
type InvWorkload struct {
	Namespace      string   `json:"namespace"`
	Kind           string   `json:"kind"`
	Name           string   `json:"name"`
	ServiceAccount string   `json:"serviceAccount"`
	Inject         string   `json:"inject,omitempty"` // the sidecar.istio.io/inject label or annotation as written
	Ports          []string `json:"ports,omitempty"`
	Replicas       int32    `json:"replicas"`
	Source         string   `json:"source,omitempty"`
	Implicit       bool     `json:"implicit,omitempty"`
}

// InvService is one service.
type InvService struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Ports     []string          `json:"ports"`
	Selector  map[string]string `json:"selector,omitempty"`
	Source    string            `json:"source"`
}

// InvPolicy is one Istio config object.
type InvPolicy struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Summary   string `json:"summary"`
	Source    string `json:"source"`
}

func (a *app) buildInventory(in *input) *Inventory {
	x := in.idx
	inv := &Inventory{
		Summary: InventorySummary{
			Files: in.res.Files, Documents: in.res.Documents, Objects: len(in.res.Objects),
			Skipped: in.res.SkippedTotal(), Errors: len(in.res.Errors),
		},
		Skipped:  in.res.Skipped,
		Errors:   in.res.Errors,
		Warnings: in.res.Warnings,
	}
	for _, k := range objects.SortedKeys(x.Assumed) {
		inv.Assumptions = append(inv.Assumptions, x.Assumed[k])
	}
	for _, name := range x.NamespaceNames() {
		if !a.inNamespace(name) {
			continue
		}
		n := x.Namespaces[name]
		row := InvNamespace{Name: name, Labels: n.Labels, Implicit: n.Implicit()}
		if n.Obj != nil {
			row.Source = n.Obj.Pos.String()
		}
		inv.Namespaces = append(inv.Namespaces, row)
	}
	for _, w := range x.Workloads {
		if !a.inNamespace(w.Namespace) {
			continue
		}
		row := InvWorkload{Namespace: w.Namespace, Kind: w.Kind, Name: w.Name, ServiceAccount: w.ServiceAccount,
			Replicas: w.Replicas, Implicit: w.Implicit, Source: w.At("").String()}
		if v, ok := w.Labels[mesh.LabelInject]; ok {
			row.Inject = "label " + v
		} else if v, ok := w.Annotations[mesh.LabelInject]; ok {
			row.Inject = "annotation " + v
		}
		for _, c := range w.Containers {
			for _, p := range c.Ports {
				s := fmt.Sprint(p.Port)
				if p.Name != "" {
					s = p.Name + ":" + s
				}
				row.Ports = append(row.Ports, s)
			}
		}
		inv.Workloads = append(inv.Workloads, row)
	}
	for _, s := range x.Services {
		if !a.inNamespace(s.Namespace) {
			continue
		}
		row := InvService{Namespace: s.Namespace, Name: s.Name, Type: s.Type, Selector: s.Selector, Source: s.Obj.Pos.String()}
		if s.Headless {
			row.Type += " (headless)"
		}
		for _, p := range s.Ports {
			v := fmt.Sprintf("%d->%s/%s", p.Port, p.TargetPort.String(), p.Protocol)
			if p.Name != "" {
				v = p.Name + ":" + v
			}
			row.Ports = append(row.Ports, v)
		}
		inv.Services = append(inv.Services, row)
	}
	add := func(o *objects.Object, summary string) {
		if !a.inNamespace(o.Namespace) {
			return
		}
		inv.Policies = append(inv.Policies, InvPolicy{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Summary: summary, Source: o.Pos.String()})
	}
	for _, p := range x.PeerAuthentications {
		add(p.Obj, summarizePA(p))
	}
	for _, d := range x.DestinationRules {
		add(d.Obj, summarizeDR(d))
	}
	for _, v := range x.VirtualServices {
		add(v.Obj, fmt.Sprintf("hosts %s; gateways %s; %d http route(s)", strings.Join(v.Spec.Hosts, ","), orNone(v.Spec.Gateways, "mesh"), len(v.Spec.Http)))
	}
	for _, g := range x.Gateways {
		var servers []string
		for _, s := range g.Spec.Servers {
			if s.Port != nil {
				servers = append(servers, fmt.Sprintf("%s/%d %s", s.Port.Protocol, s.Port.Number, strings.Join(s.Hosts, ",")))
			}
		}
		add(g.Obj, fmt.Sprintf("selector %s; servers %s", labelString(g.Spec.Selector), strings.Join(servers, "; ")))
	}
	for _, p := range x.AuthorizationPolicies {
		sel := "all workloads"
		if p.Spec.Selector != nil && len(p.Spec.Selector.MatchLabels) > 0 {
			sel = "selector " + labelString(p.Spec.Selector.MatchLabels)
		}
		add(p.Obj, fmt.Sprintf("%s; %s; %d rule(s)", p.Spec.Action, sel, len(p.Spec.Rules)))
	}
	for _, s := range x.Sidecars {
		add(s.Obj, fmt.Sprintf("%d ingress, %d egress listener(s)", len(s.Spec.Ingress), len(s.Spec.Egress)))
	}
	for _, s := range x.ServiceEntries {
		add(s.Obj, fmt.Sprintf("hosts %s; %s", strings.Join(s.Spec.Hosts, ","), s.Spec.Location))
	}
	for _, r := range x.RequestAuthentications {
		add(r.Obj, fmt.Sprintf("%d jwt rule(s)", len(r.Spec.JwtRules)))
	}
	// The remaining kinds are listed too, so that every object loaded appears.
	for _, o := range x.Objects {
		switch o.Kind {
		case "ServiceAccount", "ConfigMap":
			if a.inNamespace(o.Namespace) {
				inv.Others = append(inv.Others, InvPolicy{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Source: o.Pos.String()})
			}
		}
	}
	sort.SliceStable(inv.Others, func(i, j int) bool {
		a, b := inv.Others[i], inv.Others[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	sort.SliceStable(inv.Policies, func(i, j int) bool {
		a, b := inv.Policies[i], inv.Policies[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return inv
}

func summarizePA(p *mesh.PeerAuthentication) string {
	var parts []string
	if p.Spec.Selector != nil && len(p.Spec.Selector.MatchLabels) > 0 {
		parts = append(parts, "selector "+labelString(p.Spec.Selector.MatchLabels))
	} else {
		parts = append(parts, "namespace-wide")
	}
	mode := "UNSET"
	if p.Spec.Mtls != nil {
		mode = p.Spec.Mtls.Mode.String()
	}
	parts = append(parts, "mode "+mode)
	if len(p.Spec.PortLevelMtls) > 0 {
		var ports []string
		for port, m := range p.Spec.PortLevelMtls {
			ports = append(ports, fmt.Sprintf("%d=%s", port, m.GetMode()))
		}
		sort.Strings(ports)
		parts = append(parts, "ports "+strings.Join(ports, ","))
	}
	return strings.Join(parts, "; ")
}

func summarizeDR(d *mesh.DestinationRule) string {
	s := "host " + d.Spec.Host
	if tp := d.Spec.TrafficPolicy; tp != nil && tp.Tls != nil {
		s += "; tls " + tp.Tls.Mode.String()
	}
	if n := len(d.Spec.Subsets); n > 0 {
		s += fmt.Sprintf("; %d subset(s)", n)
	}
	if len(d.Spec.ExportTo) > 0 {
		s += "; exportTo " + strings.Join(d.Spec.ExportTo, ",")
	}
	return s
}

func labelString(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	var parts []string
	for _, k := range objects.SortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func orNone(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ",")
}

func writeInventoryText(w io.Writer, inv *Inventory) {
	s := inv.Summary
	fmt.Fprintf(w, "Loaded %d object(s) from %d file(s), %d document(s); %d skipped, %d error(s).\n",
		s.Objects, s.Files, s.Documents, s.Skipped, s.Errors)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	section := func(title string, header string) {
		fmt.Fprintf(tw, "\n%s\n%s\n", title, header)
	}
	section("NAMESPACES", "  NAME\tLABELS\tSOURCE")
	for _, n := range inv.Namespaces {
		src := n.Source
		if n.Implicit {
			src = "(not in input)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", n.Name, labelString(n.Labels), src)
	}
	section("WORKLOADS", "  NAMESPACE\tKIND\tNAME\tSERVICE ACCOUNT\tINJECT\tPORTS\tSOURCE")
	for _, wl := range inv.Workloads {
		src := wl.Source
		if wl.Implicit {
			src = "(assumed: not in input)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", wl.Namespace, wl.Kind, wl.Name, wl.ServiceAccount, dash(wl.Inject), dash(strings.Join(wl.Ports, ",")), src)
	}
	section("SERVICES", "  NAMESPACE\tNAME\tTYPE\tPORTS\tSELECTOR\tSOURCE")
	for _, sv := range inv.Services {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", sv.Namespace, sv.Name, sv.Type, strings.Join(sv.Ports, ","), labelString(sv.Selector), sv.Source)
	}
	section("ISTIO CONFIG", "  NAMESPACE\tKIND\tNAME\tSUMMARY\tSOURCE")
	for _, p := range inv.Policies {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", p.Namespace, p.Kind, p.Name, p.Summary, p.Source)
	}
	if len(inv.Others) > 0 {
		section("OTHER OBJECTS", "  NAMESPACE\tKIND\tNAME\tSOURCE")
		for _, o := range inv.Others {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", o.Namespace, o.Kind, o.Name, o.Source)
		}
	}
	tw.Flush()
	if len(inv.Skipped) > 0 {
		fmt.Fprintln(w, "\nSKIPPED (kinds meshdoctor does not read)")
		for _, k := range objects.SortedKeys(inv.Skipped) {
			fmt.Fprintf(w, "  %s: %d\n", k, inv.Skipped[k])
		}
	}
	if len(inv.Errors) > 0 {
		// The errors themselves went to stderr as file:line: message.
		fmt.Fprintf(w, "\n%d input error(s), printed above as file:line: message; those documents were skipped.\n", len(inv.Errors))
	}
	if len(inv.Assumptions) > 0 {
		fmt.Fprintln(w, "\nASSUMPTIONS")
		for _, s := range inv.Assumptions {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
