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
	r.hop("destination", HopOK, fmt.Sprintf("Service %s port %d (%s), target port %s%s",
		r.svc.Key(), sp.Port, portProto(sp, r.http), sp.TargetPort.String(), subsetText(r.subset)),
		resolve.Decision{By: []objects.Ref{r.svc.Obj.Ref(sp.Path)}})

	// DestinationRule: only proxies apply one.
	var subsetLabels map[string]string
	var drd resolve.DRDecision
	if r.viaProxy {
		drd = r.e.DestinationRule(r.client, r.svc.Host)
		if r.subset != "" {
			labels, ok := drd.Subset(r.subset)
			if !ok {
				d := drd.Decision
				r.hop("destinationrule", HopFail, fmt.Sprintf("the route names subset %q but the DestinationRule the client uses for %s defines no such subset, so Envoy has no cluster for it", r.subset, r.svc.Host), d)
				r.fail(CauseUnknownSubset, &failure{dr: &drd})
				return
			}
			subsetLabels = labels
		}
		status := HopInfo
		r.hop("destinationrule", status, drd.Reason, drd.Decision)
	}

	eps := r.e.Endpoints(r.svc, sp, subsetLabels)
	if len(eps) == 0 {
		d := resolve.Decision{By: []objects.Ref{r.svc.Obj.Ref("spec.selector")}}
		reason := fmt.Sprintf("Service %s selects no pods", r.svc.Key())
		if len(subsetLabels) > 0 {
			reason = fmt.Sprintf("no pod of Service %s has the labels of subset %q", r.svc.Key(), r.subset)
		}
		r.hop("endpoints", HopFail, reason, d)
		r.fail(CauseNoEndpoints, &failure{detail: reason})
		return
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
	epd := resolve.Decision{By: []objects.Ref{r.svc.Obj.Ref("spec.selector")}}
	for _, ep := range eps {
		epd.Merge(ep.Decision)
	}
	r.hop("endpoints", HopOK, "pods: "+strings.Join(names, "; "), epd)

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
	r.hop("client tls", HopInfo, fmt.Sprintf("to %s: %s", w.Key(), tls.Reason), tls.Decision)
	if r.t.Security == "" {
		r.t.Security = tls.Mode
	}

	appOK := func() bool {
		if !tp.Found || listen.Listening == "no" {
			reason := listen.Reason
			if !tp.Found {
				reason = tp.Reason
			}
			d := listen.Decision
			d.Merge(tp.Decision)
			r.hop("application", HopFail, reason, d)
			r.fail(CausePortNotListening, &failure{endpoint: w, port: ep.TargetPort, listen: &listen, target: &tp, detail: reason})
			return false
		}
		return true
	}

	// Without a sidecar on the server, the client's TCP connect reaches the
	// application's port directly: a refusal comes before any TLS.
	if !srv.HasProxy && !appOK() {
		return false
	}
	acc := r.e.ServerAccepts(w, ep.TargetPort, tls, proto)
	if acc.Security != "" {
		r.t.Security = acc.Security
	}
	if !acc.Accepted {
		r.hop("server inbound", HopFail, acc.Reason, acc.Decision)
		mt := r.e.ServerMTLS(w, ep.TargetPort)
		r.fail(acc.Cause, &failure{endpoint: w, port: ep.TargetPort, tls: &tls, accept: &acc, mtlsDec: &mt})
		return false
	}
	r.hop("server inbound", HopOK, acc.Reason, acc.Decision)

	if srv.HasProxy {
		areq := resolve.AuthzRequest{
			Port:    ep.TargetPort,
			Host:    r.tgt.Host,
			Method:  r.opts.Method,
			Path:    r.tgt.Path,
			Headers: r.opts.Headers,
			HTTP:    r.http,
		}
		if areq.Method == "" {
			areq.Method = "GET"
		}
		if acc.Security == "mtls" {
			areq.Principal = r.e.Principal(r.client)
			areq.Namespace = r.client.Namespace
		}
		az := r.e.Authorize(w, areq)
		if !az.Allowed {
			r.hop("authorization", HopFail, az.Reason, az.Decision)
			r.fail(CauseAuthzDenied, &failure{endpoint: w, port: ep.TargetPort, authz: &az, tls: &tls})
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

// verdict turns the first failure into what the user sees.
func (r *request) verdict() {
	t := r.t
	if r.failed == nil {
		t.Result = ResultOK
		t.Summary = fmt.Sprintf("the request reaches %s", r.svc.Key())
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
	if t.Cause == CauseUnknownHost && r.e.X.Mesh.OutboundPolicy == mesh.OutboundAllowAny && r.viaProxy {
		// ALLOW_ANY: the sidecar forwards unknown hosts to PassthroughCluster
		// (pilot/pkg/networking/core/cluster_builder.go buildDefaultPassthroughCluster).
		t.HTTPStatus = 0
		t.Envoy = Envoy{ResponseFlags: "", Message: "the host is not in the mesh registry: the sidecar passes the request through (PassthroughCluster, plaintext) and DNS decides"}
	}
}
