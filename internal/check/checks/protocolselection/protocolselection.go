// Package protocolselection finds Service ports whose name or appProtocol
// makes Istio treat HTTP traffic as opaque TCP.
package protocolselection

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Check is MD0502.
var Check = &check.Check{
	Code: "MD0502", Name: "http-routes-on-tcp-port", Severity: check.Warning,
	Doc: check.Doc{
		Title: "HTTP routes to a Service port declared as TCP",
		What: "A Service port whose name prefix (tcp-, mongo-, mysql-, redis-) or appProtocol declares TCP, while " +
			"VirtualService http routes send traffic to it.",
		Why: "An explicit protocol turns Istio's protocol detection off: the port is proxied as opaque TCP " +
			"(https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/; " +
			"pkg/config/kube/conversion.go ConvertProtocol), so HTTP routing, retries, header matches and HTTP " +
			"authorization fields never apply to it.",
		Example: "ports:\n- name: tcp-web   # serves HTTP\n  port: 80",
		Fix:     "Name the port http-<suffix> (or set appProtocol: http), or leave the prefix off to let Istio detect it. meshdoctor proposes appProtocol: http when appProtocol is tcp, and the name http-<suffix> for a tcp-<suffix> port; a mongo, mysql or redis port gets no fix.",
	},
	Run: run,
}

func run(p *check.Pass) {
	// RoutesTo costs a pass over the VirtualServices: ask it only for the
	// Services that have a TCP port and that some http route names.
	named := map[*mesh.Service]bool{}
	for _, vs := range p.X.VirtualServices {
		for _, r := range vs.Spec.GetHttp() {
			for _, d := range r.GetRoute() {
				svcs, _ := p.Engine.ConfigHostMatches(vs.Namespace, d.GetDestination().GetHost())
				for _, s := range svcs {
					named[s] = true
				}
			}
		}
	}
	for _, svc := range p.X.Services {
		if !named[svc] || !hasTCP(svc) {
			continue
		}
		routes := p.Engine.RoutesTo(svc)
		for i := range svc.Ports {
			sp := &svc.Ports[i]
			if resolve.ServicePortProtocol(sp) != "tcp" {
				continue
			}
			var vss []string
			seen := map[string]bool{}
			for _, r := range routes {
				if r.Kind != "http" || (r.Port != 0 && r.Port != sp.Port) || (r.Port == 0 && len(svc.Ports) > 1) {
					continue
				}
				k := r.VirtualService.Namespace + "/" + r.VirtualService.Name
				if !seen[k] {
					seen[k] = true
					vss = append(vss, k)
				}
			}
			if len(vss) == 0 {
				continue
			}
			sort.Strings(vss)
			how := fmt.Sprintf("name %q", sp.Name)
			switch resolve.ServicePortProtocolBy(sp) {
			case resolve.ProtocolByAppProtocol:
				how = fmt.Sprintf("appProtocol %q", sp.AppProtocol)
			case resolve.ProtocolByNumber:
				// Neither says a protocol: Istio makes the well-known ports
				// 25, 53, 3306 and 27017 TCP (conversion.go wellKnownPorts).
				how = fmt.Sprintf("number (Istio treats port %d as TCP when neither its name %q nor an appProtocol says a protocol)", sp.Port, sp.Name)
			}
			f := p.Reportf(svc.Obj, sp.Path, "port %d of Service %s is declared TCP by its %s, so Istio proxies it as opaque TCP and the http routes of VirtualService %s never apply to it",
				sp.Port, svc.Key(), how, strings.Join(vss, ", "))
			if p.Fixes() {
				f.ProposeFunc(func() []check.Candidate {
					if c, ok := declareHTTP(svc, sp); ok {
						return []check.Candidate{c}
					}
					return nil
				})
			}
		}
	}
}

// declareHTTP proposes to declare a port that its name or appProtocol
// declares plain TCP as HTTP, the way it declares TCP now. Istio reads
// appProtocol first and the port name's prefix (before the first "-") only
// without one (pilot/pkg/serviceregistry/kube/conversion.go ConvertService
// calls pkg/config/kube/conversion.go ConvertProtocol, which parses the
// prefix with pkg/config/protocol Parse): appProtocol tcp becomes http; a name tcp or
// tcp-<suffix> becomes http or http-<suffix>, unless another port of the
// Service has that name (Service port names are unique). Ports declared as
// mongo, mysql or redis get no fix: they most likely speak that protocol,
// and it is the http routes that are wrong.
func declareHTTP(svc *mesh.Service, sp *mesh.ServicePort) (check.Candidate, bool) {
	if sp.AppProtocol != "" {
		if !strings.EqualFold(sp.AppProtocol, "tcp") {
			return check.Candidate{}, false
		}
		ch, err := trace.Edit(svc.Obj, sp.Path+".appProtocol", func(any) (any, bool) { return "http", false })
		if err != nil {
			return check.Candidate{}, false
		}
		return check.Candidate{Summary: fmt.Sprintf("set appProtocol http on port %d of Service %s so that Istio routes it as HTTP", sp.Port, svc.Key()),
			Changes: []trace.Change{ch}}, true
	}
	prefix, suffix, _ := strings.Cut(sp.Name, "-")
	if !strings.EqualFold(prefix, "tcp") {
		return check.Candidate{}, false
	}
	name := "http"
	if suffix != "" {
		name += "-" + suffix
	}
	if len(name) > 63 { // a DNS label
		return check.Candidate{}, false
	}
	for i := range svc.Ports {
		if svc.Ports[i].Name == name {
			return check.Candidate{}, false
		}
	}
	ch, err := trace.Edit(svc.Obj, sp.Path+".name", func(any) (any, bool) { return name, false })
	if err != nil {
		return check.Candidate{}, false
	}
	return check.Candidate{Summary: fmt.Sprintf("rename port %d of Service %s from %s to %s so that Istio routes it as HTTP", sp.Port, svc.Key(), sp.Name, name),
		Changes: []trace.Change{ch}}, true
}

func hasTCP(svc *mesh.Service) bool {
	for i := range svc.Ports {
		if resolve.ServicePortProtocol(&svc.Ports[i]) == "tcp" {
			return true
		}
	}
	return false
}
