package resolve

import (
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// ConfigHostMatches returns the Services and ServiceEntries whose hosts a
// host written in a DestinationRule or VirtualService of namespace ns
// covers: the host is resolved as Istio resolves config hosts
// (pilot/pkg/model/config.go ResolveShortnameToFQDN: a name without a dot is
// name.<ns>.svc.<domain>), then matched with wildcards on either side
// (pkg/config/host/name.go Name.Matches). It serves package check, which must
// not re-implement either rule.
func (e *Engine) ConfigHostMatches(ns, host string) ([]*mesh.Service, []*mesh.ServiceEntry) {
	h := drResolveHost(host, ns)
	var svcs []*mesh.Service
	if !strings.HasPrefix(h, "*") {
		// An exact host names at most one Service: no scan.
		if s := e.X.ServiceByHost(h); s != nil {
			svcs = append(svcs, s)
		}
	} else {
		for _, s := range e.X.Services {
			if routeHostMatches(h, s.Host) {
				svcs = append(svcs, s)
			}
		}
	}
	var ses []*mesh.ServiceEntry
	for _, se := range e.X.ServiceEntries {
		for _, sh := range se.Spec.GetHosts() {
			if routeHostMatches(h, drResolveHost(sh, se.Namespace)) {
				ses = append(ses, se)
				break
			}
		}
	}
	return svcs, ses
}

// VirtualServiceGateways returns the gateways a VirtualService binds to,
// each resolved to "ns/name" or "mesh" (pilot/pkg/model/config.go
// resolveGatewayName); a VirtualService that names none binds to "mesh"
// (virtual_service.proto gateways: "If this field is omitted, the default
// gateway (mesh) will be used").
func VirtualServiceGateways(vs *mesh.VirtualService) []string {
	gs := vs.Spec.GetGateways()
	if len(gs) == 0 {
		return []string{"mesh"}
	}
	return routeResolveGateways(gs, vs.Namespace)
}

// GatewayServesHost reports whether a Gateway server with hosts serverHosts
// ("host" or "namespace/host") accepts a VirtualService of namespace vsNS for
// host vsHost (pilot/pkg/networking/core/gateway.go pickMatchingGatewayHosts:
// a "ns/" prefix restricts the server to VirtualServices of that namespace,
// "./" to the Gateway's own namespace gwNS, "*/" to any; hosts match with
// wildcards, pkg/config/host/name.go Name.Matches; the namespace forms are
// those of networking/v1alpha3/gateway.proto Server.hosts).
func GatewayServesHost(serverHosts []string, gwNS, vsNS, vsHost string) bool {
	for _, gh := range serverHosts {
		if ns, name, ok := cutHostNamespace(gh); ok {
			if ns == "." {
				ns = gwNS
			}
			if ns != "*" && ns != vsNS {
				continue
			}
			gh = name
		}
		if routeHostMatches(gh, vsHost) {
			return true
		}
	}
	return false
}

func cutHostNamespace(h string) (string, string, bool) {
	for i := 0; i < len(h); i++ {
		if h[i] == '/' {
			return h[:i], h[i+1:], true
		}
	}
	return "", h, false
}

// ServicePortProtocol is Istio's protocol selection for a Service port
// (see routePortProtocol: appProtocol, else the port name's prefix; anything
// else is auto-detected): "http", "tcp", "tls", "udp" or "auto".
func ServicePortProtocol(sp *mesh.ServicePort) string { return routePortProtocol(sp) }

// ServicePortProtocolBy says what decided a Service port's protocol: one of
// the ProtocolBy constants, or "" when it is auto-detected.
func ServicePortProtocolBy(sp *mesh.ServicePort) string {
	_, by := portProtocol(sp)
	return by
}

// EndpointPort returns the pod port that Service port sp sends to on w, and
// whether w is an endpoint of it (EndpointSet decides: the selector, named
// target ports, replicas, live pods).
func (e *Engine) EndpointPort(svc *mesh.Service, sp *mesh.ServicePort, w *mesh.Workload) (int32, bool) {
	// Only a workload the selector picks can be an endpoint (endpointSet
	// starts from selectWorkloads): a check asking about every Service of a
	// namespace need not decide the endpoints of the others.
	if svc.Type == "ExternalName" || len(svc.Selector) == 0 || w.Namespace != svc.Namespace || !mesh.SubsetOf(svc.Selector, w.Labels) {
		return 0, false
	}
	for _, ep := range e.EndpointSet(svc, sp, nil).Endpoints {
		if ep.Workload == w {
			return ep.TargetPort, true
		}
	}
	return 0, false
}
