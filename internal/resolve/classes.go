package resolve

import (
	"fmt"
	"net"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// This file names what each outbound decision reads from a client, so that
// package paths can evaluate a path once for every client that Istio treats
// the same way. Istio itself computes its configuration per proxy *kind of
// view*, not per pod: a sidecar's outbound clusters, routes and
// DestinationRules come from its SidecarScope, which depends only on the
// proxy's namespace and (for workloadSelector DestinationRules and Sidecar
// resources) its labels (pilot/pkg/model/sidecar.go DefaultSidecarScopeForNamespace,
// ConvertToSidecarScope; push_context.go destinationRule), and the server-side
// decisions (PeerAuthentication, AuthorizationPolicy, listeners) do not depend
// on the client at all except through its mTLS identity. The functions below
// state those dependencies; paths_test.go checks the classes against tracing
// every pair one by one.

// OutboundClass returns what the engine's outbound decisions read from a
// client besides its namespace and identity: the proxy kind (none, sidecar,
// gateway), ambient enrolment, and which workloadSelector DestinationRules of
// its namespace select it (drClientClass). Two clients of one namespace with
// the same OutboundClass get the same route, DestinationRule and client TLS for
// every host.
func (e *Engine) OutboundClass(w *mesh.Workload) string {
	sc := e.Sidecar(w)
	c := sc.Kind
	if sc.Ambient {
		c += "+ambient"
	}
	dr := e.drClientClass(w)
	if i := strings.IndexByte(dr, '|'); i >= 0 {
		c += dr[i:]
	}
	return c
}

// hostViews indexes, for every host, the namespaces whose proxies may see a
// different configuration for it than proxies of an unrelated namespace: the
// namespaces that own a DestinationRule, VirtualService or ServiceEntry whose
// host could be it, and those such an object (or the Service itself) is
// exported to by name. Every other namespace sees only objects exported to
// "*" (or the mesh default) and the root namespace's, so all of them see the
// same thing (push_context.go initDestinationRules, initVirtualServices,
// initServiceRegistry: visibility is own namespace, named namespaces, or
// public). Where it is unsure it over-approximates (a wildcard host, a mirror
// destination): a namespace counted in vain costs one more evaluation, never a
// wrong answer.
type hostViews struct {
	exact map[string][]string // FQDN -> namespaces
	wild  []hostViewPattern
	all   []string // namespaces that see every host differently
	// routes are the VirtualServices' hosts with the hosts their routes
	// (delegates included) send to: a request for the host is decided by
	// the destination's configuration too.
	routes []hostViewRoute
	// routesByHost indexes routes by exact host; wildRoutes have a
	// wildcard host.
	routesByHost map[string][]int
	wildRoutes   []int
}

type hostViewRoute struct {
	hosts []string // as written, lower case
	dests []string // resolved in the namespace of the route
}

type hostViewPattern struct {
	suffix string // "*.ns.svc.cluster.local" -> ".ns.svc.cluster.local"; "*" -> ""
	ns     []string
}

func (e *Engine) hostViewIndex() *hostViews {
	if e.pt.views != nil {
		return e.pt.views
	}
	v := &hostViews{exact: map[string][]string{}, routesByHost: map[string][]int{}}
	// Hosts are resolved as the engine resolves them: a short name in the
	// object's namespace (drResolveHost, routeResolveShortname), anything
	// with a dot as written.
	add := func(host, ownNS string, exportTo []string) {
		host = routeResolveShortname(host, ownNS)
		nss := []string{ownNS}
		for _, x := range exportTo {
			x = strings.TrimSpace(x)
			if x != "" && x != "*" && x != "." && x != "~" {
				nss = append(nss, x)
			}
		}
		host = strings.ToLower(host)
		switch {
		case host == "*":
			v.all = append(v.all, nss...)
		case strings.HasPrefix(host, "*"):
			v.wild = append(v.wild, hostViewPattern{suffix: host[1:], ns: nss})
		case net.ParseIP(host) != nil:
			v.exact[host] = append(v.exact[host], nss...)
		default:
			v.exact[host] = append(v.exact[host], nss...)
		}
	}
	for _, dr := range e.X.DestinationRules {
		if dr.Spec != nil {
			add(dr.Spec.GetHost(), dr.Namespace, dr.Spec.GetExportTo())
		}
	}
	delegates := map[nsName]*mesh.VirtualService{}
	for _, vs := range e.X.VirtualServices {
		if vs.Spec != nil && len(vs.Spec.GetHosts()) == 0 {
			delegates[nsName{vs.Namespace, vs.Name}] = vs
		}
	}
	for _, vs := range e.X.VirtualServices {
		if vs.Spec == nil {
			continue
		}
		for _, h := range vs.Spec.GetHosts() {
			add(h, vs.Namespace, vs.Spec.GetExportTo())
		}
		if len(vs.Spec.GetHosts()) == 0 {
			continue
		}
		r := hostViewRoute{}
		for _, h := range vs.Spec.GetHosts() {
			r.hosts = append(r.hosts, routeResolveShortname(h, vs.Namespace))
		}
		r.dests = vsDestinationHosts(vs, r.dests)
		for _, h := range vs.Spec.GetHttp() {
			if d := h.GetDelegate(); d != nil {
				ns := d.GetNamespace()
				if ns == "" {
					ns = vs.Namespace
				}
				if dv := delegates[nsName{ns, d.GetName()}]; dv != nil {
					r.dests = vsDestinationHosts(dv, r.dests)
				}
			}
		}
		wild := false
		for _, h := range r.hosts {
			if strings.HasPrefix(h, "*") {
				wild = true
			} else {
				v.routesByHost[h] = append(v.routesByHost[h], len(v.routes))
			}
		}
		if wild {
			v.wildRoutes = append(v.wildRoutes, len(v.routes))
		}
		v.routes = append(v.routes, r)
	}
	for _, se := range e.X.ServiceEntries {
		if se.Spec == nil {
			continue
		}
		for _, h := range se.Spec.GetHosts() {
			add(h, se.Namespace, se.Spec.GetExportTo())
		}
	}
	e.pt.views = v
	return v
}

// HostViews returns the namespaces whose proxies may see a configuration for
// svc's host that differs from what a proxy of any other namespace sees: the
// root namespace, the service's own namespace when an exportTo annotation
// restricts the Service, the namespaces it is exported to by name, and those that own (or are named in the exportTo of) a
// DestinationRule, VirtualService or ServiceEntry whose host may be svc's.
// Proxies of two namespaces outside the list see exactly the same
// DestinationRules, VirtualServices, ServiceEntries and Service visibility for
// the host. The list is sorted and may contain namespaces without workloads.
func (e *Engine) HostViews(svc *mesh.Service) []string {
	v := e.hostViewIndex()
	set := map[string]bool{e.X.Mesh.RootNamespace: true}
	e.addHostViews(v, set, svc.Host, svc)
	// A VirtualService for the host sends its requests to other hosts, whose
	// own configuration then decides (delegates and mirrors included).
	for _, d := range v.routeDests(svc.Host) {
		e.addHostViews(v, set, d, e.X.ServiceByHost(d))
	}
	return objects.SortedKeys(set)
}

// routeDests returns the destination hosts of the routes of every
// VirtualService whose hosts match host (exact or wildcard).
func (v *hostViews) routeDests(host string) []string {
	host = strings.ToLower(host)
	var out []string
	for _, i := range v.routesByHost[host] {
		out = append(out, v.routes[i].dests...)
	}
	for _, i := range v.wildRoutes {
		for _, h := range v.routes[i].hosts {
			if routeHostMatches(h, host) {
				out = append(out, v.routes[i].dests...)
				break
			}
		}
	}
	return out
}

// addHostViews adds to set the namespaces with a view of their own of host,
// whose Service (if any) is svc.
func (e *Engine) addHostViews(v *hostViews, set map[string]bool, host string, svc *mesh.Service) {
	host = strings.ToLower(host)
	for _, n := range v.all {
		set[n] = true
	}
	for _, n := range v.exact[host] {
		set[n] = true
	}
	for _, p := range v.wild {
		if strings.HasSuffix(host, p.suffix) {
			for _, n := range p.ns {
				set[n] = true
			}
		}
	}
	if svc == nil || svc.Obj == nil {
		return
	}
	// The Service's own namespace sees it differently only when its
	// visibility is restricted (the annotation; the engine reads
	// defaultServiceExportTo as "*", Istio's default). Configuration that
	// the namespace owns for the host made it count above already.
	if k, ok := svc.Obj.Typed.(*corev1.Service); ok {
		if v := k.Annotations["networking.istio.io/exportTo"]; v != "" {
			set[svc.Namespace] = true
			for _, x := range strings.Split(v, ",") {
				x = strings.TrimSpace(x)
				if x != "" && x != "*" && x != "." && x != "~" {
					set[x] = true
				}
			}
		}
	}
}

// vsDestinationHosts appends the destination hosts of every http, tcp and tls
// route of vs, resolved in its namespace (ResolveShortnameToFQDN).
func vsDestinationHosts(vs *mesh.VirtualService, out []string) []string {
	for _, h := range vs.Spec.GetHttp() {
		for _, d := range h.GetRoute() {
			out = append(out, routeResolveShortname(d.GetDestination().GetHost(), vs.Namespace))
		}
		if m := h.GetMirror(); m != nil {
			out = append(out, routeResolveShortname(m.GetHost(), vs.Namespace))
		}
	}
	for _, t := range vs.Spec.GetTcp() {
		for _, d := range t.GetRoute() {
			out = append(out, routeResolveShortname(d.GetDestination().GetHost(), vs.Namespace))
		}
	}
	for _, t := range vs.Spec.GetTls() {
		for _, d := range t.GetRoute() {
			out = append(out, routeResolveShortname(d.GetDestination().GetHost(), vs.Namespace))
		}
	}
	return out
}

// AuthzTerm is one source value an AuthorizationPolicy compares a caller's
// identity with: a principal, a namespace or a service account, as written
// (values and notValues alike).
type AuthzTerm struct {
	// Kind is "principal", "namespace" or "serviceAccount".
	Kind  string
	Value string
	// PolicyNS is the policy's namespace (a bare serviceAccounts value is in it).
	PolicyNS string
}

// AuthzIdentityTerms lists the identity terms of the AuthorizationPolicies that
// apply to w (CUSTOM, DENY and ALLOW). Two callers that match the same terms
// get the same authorization verdict on w for the same request: Envoy's RBAC
// filter reads the caller only through its certificate's principal
// (security/authz/model/generator.go srcPrincipalGenerator,
// srcNamespaceGenerator and serviceAccountGenerator all match the URI SAN).
func (e *Engine) AuthzIdentityTerms(w *mesh.Workload) []AuthzTerm {
	set := e.azPolicies(w)
	var out []AuthzTerm
	for _, list := range [][]*mesh.AuthorizationPolicy{set.custom, set.deny, set.allow} {
		for _, p := range list {
			for _, r := range e.azCompiled(p) {
				for _, c := range r.all {
					var kind string
					switch c.kind {
					case azKPrincipal:
						kind = "principal"
					case azKNamespace:
						kind = "namespace"
					case azKServiceAccount:
						kind = "serviceAccount"
					default:
						continue
					}
					for _, vals := range [][]string{c.values, c.notValues} {
						for _, val := range vals {
							out = append(out, AuthzTerm{Kind: kind, Value: val, PolicyNS: p.Namespace})
						}
					}
				}
			}
		}
	}
	return out
}

// pathState caches what classes.go computes.
type pathState struct {
	views *hostViews
}

// GatewayRequest is a request that reaches one route of a VirtualService bound
// to a gateway: the host is one the gateway serves for it, the path and the
// method and headers satisfy the route's match.
type GatewayRequest struct {
	Request
	// VirtualService is the root VirtualService; Object and Route locate the
	// route in the object it is written in (a delegate's for a delegated
	// route).
	VirtualService *mesh.VirtualService
	Object         *objects.Object
	Route          string
	// Destinations are the route's destination hosts, resolved.
	Destinations []string
}

// URL renders the request as trace takes it: scheme://host:port/path.
func (r GatewayRequest) URL() string {
	return fmt.Sprintf("%s://%s:%d%s", r.Scheme, r.Host, r.Port, r.Path)
}

// GatewayRequests lists one request per HTTP route the gateway workload gw
// serves: for each of its HTTP and HTTPS (terminated) servers, the virtual
// hosts and routes Istio builds (gatewayHTTPTable: the VirtualServices bound
// to the server's Gateway and visible to the gateway's namespace, hosts
// intersected with the server's), and for each route a request its first
// match accepts (a uri exact or prefix, an exact method and exact headers; a
// regex uri is not inverted, so such a match is skipped, and a route with
// only such matches yields no request). A wildcard virtual host gets a
// concrete name under it ("*.example.com" -> "any.example.com", "*" -> the
// first concrete host of the VirtualService, else "any.host"). TCP and TLS
// servers are not enumerated.
func (e *Engine) GatewayRequests(gw *mesh.Workload) []GatewayRequest {
	if gw == nil {
		return nil
	}
	v := e.gatewayView(gw)
	var out []GatewayRequest
	seen := map[string]bool{}
	for i, s := range v.servers {
		if s.rejected != "" {
			continue
		}
		scheme := routeGatewayProtocol(s.s)
		if scheme != "http" && scheme != "https" {
			continue
		}
		tab := e.gatewayHTTPTable(gw, v, []int{i})
		for _, h := range tab.order {
			vh := tab.vhosts[h]
			for _, r := range vh.routes {
				req, ok := gatewayRouteRequest(r, h)
				if !ok {
					continue
				}
				req.Scheme, req.Port = scheme, int32(s.s.GetPort().GetNumber())
				gr := GatewayRequest{Request: req, VirtualService: r.ent.vs, Object: r.fr.obj, Route: r.fr.path}
				for _, d := range r.fr.dests {
					gr.Destinations = append(gr.Destinations, routeResolveShortname(d.GetDestination().GetHost(), r.fr.hostNS))
				}
				key := gr.URL() + "|" + req.Method + "|" + routeLabelString(req.Headers)
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, gr)
			}
		}
	}
	return out
}

// gatewayRouteRequest builds a request that the route's match accepts on
// virtual host h.
func gatewayRouteRequest(r envoyRoute, h string) (Request, bool) {
	host := h
	switch {
	case host == "*":
		host = "any.host"
		for _, vh := range r.ent.hosts {
			if !strings.Contains(vh, "*") {
				host = vh
				break
			}
		}
	case strings.HasPrefix(host, "*"):
		host = "any" + host[1:]
	}
	req := Request{Host: host, Path: "/", Method: "GET"}
	m := r.fm.m
	if m == nil {
		return req, true
	}
	switch u := m.GetUri().GetMatchType().(type) {
	case nil:
	case *networking.StringMatch_Exact:
		req.Path = u.Exact
	case *networking.StringMatch_Prefix:
		req.Path = u.Prefix
		if req.Path == "" {
			req.Path = "/"
		}
	default:
		return req, false
	}
	if !strings.HasPrefix(req.Path, "/") {
		req.Path = "/" + req.Path
	}
	switch mm := m.GetMethod().GetMatchType().(type) {
	case nil:
	case *networking.StringMatch_Exact:
		req.Method = mm.Exact
	default:
		return req, false
	}
	for k, sm := range m.GetHeaders() {
		x, ok := sm.GetMatchType().(*networking.StringMatch_Exact)
		if !ok {
			return req, false
		}
		if req.Headers == nil {
			req.Headers = map[string]string{}
		}
		req.Headers[k] = x.Exact
	}
	if len(m.GetQueryParams()) > 0 || len(m.GetWithoutHeaders()) > 0 || m.GetAuthority() != nil || m.GetScheme() != nil {
		return req, false
	}
	return req, true
}

// RouteHosts returns the hosts whose configuration can decide a request for
// svc: its own host and the destination hosts of the VirtualService routes
// (delegates and mirrors included) of any VirtualService for its host. A
// change to the DestinationRules, VirtualServices, ServiceEntries or
// server-side policies of those hosts can change the request's fate; nothing
// else about other hosts can (whatif recomputes only such paths).
func (e *Engine) RouteHosts(svc *mesh.Service) []string {
	set := map[string]bool{strings.ToLower(svc.Host): true}
	for _, d := range e.hostViewIndex().routeDests(svc.Host) {
		set[d] = true
	}
	return objects.SortedKeys(set)
}

// HostPatterns returns the hosts an Istio config object names, resolved as
// the engine resolves them (a short name in the object's namespace): a
// DestinationRule's host, a VirtualService's hosts and route destinations, a
// ServiceEntry's hosts. Wildcards stay as written ("*.ns.svc.cluster.local").
func HostPatterns(c mesh.Configurable) []string {
	var out []string
	switch o := c.(type) {
	case *mesh.DestinationRule:
		if o.Spec != nil && o.Spec.GetHost() != "" {
			out = append(out, routeResolveShortname(o.Spec.GetHost(), o.Namespace))
		}
	case *mesh.VirtualService:
		if o.Spec != nil {
			for _, h := range o.Spec.GetHosts() {
				out = append(out, routeResolveShortname(h, o.Namespace))
			}
			out = vsDestinationHosts(o, out)
		}
	case *mesh.ServiceEntry:
		if o.Spec != nil {
			for _, h := range o.Spec.GetHosts() {
				out = append(out, strings.ToLower(h))
			}
		}
	}
	return out
}

// HostMatches reports whether host is matched by pattern (exact, "*", or a
// "*.suffix" wildcard), as Istio's host.Name.Matches does for one name.
func HostMatches(pattern, host string) bool {
	return routeHostMatches(strings.ToLower(pattern), strings.ToLower(host))
}

// Worker returns a new engine over the same index, for another goroutine
// (package paths runs one per CPU). It shares e's indexes of the
// configuration (DestinationRules, PeerAuthentications, ServiceEntries,
// VirtualServices and the host views), built here if they are not yet: they
// are never changed once built, so the engines need not build one each. Every
// other decision each engine makes and caches on its own.
func (e *Engine) Worker() *Engine {
	w := New(e.X)
	w.sec.drIdx = e.drIndex()
	w.sec.pa = e.paIdx()
	w.rt.se = e.seIdx()
	w.rt.vs = e.vsIdx()
	w.pt.views = e.hostViewIndex()
	return w
}

// ForgetRequests drops the caches of decisions about one request or one
// service port (routes, DestinationRules per host, client TLS, inbound
// acceptance, endpoints, target ports, listening, per-port mTLS), keeping the
// indexes and the per-workload decisions every request reads (sidecars,
// identities, DestinationRule classes, policy sets). Package paths calls it
// after each Service: every Service port is evaluated once, so keeping its
// decisions only grows the heap (by about 100 MiB per engine on a
// 10,000-service mesh). Results do not change; only what is recomputed.
func (e *Engine) ForgetRequests() {
	e.sec.paComp, e.sec.mtls, e.sec.drCache, e.sec.svcInfo, e.sec.ctlsMemo, e.sec.accept = nil, nil, nil, nil, nil, nil
	e.rt.eps, e.rt.listen, e.rt.hosts, e.rt.tports, e.rt.sideRt = nil, nil, nil, nil, nil
}
