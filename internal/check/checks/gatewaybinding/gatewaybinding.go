// Package gatewaybinding checks how VirtualServices bind to Gateways and
// Gateways to gateway workloads.
package gatewaybinding

import (
	"fmt"
	"maps"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// MissingGateway is MD0301.
var MissingGateway = &check.Check{
	Code: "MD0301", Name: "virtualservice-unknown-gateway", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "VirtualService bound to a Gateway that does not exist",
		What:    "A VirtualService's gateways list names a Gateway (resolved in the VirtualService's namespace when written without one) that is not in the input.",
		Why:     "A short gateway name resolves in the VirtualService's namespace (pilot/pkg/model/config.go resolveGatewayName), not the Gateway's: a VirtualService in app namespace naming `istio-ingressgateway` or a Gateway of istio-system without its namespace binds to nothing and its routes never reach a gateway.",
		Example: "kind: VirtualService\nmetadata: {namespace: shop}\nspec:\n  gateways: [public-gateway]   # the Gateway is istio-system/public-gateway",
		Fix:     "Write the Gateway as namespace/name. meshdoctor proposes it when exactly one Gateway of that name exists and serves one of the VirtualService's hosts.",
	},
	Run: runMissing,
}

// HostNotServed is MD0302.
var HostNotServed = &check.Check{
	Code: "MD0302", Name: "virtualservice-host-not-served", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "VirtualService host that its Gateway does not serve",
		What:    "A VirtualService bound to a Gateway has a host that no server of that Gateway accepts.",
		Why:     "A gateway builds virtual hosts only for VirtualService hosts that match a server's hosts (pilot/pkg/networking/core/gateway.go pickMatchingGatewayHosts, gateway.proto Server.hosts with its namespace/ forms): requests for that host get 404 NR.",
		Example: "kind: Gateway\nspec: {servers: [{hosts: [api.example.com], port: {number: 80, protocol: HTTP, name: http}}]}\n---\nkind: VirtualService\nspec: {hosts: [shop.example.com], gateways: [gw]}",
		Fix:     "Add the host to a server of the Gateway, or bind the VirtualService to the Gateway that serves it.",
	},
	Run: runNotServed,
}

// NoWorkload is MD0303.
var NoWorkload = &check.Check{
	Code: "MD0303", Name: "gateway-selects-no-workload", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "Gateway whose selector matches no gateway workload",
		What:    "A Gateway whose selector matches none of the gateway workloads of the input (reported only when the input has gateway workloads).",
		Why:     "A Gateway configures only the gateway pods its selector matches, in any namespace (push_context.go mergeGateways): matching none, its servers listen nowhere.",
		Example: "spec:\n  selector: {istio: ingress}   # the gateway pods are labelled istio: ingressgateway",
		Fix:     "Use the labels of the gateway Deployment's pods. meshdoctor proposes them when the input has one gateway workload, the selector differs from its labels in one value, a typo of the workload's (not another gateway's name such as internal-ingressgateway, or ingress for ingressgateway), and the selector was not written for the other direction (ingress/egress).",
	},
	Run: runNoWorkload,
}

func gatewayByName(x *mesh.Index) map[string]*mesh.Gateway {
	out := map[string]*mesh.Gateway{}
	for _, g := range x.Gateways {
		out[g.Namespace+"/"+g.Name] = g
	}
	return out
}

func runMissing(p *check.Pass) {
	gws := gatewayByName(p.X)
	for _, vs := range p.X.VirtualServices {
		for i, g := range resolve.VirtualServiceGateways(vs) {
			if g == "mesh" || gws[g] != nil {
				continue
			}
			// Gateways of that name in other namespaces.
			name := g[strings.Index(g, "/")+1:]
			var near []*mesh.Gateway
			for _, gw := range p.X.Gateways {
				if gw.Name == name {
					near = append(near, gw)
				}
			}
			hint := ""
			if len(near) > 0 {
				var keys []string
				for _, gw := range near {
					keys = append(keys, gw.Namespace+"/"+gw.Name)
				}
				hint = fmt.Sprintf(" (did you mean %s?)", strings.Join(keys, " or "))
			}
			path := objects.Index("spec.gateways", i)
			f := p.Reportf(vs.Obj, path, "VirtualService %s/%s is bound to Gateway %s, which is not in the input, so its routes reach no gateway%s", vs.Namespace, vs.Name, g, hint)
			// A short name resolves in the VirtualService's namespace
			// (pilot/pkg/model/config.go resolveGatewayName); "ns/name" names
			// a Gateway of any namespace. Only the one Gateway of that name,
			// and only if it serves one of the VirtualService's hosts: binding
			// to a Gateway that serves none of them routes nothing either.
			if len(near) != 1 || !p.Fixes() || !servesAny(near[0], vs) {
				continue
			}
			key := near[0].Namespace + "/" + near[0].Name
			f.ProposeEdit(fmt.Sprintf("bind VirtualService %s/%s to Gateway %s, written with its namespace", vs.Namespace, vs.Name, key), vs.Obj, path, func(any) (any, bool) { return key, false })
		}
	}
}

// servesAny reports whether a server of gw accepts one of the hosts of vs.
func servesAny(gw *mesh.Gateway, vs *mesh.VirtualService) bool {
	for _, h := range vs.Spec.GetHosts() {
		for _, s := range gw.Spec.GetServers() {
			if resolve.GatewayServesHost(s.GetHosts(), gw.Namespace, vs.Namespace, h) {
				return true
			}
		}
	}
	return false
}

func runNotServed(p *check.Pass) {
	gws := gatewayByName(p.X)
	for _, vs := range p.X.VirtualServices {
		for _, g := range resolve.VirtualServiceGateways(vs) {
			gw := gws[g]
			if gw == nil {
				continue
			}
			for i, h := range vs.Spec.GetHosts() {
				served := false
				for _, s := range gw.Spec.GetServers() {
					if resolve.GatewayServesHost(s.GetHosts(), gw.Namespace, vs.Namespace, h) {
						served = true
						break
					}
				}
				if served {
					continue
				}
				f := &check.Finding{Object: vs.Obj.Ref(objects.Index("spec.hosts", i)),
					Message: fmt.Sprintf("host %q of VirtualService %s/%s is served by no server of its Gateway %s, so the gateway answers 404 for it", h, vs.Namespace, vs.Name, g)}
				f.Relate(gw.Obj.Ref("spec.servers"))
				p.Report(*f)
			}
		}
	}
}

func runNoWorkload(p *check.Pass) {
	var gwWorkloads []*mesh.Workload
	for _, w := range p.X.Workloads {
		if !w.Implicit && p.Engine.Sidecar(w).Kind == resolve.ProxyGateway {
			gwWorkloads = append(gwWorkloads, w)
		}
	}
	if len(gwWorkloads) == 0 {
		return // the gateways are not in the input: nothing to say
	}
	used := map[*mesh.Gateway]bool{}
	for _, w := range gwWorkloads {
		for _, s := range p.Engine.GatewayServers(w) {
			used[s.Gateway] = true
		}
	}
	for _, g := range p.X.Gateways {
		if used[g] {
			continue
		}
		sel := g.Spec.GetSelector()
		var names []string
		for _, w := range gwWorkloads {
			names = append(names, w.Kind+" "+w.Key())
		}
		f := p.Reportf(g.Obj, "spec.selector", "Gateway %s/%s selects %s, which matches none of the gateway workloads (%s), so its servers listen nowhere", g.Namespace, g.Name, labelString(sel), strings.Join(names, ", "))
		// With one gateway workload in the input there is nothing else the
		// Gateway can have been meant for (the check assumes the input has
		// the mesh's gateways). A Gateway selects gateway pods by their labels
		// in any namespace (push_context.go mergeGateways), so the fix is a
		// selector of that workload's labels.
		if len(gwWorkloads) != 1 || !p.Fixes() {
			continue
		}
		w := gwWorkloads[0]
		want, ok := gatewaySelector(sel, w.Labels)
		if !ok {
			continue
		}
		f.ProposeEdit(fmt.Sprintf("select the gateway pods of %s %s, labelled %s, in Gateway %s/%s", w.Kind, w.Key(), labelString(want), g.Namespace, g.Name), g.Obj, "spec.selector", func(any) (any, bool) { return want, false })
	}
}

// gatewaySelector returns the selector a Gateway selecting sel meant for a
// gateway workload labelled labels: sel with its one wrong value corrected,
// when every other key matches and the value is a typo of the workload's
// (see typo). Anything farther is another gateway, one missing from the input
// rather than misspelt: istio=internal-ingressgateway is not the public
// istio=ingressgateway, nor istio=ingress (the gateway chart's label for a
// release named ingress), and moving the Gateway onto that workload would
// expose its hosts there. It refuses as well a selector written for the other
// direction (an ingress selector for an egress gateway, or the reverse), which
// a short edit can turn into one another (ingressgateway, egressgateway).
func gatewaySelector(sel, labels map[string]string) (map[string]string, bool) {
	var wrong []string
	for k, v := range sel {
		if labels[k] != v {
			wrong = append(wrong, k)
		}
	}
	if len(wrong) != 1 {
		return nil, false
	}
	k := wrong[0]
	nv, ok := labels[k]
	if _, close := check.Typo(sel[k], nv); !ok || !close {
		return nil, false
	}
	if a, b := direction(sel[k]), direction(nv); a != "" && b != "" && a != b {
		return nil, false
	}
	want := maps.Clone(sel)
	want[k] = nv
	return want, true
}

// direction returns "ingress" or "egress" when a label value names one.
func direction(v string) string {
	v = strings.ToLower(v)
	switch {
	case strings.Contains(v, "ingress"):
		return "ingress"
	case strings.Contains(v, "egress"):
		return "egress"
	}
	return ""
}

// labelString writes labels as k=v,k=v in key order.
func labelString(l map[string]string) string {
	var s []string
	for _, k := range objects.SortedKeys(l) {
		s = append(s, k+"="+l[k])
	}
	return strings.Join(s, ",")
}
