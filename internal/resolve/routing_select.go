package resolve

import (
	"fmt"
	"strings"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// GatewayServer is one server of a Gateway resource that selects a gateway
// workload, as the gateway is configured with it.
type GatewayServer struct {
	Gateway *mesh.Gateway `json:"-"`
	// Index is the server's index in spec.servers.
	Index int `json:"index"`
	// Port is the port as written, ListenPort the port the gateway pod listens
	// on (a port of a Service selecting the gateway maps to its targetPort).
	Port       uint32   `json:"port"`
	ListenPort uint32   `json:"listen_port"`
	Protocol   string   `json:"protocol"`
	Hosts      []string `json:"hosts"`
	// TLSMode is the server's tls.mode ("" without a tls block).
	TLSMode string `json:"tls_mode,omitempty"`
	// Rejected says why Istio skips the server when merging, "" when it is used.
	Rejected string `json:"rejected,omitempty"`
	Decision
}

// GatewayServers lists the servers of the Gateway resources that select the
// gateway workload gw (push_context.go mergeGateways: a Gateway without
// selector applies to every gateway, otherwise its selector must be a subset
// of the pod labels; Gateways of any namespace apply while
// PILOT_SCOPE_GATEWAY_TO_NAMESPACE is off), in Istio's merge order, with the
// listen port and the servers Istio rejects (model/gateway.go). It is empty for
// a workload that no Gateway selects.
func (e *Engine) GatewayServers(gw *mesh.Workload) []GatewayServer {
	if gw == nil {
		return nil
	}
	v := e.gatewayView(gw)
	var out []GatewayServer
	for _, s := range v.servers {
		gs := GatewayServer{
			Gateway: s.gw, Index: s.index, Port: s.s.GetPort().GetNumber(), ListenPort: s.port,
			Protocol: s.s.GetPort().GetProtocol(), Hosts: append([]string(nil), s.hosts...), Rejected: s.rejected,
		}
		if t := s.s.GetTls(); t != nil {
			gs.TLSMode = t.GetMode().String()
		}
		path := objects.Index("spec.servers", s.index)
		gs.By = []objects.Ref{s.gw.Obj.Ref(path)}
		sel := "it has no selector, so it applies to every gateway"
		if len(s.gw.Spec.GetSelector()) > 0 {
			sel = fmt.Sprintf("its selector %s matches the pod labels of %s", secLabelString(s.gw.Spec.GetSelector()), gw.Key())
			gs.By = append(gs.By, s.gw.Obj.Ref("spec.selector"))
		}
		gs.Reason = fmt.Sprintf("Gateway %s/%s server %d: %s", s.gw.Namespace, s.gw.Name, s.index, sel)
		if gs.ListenPort != gs.Port {
			gs.Reason += fmt.Sprintf("; port %d listens on the gateway pod's port %d", gs.Port, gs.ListenPort)
		}
		if s.rejected != "" {
			gs.Reason += "; " + s.rejected
		}
		for _, a := range v.assumed {
			if strings.Contains(a, "Gateway "+s.gw.Namespace+"/"+s.gw.Name+" ") {
				gs.Assume(a)
			}
		}
		if gw.Implicit {
			gs.AssumeKey(e.X, mesh.AssumeIngressGateway)
			if len(v.services) == 0 && gs.ListenPort != gs.Port {
				gs.Assume(fmt.Sprintf("the gateway's Service is not in the input: meshdoctor assumes Istio's default ingress gateway Service (port %d -> target port %d, gateways/istio-ingress chart)", gs.Port, gs.ListenPort))
			}
		}
		out = append(out, gs)
	}
	return out
}

// RouteTo is one route of a VirtualService that sends traffic to a service.
type RouteTo struct {
	VirtualService *mesh.VirtualService `json:"-"`
	// Delegate is the delegate VirtualService the route is written in, if any.
	Delegate *mesh.VirtualService `json:"-"`
	// Kind is http, tcp or tls; Route is the route's field path in the object
	// it is written in (the delegate's for a delegated route).
	Kind  string `json:"kind"`
	Route string `json:"route"`
	// Port and Subset are the destination's (0 when not written).
	Port   int32  `json:"port,omitempty"`
	Subset string `json:"subset,omitempty"`
	Weight int32  `json:"weight"`
	// Gateways are the gateways the VirtualService is bound to, resolved to
	// "ns/name", or "mesh" for sidecars.
	Gateways []string `json:"gateways"`
	Decision
}

// RoutesTo lists the VirtualService routes (http, with delegates merged in,
// tcp and tls) whose destination host is svc: destination hosts resolve in the
// namespace the route is written in (ResolveShortnameToFQDN). Whether a route
// is reached depends on its match and on the routes before it; RoutesTo only
// says that it names the service.
func (e *Engine) RoutesTo(svc *mesh.Service) []RouteTo {
	if svc == nil {
		return nil
	}
	ix := e.vsIdx()
	var ents []*vsEntry
	seen := map[*vsEntry]bool{}
	for _, l := range ix.byGateway {
		for _, ent := range l {
			if !seen[ent] {
				seen[ent] = true
				ents = append(ents, ent)
			}
		}
	}
	// Creation order, as Istio lists VirtualServices.
	for i := 1; i < len(ents); i++ {
		for j := i; j > 0 && ents[j].seq < ents[j-1].seq; j-- {
			ents[j], ents[j-1] = ents[j-1], ents[j]
		}
	}
	var out []RouteTo
	add := func(ent *vsEntry, obj *objects.Object, delegate *mesh.VirtualService, kind, path, hostNS string, dst *networking.Destination, weight int32, nDest int) {
		if routeResolveShortname(dst.GetHost(), hostNS) != svc.Host {
			return
		}
		if nDest == 1 {
			weight = 100
		}
		r := RouteTo{VirtualService: ent.vs, Delegate: delegate, Kind: kind, Route: path, Subset: dst.GetSubset(), Weight: weight, Gateways: append([]string(nil), ent.gateways...)}
		if dst.GetPort() != nil {
			r.Port = int32(dst.GetPort().GetNumber())
		}
		r.By = []objects.Ref{obj.Ref(path + ".destination.host")}
		r.Reason = fmt.Sprintf("VirtualService %s/%s %s sends %s traffic to %s", ent.vs.Namespace, ent.vs.Name, path, kind, svc.Host)
		if delegate != nil {
			r.Reason = fmt.Sprintf("VirtualService %s/%s delegates to %s/%s, whose %s sends %s traffic to %s", ent.vs.Namespace, ent.vs.Name, delegate.Namespace, delegate.Name, path, kind, svc.Host)
			r.By = append(r.By, ent.vs.Obj.Ref("spec.http"))
		}
		if len(ent.gateways) > 0 {
			r.By = append(r.By, ent.vs.Obj.Ref("spec.gateways"))
		}
		out = append(out, r)
	}
	for _, ent := range ents {
		for _, fr := range ent.http {
			for i, d := range fr.dests {
				add(ent, fr.obj, fr.delegate, "http", objects.Index(fr.path+".route", i), fr.hostNS, d.GetDestination(), d.GetWeight(), len(fr.dests))
			}
		}
		for i, t := range ent.vs.Spec.GetTcp() {
			for j, d := range t.GetRoute() {
				add(ent, ent.vs.Obj, nil, "tcp", objects.Index(objects.Index("spec.tcp", i)+".route", j), ent.vs.Namespace, d.GetDestination(), d.GetWeight(), len(t.GetRoute()))
			}
		}
		for i, t := range ent.vs.Spec.GetTls() {
			for j, d := range t.GetRoute() {
				add(ent, ent.vs.Obj, nil, "tls", objects.Index(objects.Index("spec.tls", i)+".route", j), ent.vs.Namespace, d.GetDestination(), d.GetWeight(), len(t.GetRoute()))
			}
		}
	}
	return out
}
