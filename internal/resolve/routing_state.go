package resolve

import (
	"regexp"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// routingState holds the caches of routing, endpoint and authorization
// decisions. Every index is built lazily, once, on first use, so that a run
// that resolves every (client, service port) pair of a large mesh never scans
// all objects per call: lookups go through per-host, per-gateway and
// per-namespace maps.
type routingState struct {
	vs      *vsIndex                               // VirtualServices by gateway and host (vsIdx)
	se      *seIndex                               // ServiceEntry hosts (seIdx)
	svcByIP map[string]*mesh.Service               // ClusterIP -> Service
	svcVis  map[*mesh.Service]routeExportSet       // networking.istio.io/exportTo of Services
	gwViews map[*mesh.Workload]*gatewayView        // Gateways and Services of a gateway workload
	apByNS  map[string][]*mesh.AuthorizationPolicy // AuthorizationPolicies by namespace, creation order
	eps     map[endpointsKey]*EndpointsDecision    // endpoints per (service, port, subset)
	scByNS  map[string][]*mesh.Sidecar             // Sidecar resources by namespace (listen.go)
	gwHTTP  map[gwHTTPKey]*gwHTTPTable             // virtual hosts of a gateway's HTTP servers
	azSets  map[*mesh.Workload]*azSet              // AuthorizationPolicies that apply to a workload
	azRules map[*mesh.AuthorizationPolicy][]azRule // compiled rules of a policy
	listen  map[listenKey]*ListenDecision          // application listening per (workload, port)
	hosts   map[hostKey]*hostResult                // ResolveHost per (namespace, host)
	tports  map[tportKey]*TargetPortDecision       // TargetPort per (service, port, workload)
	sideRt  map[sidecarRouteKey]*RouteDecision     // RouteFromSidecar per (namespace, [labels], request)
	nsRegex map[string]*regexp.Regexp              // compiled AuthorizationPolicy namespace globs
}

type tportKey struct {
	svc  *mesh.Service
	port int32
	w    *mesh.Workload
}

// sidecarRouteKey identifies a sidecar routing decision: it depends on the
// client only through its namespace, and through its labels when some mesh
// VirtualService matches on sourceLabels.
type sidecarRouteKey struct {
	ns, labels, req string
}

// requestCacheMax bounds the caches keyed by request (sidecar routes, host
// resolution): they hold one entry per (namespace, request), which over every
// (client, service port) pair of a large mesh would grow without bound. When
// full they start over; callers that iterate clients namespace by namespace
// still hit them.
const requestCacheMax = 1 << 16

type listenKey struct {
	w    *mesh.Workload
	port int32
}

type hostKey struct{ ns, host string }

type hostResult struct {
	svc  *mesh.Service
	fqdn string
	d    Decision
}

// clipDecision returns d with its slices clipped, so that a caller appending
// to a cached decision never writes into the cache.
func clipDecision(d Decision) Decision {
	d.By = d.By[:len(d.By):len(d.By)]
	d.Assumptions = d.Assumptions[:len(d.Assumptions):len(d.Assumptions)]
	return d
}

// gwHTTPKey identifies the HTTP route configuration of a gateway workload for
// a set of its servers.
type gwHTTPKey struct {
	gw      *mesh.Workload
	servers string // server indexes in gatewayView.servers, comma-separated
}

// fullRegexps caches compiled, fully anchored regular expressions: Envoy's
// safe_regex matches the whole value (RE2), and policies and routes reuse the
// same few expressions on every request.
var fullRegexps sync.Map // string -> *regexp.Regexp (nil when invalid)

// fullRegexp returns the compiled ^(?:expr)$, or nil when expr is invalid.
func fullRegexp(expr string) *regexp.Regexp {
	if v, ok := fullRegexps.Load(expr); ok {
		return v.(*regexp.Regexp)
	}
	re, err := regexp.Compile("^(?:" + expr + ")$")
	if err != nil {
		re = nil
	}
	fullRegexps.Store(expr, re)
	return re
}

// endpointsKey identifies a cached endpoint set.
type endpointsKey struct {
	svc    *mesh.Service
	port   int32
	subset string // canonical "k=v,k=v"
}

// routeExportSet is a parsed exportTo list (VirtualService spec.exportTo,
// ServiceEntry spec.exportTo, Service annotation networking.istio.io/exportTo).
// Istio: pilot/pkg/model/virtualservice_controller.go convertExportToSet ("."
// becomes the object's own namespace) and push_context.go initVirtualServices
// ("*" makes it public and wins; "~" hides it from everyone).
type routeExportSet struct {
	public bool
	none   bool
	ns     map[string]bool
}

func parseRouteExportTo(list []string, ownNS string) routeExportSet {
	if len(list) == 0 {
		// meshConfig.defaultVirtualServiceExportTo / defaultServiceExportTo
		// default to "*" (push_context.go initDefaultExportMaps).
		return routeExportSet{public: true}
	}
	s := routeExportSet{ns: map[string]bool{}}
	for _, e := range list {
		e = strings.TrimSpace(e)
		switch e {
		case "*":
			s.public = true
		case "~":
			s.none = true
		case ".":
			s.ns[ownNS] = true
		case "":
		default:
			s.ns[e] = true
		}
	}
	return s
}

// visibleTo reports whether an object exported with s is visible in namespace
// ns, and its rank in Istio's order: 0 private (own namespace), 1 exported to
// ns by name, 2 public (push_context.go VirtualServicesForGateway and
// virtualservice.go SelectVirtualServices read the three lists in this order).
func (s routeExportSet) visibleTo(ns, ownNS string) (bool, int) {
	if s.public {
		return true, 2
	}
	if s.none {
		return false, 0
	}
	if s.ns[ns] {
		if ns == ownNS {
			return true, 0
		}
		return true, 1
	}
	return false, 0
}

// serviceVisible reports whether a Service is visible to proxies in namespace
// ns: the annotation networking.istio.io/exportTo, default "*"
// (push_context.go IsServiceVisible).
func (e *Engine) serviceVisible(svc *mesh.Service, ns string) bool {
	if e.rt.svcVis == nil {
		e.rt.svcVis = map[*mesh.Service]routeExportSet{}
	}
	s, ok := e.rt.svcVis[svc]
	if !ok {
		var list []string
		if svc.Obj != nil {
			if k, ok := svc.Obj.Typed.(*corev1.Service); ok {
				if v := k.Annotations["networking.istio.io/exportTo"]; v != "" {
					list = strings.Split(v, ",")
				}
			}
		}
		s = parseRouteExportTo(list, svc.Namespace)
		e.rt.svcVis[svc] = s
	}
	vis, _ := s.visibleTo(ns, svc.Namespace)
	return vis
}

// serviceByIP returns the Service whose ClusterIP is ip.
func (e *Engine) serviceByIP(ip string) *mesh.Service {
	if e.rt.svcByIP == nil {
		e.rt.svcByIP = map[string]*mesh.Service{}
		for _, s := range e.X.Services {
			if s.ClusterIP != "" && s.ClusterIP != "None" {
				if _, dup := e.rt.svcByIP[s.ClusterIP]; !dup {
					e.rt.svcByIP[s.ClusterIP] = s
				}
			}
		}
	}
	return e.rt.svcByIP[ip]
}

// policiesIn returns the AuthorizationPolicies of a namespace in creation order.
func (e *Engine) policiesIn(ns string) []*mesh.AuthorizationPolicy {
	if e.rt.apByNS == nil {
		e.rt.apByNS = map[string][]*mesh.AuthorizationPolicy{}
		for _, p := range e.X.AuthorizationPolicies { // already in Istio's creation order
			e.rt.apByNS[p.Namespace] = append(e.rt.apByNS[p.Namespace], p)
		}
	}
	return e.rt.apByNS[ns]
}

// sidecarsIn returns the Sidecar resources of a namespace in creation order.
func (e *Engine) sidecarsIn(ns string) []*mesh.Sidecar {
	if e.rt.scByNS == nil {
		e.rt.scByNS = map[string][]*mesh.Sidecar{}
		for _, s := range e.X.Sidecars {
			e.rt.scByNS[s.Namespace] = append(e.rt.scByNS[s.Namespace], s)
		}
	}
	return e.rt.scByNS[ns]
}
