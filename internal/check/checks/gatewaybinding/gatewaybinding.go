// Package gatewaybinding checks how VirtualServices bind to Gateways and
// Gateways to gateway workloads.
package gatewaybinding

import (
	"fmt"
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
		Fix:     "Write the Gateway as namespace/name.",
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
		Fix:     "Use the labels of the gateway Deployment's pods.",
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
			hint := ""
			name := g[strings.Index(g, "/")+1:]
			for key := range gws {
				if strings.HasSuffix(key, "/"+name) {
					hint = fmt.Sprintf(" (did you mean %s?)", key)
					break
				}
			}
			p.Reportf(vs.Obj, objects.Index("spec.gateways", i), "VirtualService %s/%s is bound to Gateway %s, which is not in the input, so its routes reach no gateway%s", vs.Namespace, vs.Name, g, hint)
		}
	}
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
		var l []string
		sel := g.Spec.GetSelector()
		for _, k := range objects.SortedKeys(sel) {
			l = append(l, k+"="+sel[k])
		}
		var names []string
		for _, w := range gwWorkloads {
			names = append(names, w.Kind+" "+w.Key())
		}
		p.Reportf(g.Obj, "spec.selector", "Gateway %s/%s selects %s, which matches none of the gateway workloads (%s), so its servers listen nowhere", g.Namespace, g.Name, strings.Join(l, ","), strings.Join(names, ", "))
	}
}
