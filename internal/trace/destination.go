package trace

import (
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// destination follows the request from the routed service to the application:
// DestinationRule and client TLS, endpoints, server inbound, authorization and
// the application port.
func (r *request) destination() {
	sp := r.port
	if r.keep() {
		r.hop("destination", HopOK, fmt.Sprintf("Service %s port %d (%s), target port %s%s",
			r.svc.Key(), sp.Port, portProto(sp, r.http), sp.TargetPort.String(), subsetText(r.subset)),
			resolve.Decision{By: []objects.Ref{r.svc.Obj.Ref(sp.Path)}})
	}

	// DestinationRule: only proxies apply one.
	var subsetLabels map[string]string
	var drd resolve.DRDecision
	if r.viaProxy {
		drd = r.e.DestinationRule(r.client, r.svc.Host)
		if r.subset != "" {
			labels, ok := drd.Subset(r.subset)
			if !ok {
				d := drd.Decision
				d.By = append([]objects.Ref(nil), d.By...)
				var have []string
				reason := fmt.Sprintf("the route names subset %q but no DestinationRule the client uses for %s defines it", r.subset, r.svc.Host)
				if m := drd.Rule; m != nil {
					for _, dr := range m.Rules {
						d.By = append(d.By, dr.Obj.Ref("spec.subsets"))
					}
					for _, ss := range m.Subsets {
						have = append(have, ss.Name)
					}
					reason = fmt.Sprintf("the route names subset %q but DestinationRule %s, the one the client uses for %s, defines no such subset", r.subset, m.Name(), r.svc.Host)
					if len(have) > 0 {
						reason += " (it defines " + strings.Join(have, ", ") + ")"
					}
				}
				reason += fmt.Sprintf(", so Envoy has no cluster outbound|%d|%s|%s", sp.Port, r.subset, r.svc.Host)
				r.hop("destinationrule", HopFail, reason, d)
				r.fail(CauseUnknownSubset, &failure{dr: &drd})
				return
			}
			subsetLabels = labels
		}
		status := HopInfo
		r.hop("destinationrule", status, drd.Reason, drd.Decision)
	}

	set := r.e.EndpointSet(r.svc, sp, subsetLabels)
	eps := set.Endpoints
	if len(eps) == 0 {
		d := resolve.Decision{By: []objects.Ref{r.svc.Obj.Ref("spec.selector")}}
		if len(set.By) > 0 {
			d = set.Decision
		}
		reason := set.Reason
		if reason == "" {
			reason = fmt.Sprintf("Service %s selects no pods", r.svc.Key())
			if len(subsetLabels) > 0 {
				reason = fmt.Sprintf("no pod of Service %s has the labels of subset %q", r.svc.Key(), r.subset)
			}
		}
		r.hop("endpoints", HopFail, reason, d)
		r.fail(CauseNoEndpoints, &failure{detail: reason})
		return
	}
	if !r.keep() {
		for _, ep := range eps {
			r.assumed = append(r.assumed, ep.Assumptions...)
		}
	} else {
		epd := resolve.Decision{By: []objects.Ref{r.svc.Obj.Ref("spec.selector")}}
		for _, ep := range eps {
			epd.Merge(ep.Decision)
		}
		var names []string
		for _, ep := range eps {
			sc := r.e.Sidecar(ep.Workload)
			side := "no sidecar"
			if sc.HasProxy {
				side = "sidecar"
			}
			names = append(names, fmt.Sprintf("%s (%s, %s)", ep.Workload.Key(), side, r.e.Identity(ep.Workload)))
		}
		r.hop("endpoints", HopOK, "pods: "+strings.Join(names, "; "), epd)
	}

	// Each endpoint workload may decide differently; the first that fails
	// decides the verdict (Envoy balances over all of them).
	for _, ep := range eps {
		if !r.endpoint(ep, subsetLabels) {
			return
		}
	}
}

// endpoint checks one endpoint; it returns false when the request fails there.
func (r *request) endpoint(ep resolve.Endpoint, subsetLabels map[string]string) bool {
	w := ep.Workload
	srv := r.e.Sidecar(w)
	tls := r.e.ClientTLS(r.client, r.svc, r.port, r.subset, w, ep.TargetPort)
	tp := r.e.TargetPort(r.svc, r.port, w)
	listen := r.e.Listening(w, ep.TargetPort)
	proto := "tcp"
	if r.http {
		proto = "http"
	}
	if r.keep() {
		r.hop("client tls", HopInfo, fmt.Sprintf("to %s: %s", w.Key(), tls.Reason), tls.Decision)
	} else {
		r.hop("client tls", HopInfo, "", tls.Decision)
	}
	if r.t.Security == "" {
		r.t.Security = tls.Mode
	}

	appOK := func() bool {
		if !tp.Found || listen.Listening == "no" {
			reason := listen.Reason
			if !tp.Found {
				reason = tp.Reason
				if tp.Name == "" {
					// A numeric targetPort no container declares: SPEC.md counts
					// it as PORT_NOT_LISTENING, on the assumption that the
					// application listens where its containers say.
					reason = fmt.Sprintf("Service %s port %d targets port %d, which no container of %s declares (%s): nothing accepts the connection there", r.svc.Key(), r.port.Port, tp.Port, w.Key(), declaredPorts(w))
					r.assumed = append(r.assumed, fmt.Sprintf("the application of %s listens only on the ports its containers declare (Kubernetes does not require declaring them)", w.Key()))
				}
			}
			d := listen.Decision
			d.Merge(tp.Decision)
			r.hop("application", HopFail, reason, d)
			// Copies: taking the locals' addresses would move them to the
			// heap on every endpoint of every path, not only on a failure.
			l, t := listen, tp
			r.fail(CausePortNotListening, &failure{endpoint: w, port: ep.TargetPort, listen: &l, target: &t, detail: reason})
			return false
		}
		return true
	}

	// Without a sidecar on the server, or on a port its sidecar does not
	// capture, the client's TCP connect reaches the application's port
	// directly: a refusal comes before any TLS.
	captured := r.e.InboundCapture(w, ep.TargetPort).Captured // true without a sidecar
	if (!srv.HasProxy || !captured) && !appOK() {
		return false
	}
	acc := r.e.ServerAccepts(w, ep.TargetPort, tls, proto)
	if acc.Security != "" {
		r.t.Security = acc.Security
	}
	if !acc.Accepted {
		r.hop("server inbound", HopFail, acc.Reason, acc.Decision)
		mt := r.e.ServerMTLS(w, ep.TargetPort)
		c, a := tls, acc
		r.fail(acc.Cause, &failure{endpoint: w, port: ep.TargetPort, tls: &c, accept: &a, mtlsDec: &mt})
		return false
	}
	r.hop("server inbound", HopOK, acc.Reason, acc.Decision)

	// Authorization runs in the inbound listener: a port the sidecar does
	// not capture has none.
	if srv.HasProxy && captured {
		areq := resolve.AuthzRequest{
			Port:    ep.TargetPort,
			Host:    r.tgt.Host,
			Method:  r.opts.Method,
			Path:    r.tgt.Path,
			Headers: r.opts.Headers,
			HTTP:    r.http,

			AnyRequest: r.opts.AnyRequest,
		}
		if areq.Method == "" {
			areq.Method = "GET"
		}
		if acc.Security == "mtls" {
			areq.Principal = r.e.Principal(r.client)
			areq.Namespace = r.client.Namespace
		}
		az := r.e.Authorize(w, areq)
		r.t.AuthzEvaluated = true
		if !az.Allowed {
			r.hop("authorization", HopFail, az.Reason, az.Decision)
			a, c := az, tls
			r.fail(CauseAuthzDenied, &failure{endpoint: w, port: ep.TargetPort, authz: &a, tls: &c})
			return false
		}
		r.hop("authorization", HopOK, az.Reason, az.Decision)
		if !appOK() {
			return false
		}
	}
	if listen.Listening == "yes" || listen.Listening == "unknown" {
		r.hop("application", HopOK, listen.Reason, listen.Decision)
	}
	return true
}

// declaredPorts lists the ports the containers of w declare, for a message.
func declaredPorts(w *mesh.Workload) string {
	var ps []string
	for _, c := range w.Containers {
		if c.Init && !c.RestartAlways {
			continue
		}
		for _, p := range c.Ports {
			ps = append(ps, fmt.Sprint(p.Port))
		}
	}
	if len(ps) == 0 {
		return "they declare no port"
	}
	return "they declare " + strings.Join(ps, ", ")
}

func portProto(p *mesh.ServicePort, http bool) string {
	s := "TCP"
	if http {
		s = "HTTP"
	}
	if p.Name != "" {
		s += ", port name " + p.Name
	}
	return s
}

func subsetText(s string) string {
	if s == "" {
		return ""
	}
	return ", subset " + s
}

// serviceEntryDestination ends a trace whose route sends to a ServiceEntry
// host: the proxy applies the DestinationRule's TLS, if any; auto mTLS does
// not apply to a MESH_EXTERNAL entry (BestEffortInferServiceMTLSMode returns
// MTLSUnknown for meshExternal, so buildUpstreamTLSSettings sets no TLS).
// meshdoctor does not follow the entry's endpoints: what answers there is
// outside the input, and the trace says so.
func (r *request) serviceEntryDestination() {
	se := r.se
	loc := "MESH_EXTERNAL"
	if se.Spec.GetLocation().String() == "MESH_INTERNAL" {
		loc = "MESH_INTERNAL"
	}
	r.hop("destination", HopInfo, fmt.Sprintf("ServiceEntry %s/%s (%s, resolution %s) port %d%s: the proxy sends the request to the endpoints the entry names, which meshdoctor does not follow",
		se.Namespace, se.Name, loc, se.Spec.GetResolution().String(), r.sePort, subsetText(r.subset)), resolve.Decision{By: []objects.Ref{se.Obj.Ref("spec.hosts")}})
	r.assumed = append(r.assumed, fmt.Sprintf("the endpoints of ServiceEntry %s/%s accept the request (they are outside the input)", se.Namespace, se.Name))
	security := resolve.TLSPlaintext
	if r.tgt.Scheme == "https" {
		security = resolve.TLSSimple // the application originates TLS itself
	}
	reason := "no DestinationRule sets TLS for this host"
	var d resolve.Decision
	drTLS := false
	if r.viaProxy {
		drd := r.e.DestinationRule(r.client, r.host)
		d = drd.Decision
		if m := drd.Rule; m != nil {
			if _, ok := m.Subset(r.subset); r.subset != "" && !ok {
				r.hop("destinationrule", HopFail, fmt.Sprintf("the route names subset %q but DestinationRule %s defines no such subset, so Envoy has no cluster outbound|%d|%s|%s", r.subset, m.Name(), r.sePort, r.subset, r.host), d)
				r.fail(CauseUnknownSubset, &failure{dr: &drd})
				return
			}
			tls := m.TLS(r.sePort, r.subset)
			reason = tls.Reason
			drTLS = tls.Settings != nil
			if tls.Settings != nil {
				d.By = append(d.By, tls.Ref())
				switch tls.Mode() {
				case "DISABLE":
				case "ISTIO_MUTUAL":
					security = resolve.TLSMutualIstio
				default:
					security = resolve.TLSSimple
				}
			}
		} else if r.subset != "" {
			r.hop("destinationrule", HopFail, fmt.Sprintf("the route names subset %q but no DestinationRule defines subsets for %s, so Envoy has no cluster outbound|%d|%s|%s", r.subset, r.host, r.sePort, r.subset, r.host), d)
			r.fail(CauseUnknownSubset, &failure{dr: &drd})
			return
		}
		auto := "auto mTLS does not apply to a MESH_EXTERNAL host"
		switch {
		case drTLS:
			auto = "the proxy applies it"
		case loc == "MESH_INTERNAL":
			auto = "under auto mTLS the entry's endpoints decide (meshdoctor does not follow them)"
			r.assumed = append(r.assumed, fmt.Sprintf("the endpoints of the MESH_INTERNAL ServiceEntry %s/%s have no sidecar, so auto mTLS sends them what the client sends", se.Namespace, se.Name))
		}
		r.hop("client tls", HopInfo, fmt.Sprintf("to %s: %s; %s: %s", r.host, reason, auto, security), d)
	}
	r.t.Security = security
}

// verdict turns the first failure into what the user sees.
func (r *request) verdict() {
	t := r.t
	if r.failed == nil {
		t.Result = ResultOK
		target := r.host
		if r.svc != nil {
			target = r.svc.Key()
		}
		t.Summary = fmt.Sprintf("the request reaches %s", target)
		if t.Security != "" {
			t.Summary += " over " + t.Security
		}
		return
	}
	t.Cause = r.failed.cause
	t.Result = ResultFail
	if t.Cause == CauseAuthzDenied {
		t.Result = ResultDenied
	}
	t.HTTPStatus, t.Envoy = response(t.Cause, r.viaProxy, r.http)
	for i := len(t.Hops) - 1; i >= 0; i-- {
		if t.Hops[i].Status == HopFail {
			t.Summary = t.Hops[i].Detail
			break
		}
	}
	if t.Cause == CauseUnknownHost && r.viaProxy {
		switch r.routeAction {
		case resolve.ActionPassthrough:
			// ALLOW_ANY: the sidecar forwards a host it does not know to
			// PassthroughCluster (pilot/pkg/networking/core/cluster_builder.go
			// buildDefaultPassthroughCluster).
			t.HTTPStatus = 0
			t.Envoy = Envoy{Message: "the host is not in the mesh registry: the sidecar passes the request through (PassthroughCluster, plaintext) and DNS decides"}
		case resolve.ActionBlackhole:
			// REGISTRY_ONLY: the block_all virtual host answers 502 directly
			// (pilot/pkg/networking/core/httproute.go).
		default:
			// A route (a gateway's, or a VirtualService's) sends to a host that
			// is in no registry: pilot still names the cluster
			// outbound|port|subset|host (route/route.go GetDestinationCluster)
			// but builds none, so Envoy answers 503 NC with an empty body.
			t.HTTPStatus = 503
			t.Envoy = Envoy{ResponseFlags: "NC", Details: "cluster_not_found"}
		}
	}
}
