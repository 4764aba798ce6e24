package resolve

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Request is one request as the client sends it.
type Request struct {
	// Scheme is http, https or tcp.
	Scheme string
	// Host is the name or IP the client called; for HTTP it is also the
	// Host/:authority header.
	Host string
	// Port is the port the client called (0: the scheme's default, or the
	// service's only port).
	Port int32
	// Path is the request path, with its query string if any.
	Path    string
	Method  string
	Headers map[string]string
}

// RouteDestination is one weighted destination of the route that matched.
type RouteDestination struct {
	Host   string `json:"host"`
	Port   int32  `json:"port,omitempty"`
	Subset string `json:"subset,omitempty"`
	Weight int32  `json:"weight"`
	// Service or ServiceEntry is what the host names in the registry; both nil
	// when the host is not in the registry (Envoy has no cluster for it).
	Service      *mesh.Service      `json:"-"`
	ServiceEntry *mesh.ServiceEntry `json:"-"`
}

// Reasons for NoRouteReason.
const (
	NoRouteNoGateway     = "NO_GATEWAY"        // no Gateway resource selects the gateway workload
	NoRouteNoServer      = "NO_SERVER"         // no Gateway server on that port (or of that protocol, or for that SNI)
	NoRouteNoVirtualHost = "NO_VIRTUAL_HOST"   // no VirtualService bound to the server covers the host
	NoRouteNoMatch       = "NO_MATCHING_ROUTE" // a VirtualService covers the host but none of its routes matches
	NoRouteUnknownHost   = "UNKNOWN_HOST"      // the host is not in the registry
	NoRouteNoServicePort = "NO_SERVICE_PORT"   // the Service has no such port
)

// Route actions.
const (
	ActionRoute          = "route"
	ActionRedirect       = "redirect"
	ActionDirectResponse = "direct-response"
	ActionPassthrough    = "passthrough" // PassthroughCluster (ALLOW_ANY)
	ActionBlackhole      = "blackhole"   // BlackHoleCluster (REGISTRY_ONLY): 502
)

// RouteDecision says where a proxy sends a request, and why.
type RouteDecision struct {
	Matched bool `json:"matched"`
	// NoRouteReason is one of the NoRoute* codes when Matched is false.
	NoRouteReason string `json:"no_route_reason,omitempty"`
	// UnknownHost is set when the called host, or the host the route sends to,
	// is not in the registry.
	UnknownHost bool `json:"unknown_host,omitempty"`
	// HTTP reports whether the proxy routes the request as HTTP (an HTTP
	// connection manager), as opposed to TCP/TLS proxying.
	HTTP bool `json:"http"`
	// Gateway and Server are the Gateway resource and its server index that
	// accepted the request (gateway callers only; Server is -1 otherwise).
	Gateway *mesh.Gateway `json:"-"`
	Server  int           `json:"server"`
	// ListenPort is the port the proxy listens on for this request: the
	// gateway's (target) port, or the service port for a sidecar.
	ListenPort int32 `json:"listen_port,omitempty"`
	// VirtualService is the VirtualService whose route matched (nil for the
	// default route); Delegate is the delegate VirtualService the route came
	// from, if any.
	VirtualService *mesh.VirtualService `json:"-"`
	Delegate       *mesh.VirtualService `json:"-"`
	// HTTPRoute is the index in spec.http of the route that matched (-1 for
	// the default route), HTTPMatch the index of the match (-1: no match
	// block). For tcp/tls routes, TCPRoute/TLSRoute are set instead.
	HTTPRoute int `json:"http_route"`
	HTTPMatch int `json:"http_match"`
	TCPRoute  int `json:"tcp_route"`
	TLSRoute  int `json:"tls_route"`
	// Action is one of the Action* values.
	Action string `json:"action,omitempty"`
	// Status is the HTTP status the proxy answers itself with (404 NR, 502,
	// a redirect or a direct response); 0 when the request is forwarded.
	Status       int                `json:"status,omitempty"`
	Destinations []RouteDestination `json:"destinations,omitempty"`
	// Service is the registry Service of the first destination.
	Service      *mesh.Service      `json:"-"`
	ServiceEntry *mesh.ServiceEntry `json:"-"`
	Decision
}

// ---------------------------------------------------------------------------
// Host resolution

// routeNormalizeHost lowercases a host and strips a port and a trailing dot.
func routeNormalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i > 0 {
			return h[1:i]
		}
	}
	if strings.Count(h, ":") == 1 {
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
	}
	return strings.TrimSuffix(h, ".")
}

// routeDNSCandidates lists the names a pod in namespace ns tries for host, in
// order: Kubernetes writes "search <ns>.svc.<domain> svc.<domain> <domain>"
// and "options ndots:5" into every pod's resolv.conf, so a name with fewer
// than 5 dots is tried with each search suffix first, then as written
// (https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#namespaces-of-services).
func routeDNSCandidates(host, ns string) []string {
	d := mesh.DefaultDomain
	search := []string{host + "." + ns + ".svc." + d, host + ".svc." + d, host + "." + d}
	if strings.Count(host, ".") >= 5 {
		return append([]string{host}, search...)
	}
	return append(search, host)
}

// ResolveHost finds what a client in namespace fromNS reaches when it calls
// host: a Kubernetes Service (short name in the caller's namespace, name.ns,
// name.ns.svc, the FQDN, or its ClusterIP), or a ServiceEntry host. It returns
// the Service (nil for a ServiceEntry or an unknown host), the FQDN, and why.
//
// The same names are the HTTP virtual-host domains a sidecar builds for a
// Service (pilot/pkg/networking/core/httproute.go generateVirtualHostDomains,
// GenerateAltVirtualHosts: the short name only within the same namespace).
func (e *Engine) ResolveHost(fromNS, host string) (*mesh.Service, string, Decision) {
	k := hostKey{fromNS, host}
	if r, ok := e.rt.hosts[k]; ok {
		return r.svc, r.fqdn, clipDecision(r.d)
	}
	svc, fqdn, d := e.resolveHost(fromNS, host)
	if e.rt.hosts == nil || len(e.rt.hosts) >= requestCacheMax {
		e.rt.hosts = map[hostKey]*hostResult{}
	}
	d = clipDecision(d)
	e.rt.hosts[k] = &hostResult{svc, fqdn, d}
	return svc, fqdn, d
}

func (e *Engine) resolveHost(fromNS, host string) (*mesh.Service, string, Decision) {
	h := routeNormalizeHost(host)
	var d Decision
	if ip := net.ParseIP(h); ip != nil {
		if svc := e.serviceByIP(h); svc != nil {
			d.Reason = fmt.Sprintf("%s is the ClusterIP of Service %s", h, svc.Key())
			d.By = []objects.Ref{svc.Obj.Ref("spec.clusterIP")}
			return svc, svc.Host, d
		}
		d.Reason = fmt.Sprintf("%s is an IP address that is no Service's ClusterIP in the input", h)
		return nil, h, d
	}
	for _, c := range routeDNSCandidates(h, fromNS) {
		if svc := e.X.ServiceByHost(c); svc != nil {
			d.By = []objects.Ref{svc.Obj.Ref("metadata.name")}
			switch {
			case c == h:
				d.Reason = h + " is the FQDN of Service " + svc.Key()
			case svc.Namespace == fromNS && !strings.Contains(h, "."):
				d.Reason = fmt.Sprintf("the short name %s resolves to Service %s in the caller's namespace (DNS search path %s.svc.%s)", h, svc.Key(), fromNS, mesh.DefaultDomain)
			default:
				d.Reason = fmt.Sprintf("%s resolves to Service %s (%s) through the pod's DNS search path", h, svc.Key(), c)
			}
			if c != h {
				d.Assume(fmt.Sprintf("the cluster DNS domain is %s", mesh.DefaultDomain))
			}
			return svc, c, d
		}
	}
	if se, sh := e.serviceEntryFor(h, fromNS); se != nil {
		d.Reason = fmt.Sprintf("%s is a host of ServiceEntry %s/%s (%s)", h, se.Namespace, se.Name, sh)
		d.By = []objects.Ref{se.Obj.Ref("spec.hosts")}
		return nil, h, d
	}
	d.Reason = fmt.Sprintf("%s is neither a Service (tried %s) nor a ServiceEntry host in the input", h, strings.Join(routeDNSCandidates(h, fromNS), ", "))
	return nil, h, d
}

// seIndex indexes ServiceEntry hosts: exact hosts in a map, wildcard hosts in
// a list (usually short).
type seIndex struct {
	exact map[string][]*mesh.ServiceEntry
	wild  []seWild
}

type seWild struct {
	host string
	se   *mesh.ServiceEntry
}

func (e *Engine) seIdx() *seIndex {
	if e.rt.se != nil {
		return e.rt.se
	}
	ix := &seIndex{exact: map[string][]*mesh.ServiceEntry{}}
	for _, se := range e.X.ServiceEntries {
		for _, h := range se.Spec.GetHosts() {
			h = strings.ToLower(h)
			if strings.HasPrefix(h, "*") {
				ix.wild = append(ix.wild, seWild{h, se})
			} else {
				ix.exact[h] = append(ix.exact[h], se)
			}
		}
	}
	e.rt.se = ix
	return ix
}

// serviceEntryFor returns the ServiceEntry visible in namespace ns that
// declares host (exactly, else the most specific wildcard host), and the SE
// host that matched. ServiceEntry exportTo follows the same rules as
// VirtualService exportTo (push_context.go initServiceRegistry).
func (e *Engine) serviceEntryFor(host, ns string) (*mesh.ServiceEntry, string) {
	ix := e.seIdx()
	for _, se := range ix.exact[host] {
		if ok, _ := parseRouteExportTo(se.Spec.GetExportTo(), se.Namespace).visibleTo(ns, se.Namespace); ok {
			return se, host
		}
	}
	var best *mesh.ServiceEntry
	bestHost := ""
	for _, w := range ix.wild {
		if routeHostMatches(w.host, host) && len(w.host) > len(bestHost) {
			if ok, _ := parseRouteExportTo(w.se.Spec.GetExportTo(), w.se.Namespace).visibleTo(ns, w.se.Namespace); ok {
				best, bestHost = w.se, w.host
			}
		}
	}
	return best, bestHost
}

// routeHostMatches reports whether two host names match, either being a
// wildcard "*.suffix" or "*" (pkg/config/host/name.go Name.Matches).
func routeHostMatches(a, b string) bool {
	aw, bw := strings.HasPrefix(a, "*"), strings.HasPrefix(b, "*")
	switch {
	case aw && bw:
		if len(a) < len(b) {
			return strings.HasSuffix(b[1:], a[1:])
		}
		return strings.HasSuffix(a[1:], b[1:])
	case aw:
		return strings.HasSuffix(b, a[1:])
	case bw:
		return strings.HasSuffix(a, b[1:])
	}
	return a == b
}

// routeHostSubsetOf reports whether host n is covered by host o
// (pkg/config/host/name.go Name.SubsetOf).
func routeHostSubsetOf(n, o string) bool {
	nw, ow := strings.HasPrefix(n, "*"), strings.HasPrefix(o, "*")
	switch {
	case nw && ow:
		return len(n) >= len(o) && strings.HasSuffix(n[1:], o[1:])
	case nw:
		return false
	case ow:
		return strings.HasSuffix(n, o[1:])
	}
	return n == o
}

// routeResolveShortname turns a host of a VirtualService written in namespace
// ns into the name Istio uses: a name without a dot becomes
// name.ns.svc.cluster.local; anything with a dot (including "name.ns") is taken
// as written (pilot/pkg/model/config.go ResolveShortnameToFQDN).
func routeResolveShortname(h, ns string) string {
	h = strings.ToLower(h)
	if h == "*" || net.ParseIP(h) != nil || strings.Contains(h, ".") {
		return h
	}
	return h + "." + ns + ".svc." + mesh.DefaultDomain
}

// routeResolveGatewayName resolves a VirtualService `gateways` entry written
// in namespace ns to "ns/name": "name" is in the VirtualService's namespace,
// "./name" too, "ns/name" as written, and the legacy FQDN form
// name.ns.svc.cluster.local becomes ns/name (pilot/pkg/model/config.go
// resolveGatewayName). "mesh" stays "mesh".
func routeResolveGatewayName(g, ns string) string {
	if g == "mesh" {
		return g
	}
	if before, after, ok := strings.Cut(g, "/"); ok {
		if before == "." {
			return ns + "/" + after
		}
		return g
	}
	if !strings.Contains(g, ".") {
		return ns + "/" + g
	}
	i := strings.Index(g, ".")
	rest := g[i+1:]
	if j := strings.Index(rest, "."); j >= 0 {
		return rest[:j] + "/" + g[:i]
	}
	return rest + "/" + g[:i]
}

// ---------------------------------------------------------------------------
// VirtualService index

type vsIndex struct {
	byGateway map[string][]*vsEntry // resolved gateway name ("ns/name" or "mesh") -> entries, creation order
	meshExact map[string][]*vsEntry // mesh-bound entries by exact host
	meshWild  []*vsEntry            // mesh-bound entries with at least one wildcard host
	// sourceLabels is set when some route matches on sourceLabels, so that
	// sidecar routing depends on the client's labels.
	sourceLabels bool
}

type vsEntry struct {
	vs       *mesh.VirtualService
	seq      int
	hosts    []string // resolved, lowercase
	gateways []string // resolved
	export   routeExportSet
	http     []flatHTTPRoute
	notes    []string // delegation problems, as Istio logs them
}

// flatHTTPRoute is one http route of a VirtualService after delegation is
// merged in (pilot/pkg/model/virtualservice_controller.go mergeVirtualServices).
type flatHTTPRoute struct {
	rootIndex int
	obj       *objects.Object // the object the route is written in (root or delegate)
	path      string          // field path of the route in obj
	delegate  *mesh.VirtualService
	hostNS    string // namespace in which destination short names resolve
	matches   []flatMatch
	dests     []*networking.HTTPRouteDestination
	redirect  *networking.HTTPRedirect
	direct    *networking.HTTPDirectResponse
}

type flatMatch struct {
	m        *networking.HTTPMatchRequest // nil: the route has no match block
	index    int                          // index in the written match list, -1 for none
	path     string
	gateways []string // m.Gateways resolved
}

type nsName struct{ ns, name string }

func (e *Engine) vsIdx() *vsIndex {
	if e.rt.vs != nil {
		return e.rt.vs
	}
	ix := &vsIndex{byGateway: map[string][]*vsEntry{}, meshExact: map[string][]*vsEntry{}}
	delegates := map[nsName]*mesh.VirtualService{}
	for _, vs := range e.X.VirtualServices {
		if len(vs.Spec.GetHosts()) == 0 {
			// A VirtualService without hosts is a delegate: it is used only
			// through a root's http.delegate (virtualservice_controller.go
			// delegateVirtualServices / mergeVirtualServices).
			delegates[nsName{vs.Namespace, vs.Name}] = vs
		}
	}
	for i, vs := range e.X.VirtualServices {
		if len(vs.Spec.GetHosts()) == 0 {
			continue
		}
		ent := &vsEntry{vs: vs, seq: i, export: parseRouteExportTo(vs.Spec.GetExportTo(), vs.Namespace)}
		for _, h := range vs.Spec.GetHosts() {
			ent.hosts = append(ent.hosts, routeResolveShortname(h, vs.Namespace))
		}
		// A VirtualService without gateways is bound to the mesh gateway
		// (push_context.go getGatewayNames).
		gws := vs.Spec.GetGateways()
		if len(gws) == 0 {
			gws = []string{"mesh"}
		}
		for _, g := range gws {
			ent.gateways = append(ent.gateways, routeResolveGatewayName(g, vs.Namespace))
		}
		ent.http = e.flattenHTTP(vs, delegates, &ent.notes)
		for _, fr := range ent.http {
			for _, fm := range fr.matches {
				if len(fm.m.GetSourceLabels()) > 0 {
					ix.sourceLabels = true
				}
			}
		}
		for _, t := range vs.Spec.GetTcp() {
			for _, m := range t.GetMatch() {
				if len(m.GetSourceLabels()) > 0 {
					ix.sourceLabels = true
				}
			}
		}
		for _, t := range vs.Spec.GetTls() {
			for _, m := range t.GetMatch() {
				if len(m.GetSourceLabels()) > 0 {
					ix.sourceLabels = true
				}
			}
		}
		for _, g := range ent.gateways {
			ix.byGateway[g] = append(ix.byGateway[g], ent)
			if g == "mesh" {
				wild := false
				for _, h := range ent.hosts {
					if strings.HasPrefix(h, "*") {
						wild = true
					} else {
						ix.meshExact[h] = append(ix.meshExact[h], ent)
					}
				}
				if wild {
					ix.meshWild = append(ix.meshWild, ent)
				}
			}
		}
	}
	e.rt.vs = ix
	return ix
}

// flattenHTTP lists the http routes of a root VirtualService, replacing each
// route with a delegate by the delegate's routes merged with it
// (pilot/pkg/model/virtualservice.go MergeHTTPRoutes, mergeHTTPRoute,
// mergeHTTPMatchRequests): a delegate route whose match conflicts with every
// root match is dropped; a missing or unexported delegate drops the root route.
func (e *Engine) flattenHTTP(vs *mesh.VirtualService, delegates map[nsName]*mesh.VirtualService, notes *[]string) []flatHTTPRoute {
	var out []flatHTTPRoute
	for i, r := range vs.Spec.GetHttp() {
		rpath := objects.Index("spec.http", i)
		if dg := r.GetDelegate(); dg != nil {
			dns := dg.GetNamespace()
			if dns == "" {
				dns = vs.Namespace
			}
			dvs := delegates[nsName{dns, dg.GetName()}]
			if dvs == nil {
				*notes = append(*notes, fmt.Sprintf("%s.delegate names VirtualService %s/%s, which does not exist or has hosts: Istio ignores this route", rpath, dns, dg.GetName()))
				continue
			}
			if ok, _ := parseRouteExportTo(dvs.Spec.GetExportTo(), dvs.Namespace).visibleTo(vs.Namespace, dvs.Namespace); !ok {
				*notes = append(*notes, fmt.Sprintf("%s.delegate names VirtualService %s/%s, which is not exported to %s: Istio ignores this route", rpath, dns, dg.GetName(), vs.Namespace))
				continue
			}
			for j, sub := range dvs.Spec.GetHttp() {
				spath := objects.Index("spec.http", j)
				fr := flatHTTPRoute{
					rootIndex: i, obj: dvs.Obj, path: spath, delegate: dvs, hostNS: dvs.Namespace,
					dests: sub.GetRoute(), redirect: sub.GetRedirect(), direct: sub.GetDirectResponse(),
				}
				if fr.direct == nil {
					fr.direct = r.GetDirectResponse()
				}
				ms, ok := routeMergeMatches(r, sub, vs.Namespace, dvs.Namespace, rpath, spath)
				if !ok {
					*notes = append(*notes, fmt.Sprintf("route %s of delegate %s/%s conflicts with the match of %s: Istio drops it", spath, dvs.Namespace, dvs.Name, rpath))
					continue
				}
				fr.matches = ms
				out = append(out, fr)
			}
			continue
		}
		fr := flatHTTPRoute{
			rootIndex: i, obj: vs.Obj, path: rpath, hostNS: vs.Namespace,
			dests: r.GetRoute(), redirect: r.GetRedirect(), direct: r.GetDirectResponse(),
		}
		if len(r.GetMatch()) == 0 {
			fr.matches = []flatMatch{{index: -1}}
		}
		for k, m := range r.GetMatch() {
			fr.matches = append(fr.matches, flatMatch{m: m, index: k, path: objects.Index(rpath+".match", k), gateways: routeResolveGateways(m.GetGateways(), vs.Namespace)})
		}
		out = append(out, fr)
	}
	return out
}

func routeResolveGateways(gs []string, ns string) []string {
	var out []string
	for _, g := range gs {
		out = append(out, routeResolveGatewayName(g, ns))
	}
	return out
}

// routeMergeMatches merges the match of a root route with a delegate route's
// (virtualservice.go mergeHTTPMatchRequests and mergeHTTPMatchRequest): each
// delegate match is combined with every root match it does not conflict with;
// a delegate match that conflicts with all root matches makes the delegate
// route unusable.
func routeMergeMatches(root, sub *networking.HTTPRoute, rootNS, subNS, rpath, spath string) ([]flatMatch, bool) {
	rms, sms := root.GetMatch(), sub.GetMatch()
	if len(rms) == 0 {
		if len(sms) == 0 {
			return []flatMatch{{index: -1}}, true
		}
		var out []flatMatch
		for k, m := range sms {
			out = append(out, flatMatch{m: m, index: k, path: objects.Index(spath+".match", k), gateways: routeResolveGateways(m.GetGateways(), subNS)})
		}
		return out, true
	}
	if len(sms) == 0 {
		var out []flatMatch
		for k, m := range rms {
			out = append(out, flatMatch{m: m, index: -1, path: objects.Index(rpath+".match", k), gateways: routeResolveGateways(m.GetGateways(), rootNS)})
		}
		return out, true
	}
	var out []flatMatch
	for k, sm := range sms {
		found := false
		for _, rm := range rms {
			if routeMatchConflict(rm, sm) {
				continue
			}
			merged := routeMergeMatch(rm, sm)
			gws := routeResolveGateways(sm.GetGateways(), subNS)
			if len(sm.GetGateways()) == 0 {
				gws = routeResolveGateways(rm.GetGateways(), rootNS)
			}
			out = append(out, flatMatch{m: merged, index: k, path: objects.Index(spath+".match", k), gateways: gws})
			found = true
		}
		if !found {
			return nil, false
		}
	}
	return out, len(out) > 0
}

func routeMergeMatch(root, sub *networking.HTTPMatchRequest) *networking.HTTPMatchRequest {
	out := &networking.HTTPMatchRequest{
		Name: sub.GetName(), Uri: sub.GetUri(), Scheme: sub.GetScheme(), Method: sub.GetMethod(), Authority: sub.GetAuthority(),
		Headers: routeMergeMaps(root.GetHeaders(), sub.GetHeaders()), WithoutHeaders: routeMergeMaps(root.GetWithoutHeaders(), sub.GetWithoutHeaders()),
		QueryParams: routeMergeMaps(root.GetQueryParams(), sub.GetQueryParams()), Port: sub.GetPort(),
		SourceNamespace: sub.GetSourceNamespace(), Gateways: sub.GetGateways(), IgnoreUriCase: sub.GetIgnoreUriCase(),
	}
	if out.Uri == nil {
		out.Uri = root.GetUri()
	}
	if out.Scheme == nil {
		out.Scheme = root.GetScheme()
	}
	if out.Method == nil {
		out.Method = root.GetMethod()
	}
	if out.Authority == nil {
		out.Authority = root.GetAuthority()
	}
	if out.Port == 0 {
		out.Port = root.GetPort()
	}
	if out.SourceNamespace == "" {
		out.SourceNamespace = root.GetSourceNamespace()
	}
	if len(out.Gateways) == 0 {
		out.Gateways = root.GetGateways()
	}
	out.SourceLabels = map[string]string{}
	for k, v := range root.GetSourceLabels() {
		out.SourceLabels[k] = v
	}
	for k, v := range sub.GetSourceLabels() {
		out.SourceLabels[k] = v
	}
	return out
}

func routeMergeMaps(a, b map[string]*networking.StringMatch) map[string]*networking.StringMatch {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := map[string]*networking.StringMatch{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// routeMatchConflict is virtualservice.go hasConflict: a delegate match must be
// a refinement of the root match.
func routeMatchConflict(root, leaf *networking.HTTPMatchRequest) bool {
	roots := []*networking.StringMatch{root.GetUri(), root.GetScheme(), root.GetMethod(), root.GetAuthority()}
	leaves := []*networking.StringMatch{leaf.GetUri(), leaf.GetScheme(), leaf.GetMethod(), leaf.GetAuthority()}
	for i := range roots {
		if routeStringMatchConflict(roots[i], leaves[i]) {
			return true
		}
	}
	for k, v := range leaf.GetHeaders() {
		if routeStringMatchConflict(root.GetHeaders()[k], v) {
			return true
		}
	}
	for k, v := range leaf.GetWithoutHeaders() {
		if routeStringMatchConflict(root.GetWithoutHeaders()[k], v) {
			return true
		}
	}
	for k, v := range leaf.GetQueryParams() {
		if routeStringMatchConflict(root.GetQueryParams()[k], v) {
			return true
		}
	}
	if root.GetIgnoreUriCase() != leaf.GetIgnoreUriCase() {
		return true
	}
	if root.GetPort() > 0 && leaf.GetPort() > 0 && root.GetPort() != leaf.GetPort() {
		return true
	}
	if root.GetSourceNamespace() != "" && leaf.GetSourceNamespace() != root.GetSourceNamespace() {
		return true
	}
	for k, v := range leaf.GetSourceLabels() {
		if rv, ok := root.GetSourceLabels()[k]; ok && rv != v {
			return true
		}
	}
	if len(root.GetGateways()) > 0 && len(leaf.GetGateways()) > 0 {
		if len(root.GetGateways()) < len(leaf.GetGateways()) {
			return true
		}
		set := map[string]bool{}
		for _, g := range root.GetGateways() {
			set[g] = true
		}
		for _, g := range leaf.GetGateways() {
			if !set[g] {
				return true
			}
		}
	}
	return false
}

// routeStringMatchConflict is virtualservice.go stringMatchConflict.
func routeStringMatchConflict(root, leaf *networking.StringMatch) bool {
	if root == nil || leaf == nil {
		return false
	}
	if root.GetRegex() != "" && (leaf.GetRegex() != "" || leaf.GetPrefix() != "" || leaf.GetExact() != "") {
		return true
	}
	if leaf.GetRegex() != "" && (root.GetRegex() != "" || root.GetPrefix() != "" || root.GetExact() != "") {
		return true
	}
	if ex := root.GetExact(); ex != "" {
		return leaf.GetPrefix() != "" || leaf.GetExact() != ex
	}
	if p := root.GetPrefix(); p != "" {
		if lp := leaf.GetPrefix(); lp != "" {
			return !strings.HasPrefix(lp, p)
		}
		if le := leaf.GetExact(); le != "" {
			return !strings.HasPrefix(le, p)
		}
	}
	return true
}

// vsForGateway lists the VirtualServices bound to gateway gw ("ns/name") that
// a gateway proxy in namespace proxyNS sees, in Istio's order: private to
// proxyNS, then exported to proxyNS by name, then public, each in creation
// order (push_context.go VirtualServicesForGateway; exportTo is checked
// against the gateway *proxy's* namespace, not the Gateway resource's).
func (e *Engine) vsForGateway(proxyNS, gw string) []*vsEntry {
	return routeVisibleSorted(e.vsIdx().byGateway[gw], proxyNS)
}

func routeVisibleSorted(list []*vsEntry, ns string) []*vsEntry {
	type ranked struct {
		ent  *vsEntry
		rank int
	}
	var rs []ranked
	for _, ent := range list {
		if ok, rank := ent.export.visibleTo(ns, ent.vs.Namespace); ok {
			rs = append(rs, ranked{ent, rank})
		}
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].rank != rs[j].rank {
			return rs[i].rank < rs[j].rank
		}
		return rs[i].ent.seq < rs[j].ent.seq
	})
	out := make([]*vsEntry, len(rs))
	for i, r := range rs {
		out[i] = r.ent
	}
	return out
}

// ---------------------------------------------------------------------------
// HTTP route matching

// envoyRoute is one Envoy route built from a VirtualService http route and one
// of its matches.
type envoyRoute struct {
	ent      *vsEntry
	fr       *flatHTTPRoute
	fm       *flatMatch
	catchAll bool
}

// buildEnvoyRoutes lists the Envoy routes a VirtualService yields for a proxy
// listening on listenPort, as pilot/pkg/networking/core/route/route.go
// BuildHTTPRoutesForVirtualService does: a match whose port differs from the
// listener port, or whose gateways / sourceLabels / sourceNamespace exclude
// the proxy, yields no route (TranslateRoute, sourceMatchHTTP); a route
// without match, or a catch-all match, ends the list.
func buildEnvoyRoutes(ent *vsEntry, listenPort uint32, gateway string, proxyLabels map[string]string, proxyNS string) []envoyRoute {
	var out []envoyRoute
	for i := range ent.http {
		fr := &ent.http[i]
		catchall := false
		for k := range fr.matches {
			fm := &fr.matches[k]
			m := fm.m
			if m == nil {
				out = append(out, envoyRoute{ent, fr, fm, true})
				catchall = true
				break
			}
			if m.GetPort() != 0 && m.GetPort() != listenPort {
				continue
			}
			if len(fm.gateways) > 0 {
				ok := false
				for _, g := range fm.gateways {
					if g == gateway {
						ok = true
					}
				}
				if !ok {
					continue
				}
			} else if !mesh.SubsetOf(m.GetSourceLabels(), proxyLabels) || (m.GetSourceNamespace() != "" && m.GetSourceNamespace() != proxyNS) {
				continue
			}
			ca := routeIsCatchAll(m)
			out = append(out, envoyRoute{ent, fr, fm, ca})
			if ca {
				catchall = true
				break
			}
		}
		if catchall {
			break
		}
	}
	return out
}

// routeIsCatchAll is route.go IsCatchAllRoute on the translated match: prefix
// "/" (or no uri) or regex ".*", and no header, method, authority, scheme or
// query parameter condition.
func routeIsCatchAll(m *networking.HTTPMatchRequest) bool {
	if m == nil {
		return true
	}
	if len(m.GetHeaders()) > 0 || len(m.GetWithoutHeaders()) > 0 || len(m.GetQueryParams()) > 0 ||
		m.GetMethod() != nil || m.GetAuthority() != nil || m.GetScheme() != nil {
		return false
	}
	u := m.GetUri()
	if u == nil {
		return true
	}
	switch {
	case u.GetPrefix() != "":
		return u.GetPrefix() == "/"
	case u.GetRegex() != "":
		return u.GetRegex() == ".*"
	}
	return false
}

// routeReq is a request prepared for matching.
type routeReq struct {
	path     string // with query
	pathOnly string
	query    map[string]string
	method   string
	host     string // :authority as sent
	scheme   string
	headers  map[string]string // lowercase names
}

func newRouteReq(req Request) *routeReq {
	r := &routeReq{path: req.Path, method: req.Method, host: req.Host, scheme: req.Scheme, headers: map[string]string{}, query: map[string]string{}}
	if r.path == "" {
		r.path = "/"
	}
	if r.method == "" {
		r.method = "GET"
	}
	if r.scheme == "" || r.scheme == "tcp" {
		r.scheme = "http"
	}
	r.pathOnly = r.path
	if i := strings.IndexAny(r.path, "?#"); i >= 0 {
		r.pathOnly = r.path[:i]
		if r.path[i] == '?' {
			q := r.path[i+1:]
			if j := strings.IndexByte(q, '#'); j >= 0 {
				q = q[:j]
			}
			for _, kv := range strings.Split(q, "&") {
				k, v, _ := strings.Cut(kv, "=")
				if _, dup := r.query[k]; !dup && k != "" {
					r.query[k] = v
				}
			}
		}
	}
	for k, v := range req.Headers {
		lk := strings.ToLower(k)
		if lk == "host" {
			continue
		}
		r.headers[lk] = v
	}
	return r
}

// routeStringMatch evaluates a VirtualService StringMatch as Envoy does after
// translation (pilot/pkg/networking/util ConvertToEnvoyMatch): exact, prefix,
// or RE2 regex matching the whole value. A nil match or regex "*" is a
// presence match (route.go canBeConvertedToPresentMatch).
func routeStringMatch(sm *networking.StringMatch, v string, present bool, ignoreCase bool) bool {
	if sm == nil || sm.GetMatchType() == nil || sm.GetRegex() == "*" {
		return present
	}
	if !present {
		return false
	}
	switch t := sm.GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		if ignoreCase {
			return strings.EqualFold(v, t.Exact)
		}
		return v == t.Exact
	case *networking.StringMatch_Prefix:
		if ignoreCase {
			return strings.HasPrefix(strings.ToLower(v), strings.ToLower(t.Prefix))
		}
		return strings.HasPrefix(v, t.Prefix)
	case *networking.StringMatch_Regex:
		re := fullRegexp(t.Regex)
		return re != nil && re.MatchString(v)
	}
	return false
}

func routeDescribeStringMatch(sm *networking.StringMatch) string {
	switch t := sm.GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		return "exact " + strconv.Quote(t.Exact)
	case *networking.StringMatch_Prefix:
		return "prefix " + strconv.Quote(t.Prefix)
	case *networking.StringMatch_Regex:
		return "regex " + strconv.Quote(t.Regex)
	}
	return "present"
}

// routeMatches evaluates an HTTPMatchRequest against a request, as Envoy
// evaluates the RouteMatch that route.go TranslateRouteMatch builds: uri
// exact/regex on the path without query, prefix on the path, case-insensitive
// with ignoreUriCase; headers (names lowercase), withoutHeaders (a missing
// header counts as empty), method, authority, scheme and query parameters.
// It returns why not when it does not match.
func routeMatches(m *networking.HTTPMatchRequest, r *routeReq) (bool, string) {
	if m == nil {
		return true, ""
	}
	if u := m.GetUri(); u != nil {
		v := r.pathOnly
		if u.GetPrefix() != "" {
			v = r.path
		}
		if !routeStringMatch(u, v, true, m.GetIgnoreUriCase() && u.GetRegex() == "") {
			return false, fmt.Sprintf("uri %s does not match %q", routeDescribeStringMatch(u), r.pathOnly)
		}
	}
	if sm := m.GetMethod(); sm != nil && !routeStringMatch(sm, r.method, true, false) {
		return false, fmt.Sprintf("method %s does not match %s", routeDescribeStringMatch(sm), r.method)
	}
	if sm := m.GetAuthority(); sm != nil && !routeStringMatch(sm, r.host, r.host != "", false) {
		return false, fmt.Sprintf("authority %s does not match %q", routeDescribeStringMatch(sm), r.host)
	}
	if sm := m.GetScheme(); sm != nil && !routeStringMatch(sm, r.scheme, true, false) {
		return false, fmt.Sprintf("scheme %s does not match %s", routeDescribeStringMatch(sm), r.scheme)
	}
	for _, k := range objects.SortedKeys(m.GetHeaders()) {
		sm := m.GetHeaders()[k]
		if strings.HasPrefix(k, "@request.auth.claims") {
			return false, fmt.Sprintf("header %s matches JWT claims, and the request carries no JWT", k)
		}
		v, ok := r.headers[strings.ToLower(k)]
		if !routeStringMatch(sm, v, ok, false) {
			if !ok {
				return false, fmt.Sprintf("header %s is required and the request does not send it", k)
			}
			return false, fmt.Sprintf("header %s: %s does not match %q", k, routeDescribeStringMatch(sm), v)
		}
	}
	for _, k := range objects.SortedKeys(m.GetWithoutHeaders()) {
		sm := m.GetWithoutHeaders()[k]
		v, ok := r.headers[strings.ToLower(k)]
		var hit bool
		if sm == nil || sm.GetMatchType() == nil || sm.GetRegex() == "*" {
			hit = ok
		} else {
			hit = routeStringMatch(sm, v, true, false) // missing header treated as empty
		}
		if hit {
			return false, fmt.Sprintf("withoutHeaders %s matches the request", k)
		}
	}
	for _, k := range objects.SortedKeys(m.GetQueryParams()) {
		v, ok := r.query[k]
		if !routeStringMatch(m.GetQueryParams()[k], v, ok, false) {
			return false, fmt.Sprintf("query parameter %s does not match", k)
		}
	}
	return true, ""
}

// ---------------------------------------------------------------------------
// Destinations

// routeDestinations turns the destinations of a matched route into
// RouteDestinations. The host is resolved in the namespace the route is
// written in; the port is the destination's port, else the service's only
// port, else the listener port (route.go GetDestinationCluster); with several
// destinations those of weight 0 are ignored (applyHTTPRouteDestination).
func (e *Engine) routeDestinations(dests []*networking.HTTPRouteDestination, hostNS, proxyNS string, listenPort int32) []RouteDestination {
	var out []RouteDestination
	for _, d := range dests {
		if len(dests) > 1 && d.GetWeight() == 0 {
			continue
		}
		w := d.GetWeight()
		if len(dests) == 1 {
			w = 100
		}
		out = append(out, e.routeDestination(d.GetDestination(), w, hostNS, proxyNS, listenPort))
	}
	return out
}

func (e *Engine) routeL4Destinations(dests []*networking.RouteDestination, hostNS, proxyNS string, listenPort int32) []RouteDestination {
	var out []RouteDestination
	for _, d := range dests {
		if len(dests) > 1 && d.GetWeight() == 0 {
			continue
		}
		w := d.GetWeight()
		if len(dests) == 1 {
			w = 100
		}
		out = append(out, e.routeDestination(d.GetDestination(), w, hostNS, proxyNS, listenPort))
	}
	return out
}

func (e *Engine) routeDestination(dst *networking.Destination, weight int32, hostNS, proxyNS string, listenPort int32) RouteDestination {
	h := routeResolveShortname(dst.GetHost(), hostNS)
	rd := RouteDestination{Host: h, Subset: dst.GetSubset(), Weight: weight}
	if svc := e.X.ServiceByHost(h); svc != nil && e.serviceVisible(svc, proxyNS) {
		rd.Service = svc
	} else if se, _ := e.serviceEntryFor(h, proxyNS); se != nil {
		rd.ServiceEntry = se
	}
	switch {
	case dst.GetPort() != nil && dst.GetPort().GetNumber() != 0:
		rd.Port = int32(dst.GetPort().GetNumber())
	case rd.Service != nil && len(rd.Service.Ports) == 1:
		rd.Port = rd.Service.Ports[0].Port
	case rd.ServiceEntry != nil && len(rd.ServiceEntry.Spec.GetPorts()) == 1:
		rd.Port = int32(rd.ServiceEntry.Spec.GetPorts()[0].GetNumber())
	default:
		rd.Port = listenPort
	}
	return rd
}

// finishDestinations fills the decision from its destinations.
func (e *Engine) finishDestinations(d *RouteDecision, proxyNS string) {
	if len(d.Destinations) == 0 {
		return
	}
	first := d.Destinations[0]
	d.Service, d.ServiceEntry = first.Service, first.ServiceEntry
	var unknown []string
	for _, ds := range d.Destinations {
		if ds.Service == nil && ds.ServiceEntry == nil {
			unknown = append(unknown, ds.Host)
		}
		if ds.Service != nil && ds.Service.Port(ds.Port) == nil {
			d.Assume(fmt.Sprintf("Service %s has no port %d: Envoy has no cluster outbound|%d|%s|%s and answers 503 NC for that destination", ds.Service.Key(), ds.Port, ds.Port, ds.Subset, ds.Host))
		}
		if ds.Service != nil && ds.Service.Obj != nil {
			d.By = routeAddRef(d.By, ds.Service.Obj.Ref("metadata.name"))
		}
		if ds.ServiceEntry != nil {
			d.By = routeAddRef(d.By, ds.ServiceEntry.Obj.Ref("spec.hosts"))
		}
	}
	if len(unknown) > 0 {
		d.UnknownHost = true
		d.Reason += fmt.Sprintf("; destination host %s is not a Service or ServiceEntry visible to namespace %s, so Envoy has no cluster for it and answers 503 NC (cluster_not_found)", strings.Join(unknown, ", "), proxyNS)
	}
}

// ---------------------------------------------------------------------------
// Protocols

// routePortProtocol is Istio's protocol selection for a Service port
// (pkg/config/kube/conversion.go ConvertProtocol, protocol.Parse;
// https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/):
// UDP by the port's protocol; else the appProtocol when set (the port name is
// then not read), with Kubernetes' kubernetes.io/h2c, ws and wss; else the
// port name; a "grpc-web" prefix first, then the part before the first "-"
// parsed case-insensitively; an unknown value is TCP on the well-known ports
// 25, 53, 3306 and 27017 (sniffing would break them) and auto-detected
// elsewhere. It returns "http", "tcp", "tls", "udp" or "auto".
func routePortProtocol(sp *mesh.ServicePort) string {
	p, _ := portProtocol(sp)
	return p
}

// Where a Service port's protocol comes from (portProtocol).
const (
	ProtocolByPortProtocol = "protocol"    // spec.ports[].protocol: UDP
	ProtocolByAppProtocol  = "appProtocol" // spec.ports[].appProtocol
	ProtocolByName         = "name"        // the port name's prefix
	ProtocolByNumber       = "number"      // a well-known port number
)

// portProtocol is routePortProtocol with what decided it ("" for auto).
func portProtocol(sp *mesh.ServicePort) (string, string) {
	if strings.EqualFold(sp.Protocol, "UDP") {
		return "udp", ProtocolByPortProtocol
	}
	name, by := sp.Name, ProtocolByName
	if sp.AppProtocol != "" {
		name, by = sp.AppProtocol, ProtocolByAppProtocol
		switch name {
		case "kubernetes.io/h2c", "kubernetes.io/ws":
			return "http", by
		case "kubernetes.io/wss":
			return "tls", by
		}
	}
	if len(name) >= len("grpc-web") && strings.EqualFold(name[:len("grpc-web")], "grpc-web") {
		return "http", by
	}
	if i := strings.IndexByte(name, '-'); i >= 0 {
		name = name[:i]
	}
	switch strings.ToLower(name) {
	case "http", "http2", "grpc", "http_proxy":
		return "http", by
	case "https", "tls":
		return "tls", by
	case "tcp", "mongo", "mysql", "redis":
		return "tcp", by
	case "udp":
		return "udp", by
	}
	switch sp.Port {
	case 25, 53, 3306, 27017:
		return "tcp", ProtocolByNumber
	}
	return "auto", ""
}

// routeGatewayProtocol classifies a Gateway server (pkg/config/gateway
// IsHTTPServer, IsTLSServer, IsPassThroughServer): "http" for plaintext HTTP,
// "https" for HTTPS terminated at the gateway, "passthrough" for TLS
// passthrough, "tls" for TLS terminated into TCP, "tcp" for plain TCP.
func routeGatewayProtocol(s *networking.Server) string {
	p := strings.ToUpper(s.GetPort().GetProtocol())
	pass := s.GetTls() != nil && (s.GetTls().GetMode() == networking.ServerTLSSettings_PASSTHROUGH || s.GetTls().GetMode() == networking.ServerTLSSettings_AUTO_PASSTHROUGH)
	switch p {
	case "HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY":
		return "http"
	case "HTTPS":
		if pass {
			return "passthrough"
		}
		return "https"
	case "TLS":
		if pass || s.GetTls() == nil {
			return "passthrough"
		}
		return "tls"
	}
	return "tcp"
}

// ---------------------------------------------------------------------------
// Sidecar

// routeAssumeUnread adds, for each routing kind that could not be read from
// the cluster (mesh.Options.Unread), the assumption that there are none.
func routeAssumeUnread(x *mesh.Index, d *Decision, kinds ...string) {
	for _, k := range kinds {
		d.AssumeKey(x, mesh.AssumeUnread(k))
	}
}

// RouteFromSidecar says where the sidecar of client sends req: the `mesh`
// VirtualService for the host (one visible to the client's namespace), else
// the default route straight to the service. An unknown host goes to
// PassthroughCluster under ALLOW_ANY and gets 502 under REGISTRY_ONLY.
func (e *Engine) RouteFromSidecar(client *mesh.Workload, req Request) RouteDecision {
	k := sidecarRouteKey{ns: client.Namespace, req: routeRequestKey(req)}
	if e.vsIdx().sourceLabels {
		k.labels = routeLabelString(client.Labels)
	}
	if c, ok := e.rt.sideRt[k]; ok {
		return routeClip(*c)
	}
	d := e.routeFromSidecar(client, req)
	// Live mode: VirtualServices and ServiceEntries the user may not list are unknown.
	routeAssumeUnread(e.X, &d.Decision, "VirtualService", "ServiceEntry")
	d = routeClip(d)
	if e.rt.sideRt == nil || len(e.rt.sideRt) >= requestCacheMax {
		e.rt.sideRt = map[sidecarRouteKey]*RouteDecision{}
	}
	c := d
	e.rt.sideRt[k] = &c
	return d
}

// routeClip clips the slices of a cached decision (see clipDecision).
func routeClip(d RouteDecision) RouteDecision {
	d.Decision = clipDecision(d.Decision)
	d.Destinations = d.Destinations[:len(d.Destinations):len(d.Destinations)]
	return d
}

// routeRequestKey serializes a request for caching.
func routeRequestKey(r Request) string {
	var b strings.Builder
	b.WriteString(r.Scheme)
	b.WriteByte('|')
	b.WriteString(r.Host)
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(int(r.Port)))
	b.WriteByte('|')
	b.WriteString(r.Path)
	b.WriteByte('|')
	b.WriteString(r.Method)
	for _, k := range objects.SortedKeys(r.Headers) {
		b.WriteByte('|')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(r.Headers[k])
	}
	return b.String()
}

func (e *Engine) routeFromSidecar(client *mesh.Workload, req Request) RouteDecision {
	d := RouteDecision{Server: -1, HTTPRoute: -1, HTTPMatch: -1, TCPRoute: -1, TLSRoute: -1}
	svc, fqdn, hd := e.ResolveHost(client.Namespace, req.Host)
	d.Merge(hd)
	var se *mesh.ServiceEntry
	if svc == nil {
		se, _ = e.serviceEntryFor(fqdn, client.Namespace)
	} else if !e.serviceVisible(svc, client.Namespace) {
		d.Assume(fmt.Sprintf("Service %s is not exported to namespace %s (annotation networking.istio.io/exportTo), so the client's sidecar has no configuration for it", svc.Key(), client.Namespace))
		svc = nil
	}

	// The listener port.
	port := req.Port
	if port == 0 {
		switch {
		case svc != nil && len(svc.Ports) == 1:
			port = svc.Ports[0].Port
		case req.Scheme == "https":
			port = 443
		default:
			port = 80
		}
	}
	d.ListenPort = port

	isHTTP := req.Scheme == "http" || req.Scheme == ""
	var sp *mesh.ServicePort
	if svc != nil {
		sp = svc.Port(port)
		if sp == nil {
			d.NoRouteReason = NoRouteNoServicePort
			d.Reason = fmt.Sprintf("Service %s has no port %d: the sidecar has no listener for it, and the ClusterIP does not forward that port", svc.Key(), port)
			d.By = append(d.By, svc.Obj.Ref("spec.ports"))
			return d
		}
		switch routePortProtocol(sp) {
		case "http":
			isHTTP = true
		case "tcp", "tls", "udp":
			isHTTP = false
		}
	}
	d.HTTP = isHTTP

	// Find the mesh VirtualService for the host. The sidecar keeps one virtual
	// host per service and port: the first VirtualService (private, exported,
	// public; each in creation order) that claims the host wins, later ones are
	// dropped as duplicate domains (httproute.go BuildSidecarOutboundVirtualHosts).
	known := svc != nil || se != nil
	lookup := fqdn
	var ent *vsEntry
	var candidates []*vsEntry
	if known || (isHTTP && port == 80) {
		// VirtualServices for hosts outside the registry only take effect for
		// HTTP on port 80 (route.go buildSidecarVirtualHostsForVirtualService);
		// TCP has no listener for such a host.
		candidates = e.meshVSFor(lookup, client.Namespace)
	}
	var routes []envoyRoute
	for _, c := range candidates {
		if isHTTP {
			rs := buildEnvoyRoutes(c, uint32(port), "mesh", client.Labels, client.Namespace)
			if len(rs) == 0 {
				// A VirtualService none of whose routes applies to this proxy
				// and port yields no virtual host (BuildHTTPRoutesForVirtualService
				// returns an error), so the next one or the default applies.
				d.Assume(fmt.Sprintf("VirtualService %s/%s covers %s but none of its http routes applies to port %d for this client (match port, sourceLabels, sourceNamespace or gateways)", c.vs.Namespace, c.vs.Name, lookup, port))
				continue
			}
			ent, routes = c, rs
		} else {
			ent = c
		}
		break
	}
	if len(candidates) > 1 && ent != nil {
		after := false
		for _, c := range candidates {
			if c == ent {
				after = true
				continue
			}
			if after {
				d.Assume(fmt.Sprintf("VirtualService %s/%s also claims %s but %s/%s comes first (exportTo order, then creation order), so the sidecar ignores it", c.vs.Namespace, c.vs.Name, lookup, ent.vs.Namespace, ent.vs.Name))
			}
		}
	}

	if ent == nil && !known {
		d.UnknownHost = true
		d.NoRouteReason = NoRouteUnknownHost
		if e.X.Mesh.OutboundPolicy == mesh.OutboundRegistryOnly {
			d.Action, d.Status = ActionBlackhole, 502
			d.Reason = fmt.Sprintf("%s is not in the service registry and the outbound traffic policy is REGISTRY_ONLY: the sidecar sends it to BlackHoleCluster and answers 502", fqdn)
		} else {
			d.Action = ActionPassthrough
			d.Reason = fmt.Sprintf("%s is not in the service registry: under ALLOW_ANY the sidecar forwards it to PassthroughCluster as is (plaintext, no routing rules, no mTLS); DNS decides where it goes", fqdn)
		}
		d.AssumeKey(e.X, mesh.AssumeOutboundPolicy)
		if e.X.Mesh.Source != nil {
			d.By = append(d.By, e.X.Mesh.Source.Ref("data.mesh"))
		}
		return d
	}

	if ent != nil {
		for _, n := range ent.notes {
			d.Assume(n)
		}
		d.VirtualService = ent.vs
		if isHTTP {
			return e.finishHTTPRoutes(d, routes, newRouteReq(req), client.Namespace, port, fmt.Sprintf("the client's sidecar routes %s by VirtualService %s/%s", lookup, ent.vs.Namespace, ent.vs.Name))
		}
		if r, ok := e.matchL4(ent, req, uint32(port), "mesh", client.Labels, client.Namespace, &d); ok {
			return r
		}
		d.Assume(fmt.Sprintf("VirtualService %s/%s has no tcp/tls route for port %d: the sidecar's TCP listener falls back to the service's own cluster", ent.vs.Namespace, ent.vs.Name, port))
		d.VirtualService = nil
	}

	// Default route: straight to the service (route.go
	// buildSidecarVirtualHostForService: cluster outbound|port||host).
	d.Matched = true
	d.Action = ActionRoute
	dst := RouteDestination{Host: fqdn, Port: port, Weight: 100, Service: svc, ServiceEntry: se}
	d.Destinations = []RouteDestination{dst}
	d.Service, d.ServiceEntry = svc, se
	switch {
	case svc != nil:
		d.Reason = "no VirtualService applies to " + fqdn + " for this client: the sidecar sends the request straight to Service " + svc.Key() + " port " + itoa(port) + " (cluster outbound|" + itoa(port) + "||" + fqdn + ")"
		d.By = append(d.By, svc.Obj.Ref(sp.Path))
	default:
		d.Reason = fmt.Sprintf("no VirtualService applies to %s: the sidecar sends the request to ServiceEntry %s/%s (cluster outbound|%d||%s)", fqdn, se.Namespace, se.Name, port, fqdn)
	}
	return d
}

// meshVSFor returns the mesh-bound VirtualServices visible in namespace ns
// that claim host, in Istio's order; among wildcard VirtualServices only the
// most specific wildcard applies to a service (sidecar.go
// mostSpecificWildcardVsIndex).
func (e *Engine) meshVSFor(host, ns string) []*vsEntry {
	ix := e.vsIdx()
	list := append([]*vsEntry(nil), ix.meshExact[host]...)
	best, bestLen := []*vsEntry(nil), -1
	for _, ent := range ix.meshWild {
		for _, h := range ent.hosts {
			if strings.HasPrefix(h, "*") && routeHostMatches(h, host) {
				if len(h) > bestLen {
					best, bestLen = []*vsEntry{ent}, len(h)
				} else if len(h) == bestLen {
					best = append(best, ent)
				}
			}
		}
	}
	list = append(list, best...)
	return routeVisibleSorted(list, ns)
}

// finishHTTPRoutes picks the first Envoy route that matches the request.
func (e *Engine) finishHTTPRoutes(d RouteDecision, routes []envoyRoute, r *routeReq, proxyNS string, listenPort int32, intro string) RouteDecision {
	var misses []string
	for _, er := range routes {
		ok, why := routeMatches(er.fm.m, r)
		if !ok {
			if len(misses) < 4 {
				misses = append(misses, fmt.Sprintf("%s: %s", er.fm.path, why))
			}
			continue
		}
		d.Matched = true
		d.VirtualService = er.ent.vs
		d.Delegate = er.fr.delegate
		d.HTTPRoute = er.fr.rootIndex
		d.HTTPMatch = er.fm.index
		at := er.fr.path
		if er.fm.m != nil {
			at = er.fm.path
		}
		d.By = append([]objects.Ref{er.fr.obj.Ref(at)}, d.By...)
		where := fmt.Sprintf("%s/%s %s", er.fr.obj.Namespace, er.fr.obj.Name, at)
		switch {
		case er.fr.redirect != nil:
			d.Action = ActionRedirect
			d.Status = int(er.fr.redirect.GetRedirectCode())
			if d.Status == 0 {
				d.Status = 301
			}
			d.Reason = fmt.Sprintf("%s; route %s redirects (%d)", intro, where, d.Status)
		case er.fr.direct != nil:
			d.Action = ActionDirectResponse
			d.Status = int(er.fr.direct.GetStatus())
			d.Reason = fmt.Sprintf("%s; route %s answers directly with %d", intro, where, d.Status)
		default:
			d.Action = ActionRoute
			d.Destinations = e.routeDestinations(er.fr.dests, er.fr.hostNS, proxyNS, listenPort)
			var ds []string
			for _, x := range d.Destinations {
				s := fmt.Sprintf("%s:%d", x.Host, x.Port)
				if x.Subset != "" {
					s += " subset " + x.Subset
				}
				if len(d.Destinations) > 1 {
					s += fmt.Sprintf(" (weight %d)", x.Weight)
				}
				ds = append(ds, s)
			}
			d.Reason = fmt.Sprintf("%s; route %s sends it to %s", intro, where, strings.Join(ds, ", "))
			if len(d.Destinations) == 0 {
				d.Reason = fmt.Sprintf("%s; route %s has no destination", intro, where)
			}
			e.finishDestinations(&d, proxyNS)
		}
		return d
	}
	d.Matched = false
	d.NoRouteReason = NoRouteNoMatch
	d.Status = 404
	d.Reason = fmt.Sprintf("%s, but no route matches %s %s (Envoy answers 404 NR, route_not_found)", intro, r.method, r.path)
	if len(misses) > 0 {
		d.Reason += ": " + strings.Join(misses, "; ")
	}
	if len(routes) > 0 {
		d.By = append([]objects.Ref{routes[0].ent.vs.Obj.Ref("spec.http")}, d.By...)
	}
	return d
}

// matchL4 picks a tcp (or tls, by SNI) route of a VirtualService
// (gateway.go buildGatewayNetworkFiltersFromTCPRoutes, l4MultiMatch;
// sidecar: tcp routes matched by port, sourceLabels and gateways).
func (e *Engine) matchL4(ent *vsEntry, req Request, listenPort uint32, gateway string, labels map[string]string, proxyNS string, d *RouteDecision) (RouteDecision, bool) {
	l4ok := func(port uint32, gws []string, sl map[string]string, sns string) bool {
		if port != 0 && port != listenPort {
			return false
		}
		if len(gws) > 0 {
			for _, g := range routeResolveGateways(gws, ent.vs.Namespace) {
				if g == gateway {
					return true
				}
			}
			return false
		}
		if gateway != "mesh" {
			return true
		}
		return mesh.SubsetOf(sl, labels) && (sns == "" || sns == proxyNS)
	}
	if req.Scheme == "https" || req.Scheme == "tls" {
		sni := routeNormalizeHost(req.Host)
		for i, t := range ent.vs.Spec.GetTls() {
			for k, m := range t.GetMatch() {
				if !l4ok(m.GetPort(), m.GetGateways(), m.GetSourceLabels(), m.GetSourceNamespace()) {
					continue
				}
				if !routeSNIMatches(m.GetSniHosts(), sni) {
					continue
				}
				r := *d
				r.Matched, r.Action, r.HTTP = true, ActionRoute, false
				r.TLSRoute = i
				r.Destinations = e.routeL4Destinations(t.GetRoute(), ent.vs.Namespace, proxyNS, int32(listenPort))
				path := objects.Index(objects.Index("spec.tls", i)+".match", k)
				r.By = append([]objects.Ref{ent.vs.Obj.Ref(path)}, r.By...)
				r.Reason = fmt.Sprintf("VirtualService %s/%s %s matches SNI %s", ent.vs.Namespace, ent.vs.Name, path, sni)
				e.finishDestinations(&r, proxyNS)
				return r, true
			}
		}
	}
	for i, t := range ent.vs.Spec.GetTcp() {
		ok := len(t.GetMatch()) == 0
		for _, m := range t.GetMatch() {
			if l4ok(m.GetPort(), m.GetGateways(), m.GetSourceLabels(), m.GetSourceNamespace()) {
				ok = true
				if len(m.GetDestinationSubnets()) > 0 || m.GetSourceSubnet() != "" {
					d.Assume(fmt.Sprintf("VirtualService %s/%s spec.tcp[%d] also matches on subnets, which meshdoctor does not evaluate", ent.vs.Namespace, ent.vs.Name, i))
				}
				break
			}
		}
		if !ok || len(t.GetRoute()) == 0 {
			continue
		}
		r := *d
		r.Matched, r.Action, r.HTTP = true, ActionRoute, false
		r.TCPRoute = i
		r.Destinations = e.routeL4Destinations(t.GetRoute(), ent.vs.Namespace, proxyNS, int32(listenPort))
		path := objects.Index("spec.tcp", i)
		r.By = append([]objects.Ref{ent.vs.Obj.Ref(path)}, r.By...)
		r.Reason = fmt.Sprintf("VirtualService %s/%s %s routes the connection", ent.vs.Namespace, ent.vs.Name, path)
		e.finishDestinations(&r, proxyNS)
		return r, true
	}
	return RouteDecision{}, false
}

// routeSNIMatches matches an SNI against server names as Envoy's filter chain
// match does: exact or "*.suffix"; an empty list matches any SNI.
func routeSNIMatches(names []string, sni string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		n = strings.ToLower(n)
		if n == "*" || n == sni || (strings.HasPrefix(n, "*.") && strings.HasSuffix(sni, n[1:])) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Gateway

// gatewayView is what a gateway workload is configured with.
type gatewayView struct {
	gateways []*mesh.Gateway // selecting Gateway resources, creation order
	services []*mesh.Service // Services selecting the gateway pods
	assumed  []string
	servers  []gwServer
}

// gwServer is one server of one Gateway resource, after merging.
type gwServer struct {
	gw       *mesh.Gateway
	index    int
	s        *networking.Server
	hosts    []string // sanitized: "./h" -> "gwns/h", "*/h" -> "h"
	port     uint32   // resolved listen (target) port
	proto    string   // routeGatewayProtocol
	name     string   // "ns/name"
	rejected string   // why Istio skips it (port conflict, duplicate TLS host)
}

// defaultGatewayServicePorts are the Service ports of Istio's
// gateways/istio-ingress chart (manifests/charts/gateways/istio-ingress/values.yaml),
// used for the implicit gateway, whose Service is not in the input.
var defaultGatewayServicePorts = []mesh.ServicePort{
	{Name: "status-port", Port: 15021},
	{Name: "http2", Port: 80},
	{Name: "https", Port: 443},
}

var defaultGatewayTargetPorts = map[int32]int32{15021: 15021, 80: 8080, 443: 8443}

func (e *Engine) gatewayView(gw *mesh.Workload) *gatewayView {
	if e.rt.gwViews == nil {
		e.rt.gwViews = map[*mesh.Workload]*gatewayView{}
	}
	if v, ok := e.rt.gwViews[gw]; ok {
		return v
	}
	v := &gatewayView{}
	// Gateway selection: a Gateway without selector applies to every gateway
	// workload, otherwise its selector must be a subset of the pod labels; by
	// default Gateways in any namespace apply (push_context.go mergeGateways,
	// initGateways; PILOT_SCOPE_GATEWAY_TO_NAMESPACE=false).
	for _, g := range e.X.Gateways {
		sel := g.Spec.GetSelector()
		if sel != nil && !mesh.SubsetOf(sel, gw.Labels) {
			continue
		}
		v.gateways = append(v.gateways, g)
		if g.Namespace != gw.Namespace {
			v.assumed = append(v.assumed, fmt.Sprintf("Gateway %s/%s applies to the gateway pods in %s because PILOT_SCOPE_GATEWAY_TO_NAMESPACE is off (Istio's default)", g.Namespace, g.Name, gw.Namespace))
		}
	}
	for _, s := range e.X.ServicesIn(gw.Namespace) {
		if len(s.Selector) > 0 && mesh.SubsetOf(s.Selector, gw.Labels) {
			v.services = append(v.services, s)
		}
	}
	v.servers = e.mergeGatewayServers(gw, v)
	e.rt.gwViews[gw] = v
	return v
}

// gatewayTargetPort maps a Service port of the gateway to the port the pod
// listens on.
func (e *Engine) gatewayTargetPort(gw *mesh.Workload, sp *mesh.ServicePort) int32 {
	if sp.TargetPort.Type == intstr.String {
		if _, cp := gw.NamedPort(sp.TargetPort.StrVal); cp != nil {
			return cp.Port
		}
		return 0
	}
	return sp.TargetPort.IntVal
}

// resolveGatewayPort is model/gateway.go resolvePorts for selector-based
// Gateways: a server port that is a port of a Service selecting the gateway
// pods listens on that Service port's targetPort (the first such Service);
// otherwise on the port as written.
func (e *Engine) resolveGatewayPort(gw *mesh.Workload, v *gatewayView, n uint32) uint32 {
	for _, s := range v.services {
		for i := range s.Ports {
			if uint32(s.Ports[i].Port) == n {
				if tp := e.gatewayTargetPort(gw, &s.Ports[i]); tp != 0 {
					return uint32(tp)
				}
			}
		}
	}
	if len(v.services) == 0 && gw.Implicit {
		if tp, ok := defaultGatewayTargetPorts[int32(n)]; ok {
			return uint32(tp)
		}
	}
	return n
}

// mergeGatewayServers lists the servers of the selected Gateways with their
// listen ports, marking those Istio rejects when merging (model/gateway.go
// mergeGateways): on one port, plaintext HTTP servers merge; a server of
// another protocol conflicts with a plaintext server already there; TLS servers
// merge but a TLS host already taken on that port is rejected.
func (e *Engine) mergeGatewayServers(gw *mesh.Workload, v *gatewayView) []gwServer {
	var out []gwServer
	plain := map[uint32]string{}
	tlsHosts := map[uint32]map[string]bool{}
	for _, g := range v.gateways {
		for i, s := range g.Spec.GetServers() {
			if s.GetPort() == nil {
				continue
			}
			gs := gwServer{gw: g, index: i, s: s, name: g.Namespace + "/" + g.Name, proto: routeGatewayProtocol(s)}
			for _, h := range s.GetHosts() {
				h = strings.ToLower(h)
				if ns, name, ok := strings.Cut(h, "/"); ok {
					switch ns {
					case ".":
						h = g.Namespace + "/" + name
					case "*":
						h = name
					}
				}
				gs.hosts = append(gs.hosts, h)
			}
			gs.port = e.resolveGatewayPort(gw, v, s.GetPort().GetNumber())
			isTLS := gs.proto == "https" || gs.proto == "passthrough" || gs.proto == "tls"
			if cur, ok := plain[gs.port]; ok {
				if !(gs.proto == "http" && cur == "http") {
					gs.rejected = fmt.Sprintf("port %d already has a plaintext %s server; Istio skips this %s server (conflict)", gs.port, cur, gs.proto)
				}
			} else if isTLS {
				if tlsHosts[gs.port] == nil {
					tlsHosts[gs.port] = map[string]bool{}
				}
				var dup []string
				for _, h := range gs.hosts {
					if tlsHosts[gs.port][h] {
						dup = append(dup, h)
					}
				}
				if len(dup) > 0 {
					gs.rejected = fmt.Sprintf("TLS host(s) %s already served on port %d by an older server; Istio skips this server (duplicate SNI)", strings.Join(dup, ", "), gs.port)
				} else {
					for _, h := range gs.hosts {
						tlsHosts[gs.port][h] = true
					}
				}
			} else {
				seen := false
				for _, o := range out {
					if o.port == gs.port && o.rejected == "" {
						seen = true
					}
				}
				if !seen {
					plain[gs.port] = gs.proto
				} else {
					gs.rejected = fmt.Sprintf("port %d already has TLS servers; Istio does not mix them with a plaintext %s server", gs.port, gs.proto)
				}
			}
			out = append(out, gs)
		}
	}
	return out
}

// RouteFromGateway says where gateway workload gw sends req: the Gateway
// servers that listen on the request's port and accept its host (and SNI),
// then the VirtualServices bound to that Gateway, first matching route.
func (e *Engine) RouteFromGateway(gw *mesh.Workload, req Request) RouteDecision {
	d := RouteDecision{Server: -1, HTTPRoute: -1, HTTPMatch: -1, TCPRoute: -1, TLSRoute: -1}
	// Live mode: Gateways, VirtualServices and ServiceEntries the user may not list are unknown.
	routeAssumeUnread(e.X, &d.Decision, "Gateway", "VirtualService", "ServiceEntry")
	if gw.Implicit {
		d.AssumeKey(e.X, mesh.AssumeIngressGateway)
	}
	v := e.gatewayView(gw)
	for _, a := range v.assumed {
		d.Assume(a)
	}
	if len(v.gateways) == 0 {
		d.NoRouteReason = NoRouteNoGateway
		d.Reason = fmt.Sprintf("no Gateway resource selects the pods of %s (labels %s): the gateway has no listener for the request, so the connection is refused", gw.Key(), routeLabelString(gw.Labels))
		return d
	}
	scheme := req.Scheme
	if scheme == "" {
		scheme = "http"
	}
	host := routeNormalizeHost(req.Host)

	// 1. Which pod port does the request reach?
	listen, byScheme := e.gatewayListenPort(gw, v, req, &d)
	d.ListenPort = listen

	// 2. Servers on that port.
	var cands []int
	for i, s := range v.servers {
		if s.rejected != "" {
			continue
		}
		if byScheme {
			switch scheme {
			case "https":
				if s.proto != "https" && s.proto != "passthrough" && s.proto != "tls" {
					continue
				}
			case "tcp":
				if s.proto != "tcp" {
					continue
				}
			default:
				if s.proto != "http" {
					continue
				}
			}
			if listen == 0 {
				listen = int32(s.port)
				d.ListenPort = listen
			}
		}
		if s.port == uint32(listen) {
			cands = append(cands, i)
		}
	}
	for _, s := range v.servers {
		if s.rejected != "" && (s.port == uint32(listen) || byScheme) {
			d.Assume(fmt.Sprintf("Gateway %s server %d: %s", s.name, s.index, s.rejected))
		}
	}
	if len(cands) == 0 {
		d.NoRouteReason = NoRouteNoServer
		var ports []string
		for _, s := range v.servers {
			ports = append(ports, fmt.Sprintf("%d (%s, Gateway %s)", s.port, s.proto, s.name))
		}
		d.Reason = fmt.Sprintf("no Gateway server of %s listens on port %d; servers listen on %s: nothing accepts the connection", gw.Key(), listen, strings.Join(ports, ", "))
		for _, g := range v.gateways {
			d.By = append(d.By, g.Obj.Ref("spec.servers"))
		}
		return d
	}
	first := v.servers[cands[0]]
	switch first.proto {
	case "http":
		if scheme == "https" {
			d.NoRouteReason = NoRouteNoServer
			d.Reason = fmt.Sprintf("the client speaks TLS but Gateway %s server %d on port %d is plaintext %s: the handshake fails", first.name, first.index, listen, first.s.GetPort().GetProtocol())
			d.By = append(d.By, first.gw.Obj.Ref(objects.Index("spec.servers", first.index)))
			return d
		}
		return e.gatewayHTTP(gw, v, cands, req, host, listen, d)
	case "https":
		if scheme != "https" {
			d.NoRouteReason = NoRouteNoServer
			d.Reason = fmt.Sprintf("Gateway %s server %d on port %d expects TLS (HTTPS) but the client sends plaintext: the connection is reset", first.name, first.index, listen)
			d.By = append(d.By, first.gw.Obj.Ref(objects.Index("spec.servers", first.index)))
			return d
		}
		fallthrough
	default:
		// TLS servers: Envoy picks the filter chain by SNI (exact, then
		// longest wildcard, then a server with host "*", which sets no
		// server_names: listener.go filterChainMatch).
		sni := host
		if net.ParseIP(host) != nil {
			sni = ""
		}
		idx := routePickBySNI(v, cands, sni)
		if idx < 0 {
			if first.proto == "tcp" {
				idx = cands[0]
			} else {
				d.NoRouteReason = NoRouteNoServer
				d.Reason = fmt.Sprintf("no TLS server on port %d of %s accepts SNI %q (servers list only specific hosts): no filter chain matches and the connection is closed", listen, gw.Key(), sni)
				if sni == "" {
					d.Reason = fmt.Sprintf("the client calls an IP address, so it sends no SNI, and no TLS server on port %d of %s has host \"*\": no filter chain matches and the connection is closed", listen, gw.Key())
				}
				for _, i := range cands {
					s := v.servers[i]
					d.By = append(d.By, s.gw.Obj.Ref(objects.Path("spec", "servers", s.index, "hosts")))
				}
				return d
			}
		}
		s := v.servers[idx]
		d.Gateway, d.Server = s.gw, s.index
		d.By = append(d.By, s.gw.Obj.Ref(objects.Index("spec.servers", s.index)))
		if tls := s.s.GetTls(); tls != nil {
			switch tls.GetMode() {
			case networking.ServerTLSSettings_MUTUAL, networking.ServerTLSSettings_OPTIONAL_MUTUAL:
				d.Assume(fmt.Sprintf("Gateway %s server %d requires a client certificate (tls.mode %s): meshdoctor assumes the client presents one the gateway trusts", s.name, s.index, tls.GetMode()))
			case networking.ServerTLSSettings_ISTIO_MUTUAL:
				d.Assume(fmt.Sprintf("Gateway %s server %d requires an Istio client certificate (tls.mode ISTIO_MUTUAL): meshdoctor assumes the client holds one (a client outside the mesh has none and fails the handshake)", s.name, s.index))
			}
			if cn := tls.GetCredentialName(); cn != "" && s.proto != "passthrough" {
				d.Assume(fmt.Sprintf("the certificate Secret %q of Gateway %s server %d exists in %s (meshdoctor never reads Secrets)", cn, s.name, s.index, gw.Namespace))
			}
		}
		switch s.proto {
		case "https":
			if sni == "" {
				d.Assume(fmt.Sprintf("the client calls the IP address %s, so it sends no SNI and the Host header %q", host, req.Host))
			} else {
				d.Assume(fmt.Sprintf("the client sends SNI %q and the Host header %q", sni, req.Host))
			}
			return e.gatewayHTTP(gw, v, []int{idx}, req, host, listen, d)
		case "passthrough":
			if s.s.GetTls().GetMode() == networking.ServerTLSSettings_AUTO_PASSTHROUGH {
				d.Assume(fmt.Sprintf("Gateway %s server %d is AUTO_PASSTHROUGH (SNI-DNAT to outbound_.<port>_.<subset>_.<host>), which meshdoctor does not simulate", s.name, s.index))
			}
		}
		return e.gatewayL4(gw, v, s, req, listen, d)
	}
}

// gatewayListenPort maps the request's port to the port the gateway pod
// listens on: through a Service that selects the gateway pods (its port, or
// its nodePort, to its targetPort), or directly a target port. Without such a
// Service, it falls back to the ports of Istio's default gateway chart (the
// implicit gateway), then to matching servers by scheme. It returns the port
// (0 if unknown) and whether servers must be matched by scheme.
func (e *Engine) gatewayListenPort(gw *mesh.Workload, v *gatewayView, req Request, d *RouteDecision) (int32, bool) {
	p := req.Port
	if p == 0 {
		p = 80
		if req.Scheme == "https" {
			p = 443
		}
	}
	if len(v.services) > 0 {
		for _, s := range v.services {
			for i := range s.Ports {
				sp := &s.Ports[i]
				if sp.Port == p || (sp.NodePort != 0 && sp.NodePort == p) {
					tp := e.gatewayTargetPort(gw, sp)
					via := "port"
					if sp.Port != p {
						via = "nodePort"
					}
					d.By = append(d.By, s.Obj.Ref(sp.Path))
					d.Assume(fmt.Sprintf("port %d is the %s of Service %s port %s, which forwards to the gateway pods' port %d", p, via, s.Key(), sp.Name, tp))
					return tp, false
				}
			}
		}
		// Not a Service port or nodePort: the request reaches the pod port p
		// directly, or nothing at all.
		var svcs []string
		for _, s := range v.services {
			svcs = append(svcs, s.Key())
			d.By = append(d.By, s.Obj.Ref("spec.ports"))
		}
		d.Assume(fmt.Sprintf("port %d is neither a port nor a nodePort of Service %s: meshdoctor takes it as a pod port of the gateway", p, strings.Join(svcs, ", ")))
		return p, false
	}
	if gw.Implicit {
		for _, sp := range defaultGatewayServicePorts {
			tp := defaultGatewayTargetPorts[sp.Port]
			if sp.Port == p || tp == p {
				d.Assume(fmt.Sprintf("the gateway's Service is not in the input: meshdoctor assumes Istio's default ingress gateway Service (port %d -> target port %d, gateways/istio-ingress chart)", sp.Port, tp))
				return tp, false
			}
		}
	}
	for _, s := range v.servers {
		if s.port == uint32(p) {
			return p, false
		}
	}
	d.Assume(fmt.Sprintf("no Service of the gateway %s is in the input to map port %d (a nodePort or load balancer port?): meshdoctor matches Gateway servers by scheme (%s to the %s server)", gw.Key(), p, req.Scheme, strings.ToUpper(req.Scheme)))
	return 0, true
}

// routePickBySNI picks among TLS servers on one port the one whose hosts match
// the SNI best: exact, then the longest wildcard, then "*" (no server_names).
func routePickBySNI(v *gatewayView, cands []int, sni string) int {
	best, bestScore := -1, -1
	for _, i := range cands {
		s := v.servers[i]
		if s.proto == "http" || s.proto == "tcp" {
			continue
		}
		for _, h := range s.hosts {
			if _, name, ok := strings.Cut(h, "/"); ok {
				h = name
			}
			score := -1
			switch {
			case h == "*":
				score = 0
			case sni == "":
			case h == sni:
				score = 1 << 20
			case strings.HasPrefix(h, "*.") && strings.HasSuffix(sni, h[1:]):
				score = len(h)
			}
			if score > bestScore {
				best, bestScore = i, score
			}
		}
	}
	return best
}

// gwVHost is one virtual host of a gateway route configuration.
type gwVHost struct {
	domain string
	server gwServer
	routes []envoyRoute
}

// gwHTTPTable is the route configuration of a set of HTTP servers: virtual
// hosts by domain, in order, with their routes (catch-alls last).
type gwHTTPTable struct {
	vhosts   map[string]*gwVHost
	order    []string
	redirect map[string]gwServer
}

// gatewayHTTPTable builds (once per gateway and server set) the virtual hosts
// of gatewayHTTP.
func (e *Engine) gatewayHTTPTable(gw *mesh.Workload, v *gatewayView, cands []int) *gwHTTPTable {
	var key strings.Builder
	for _, i := range cands {
		key.WriteString(strconv.Itoa(i))
		key.WriteByte(',')
	}
	k := gwHTTPKey{gw: gw, servers: key.String()}
	if t, ok := e.rt.gwHTTP[k]; ok {
		return t
	}
	t := &gwHTTPTable{vhosts: map[string]*gwVHost{}}
	for _, i := range cands {
		s := v.servers[i]
		for _, ent := range e.vsForGateway(gw.Namespace, s.name) {
			var serverHosts []string
			for _, h := range s.hosts {
				if ns, name, ok := strings.Cut(h, "/"); ok {
					if ns != ent.vs.Namespace && ns != "*" {
						continue
					}
					h = name
				}
				serverHosts = append(serverHosts, h)
			}
			inter := routeHostIntersection(serverHosts, ent.hosts)
			if len(inter) == 0 {
				continue
			}
			rs := buildEnvoyRoutes(ent, s.s.GetPort().GetNumber(), s.name, gw.Labels, gw.Namespace)
			if len(rs) == 0 {
				continue
			}
			for _, h := range inter {
				vh := t.vhosts[h]
				if vh == nil {
					vh = &gwVHost{domain: h, server: s}
					t.vhosts[h] = vh
					t.order = append(t.order, h)
				}
				vh.routes = append(vh.routes, rs...)
			}
		}
		if s.s.GetTls().GetHttpsRedirect() {
			if t.redirect == nil {
				t.redirect = map[string]gwServer{}
			}
			for _, h := range s.hosts {
				if _, name, ok := strings.Cut(h, "/"); ok {
					h = name
				}
				t.redirect[h] = s
				if t.vhosts[h] == nil {
					t.vhosts[h] = &gwVHost{domain: h, server: s}
					t.order = append(t.order, h)
				}
			}
		}
	}
	for _, vh := range t.vhosts {
		sort.SliceStable(vh.routes, func(i, j int) bool { return !vh.routes[i].catchAll && vh.routes[j].catchAll })
	}
	if e.rt.gwHTTP == nil {
		e.rt.gwHTTP = map[gwHTTPKey]*gwHTTPTable{}
	}
	e.rt.gwHTTP[k] = t
	return t
}

// gatewayHTTP routes an HTTP request through the HTTP servers cands (merged
// into one route configuration for plaintext, one per server for HTTPS), as
// pilot/pkg/networking/core/gateway.go buildGatewayHTTPRouteConfig does: for
// each server, the VirtualServices bound to its Gateway and visible to the
// gateway's namespace; a virtual host for each host in the intersection of
// the server's hosts (those for the VirtualService's namespace) and the
// VirtualService's hosts; routes of several VirtualServices for one host are
// concatenated, catch-all routes moved last (route.go SortVHostRoutes).
func (e *Engine) gatewayHTTP(gw *mesh.Workload, v *gatewayView, cands []int, req Request, host string, listen int32, d RouteDecision) RouteDecision {
	d.HTTP = true
	tab := e.gatewayHTTPTable(gw, v, cands)
	vhosts, order, redirect := tab.vhosts, tab.order, tab.redirect
	if len(vhosts) == 0 {
		s := v.servers[cands[0]]
		d.Gateway, d.Server = s.gw, s.index
		d.NoRouteReason = NoRouteNoVirtualHost
		d.Status = 404
		d.By = append(d.By, s.gw.Obj.Ref(objects.Path("spec", "servers", s.index, "hosts")))
		d.Reason = fmt.Sprintf("no VirtualService bound to Gateway %s (and visible to namespace %s) has a host that the server on port %d accepts: the route configuration is empty and Envoy answers 404 NR", s.name, gw.Namespace, listen)
		if bound := e.vsIdx().byGateway[s.name]; len(bound) > 0 {
			var names []string
			for _, b := range bound {
				names = append(names, b.vs.Namespace+"/"+b.vs.Name)
			}
			d.Reason += fmt.Sprintf(" (bound: %s; check hosts, exportTo and the server's ns/ host prefixes)", strings.Join(names, ", "))
		} else {
			d.Reason += "; no VirtualService names this Gateway in spec.gateways"
		}
		return d
	}
	dom := routePickVHost(order, host)
	if dom == "" {
		s := v.servers[cands[0]]
		d.Gateway, d.Server = s.gw, s.index
		d.NoRouteReason = NoRouteNoVirtualHost
		d.Status = 404
		d.Reason = fmt.Sprintf("Gateway %s on port %d has virtual hosts %s but none matches host %q: Envoy answers 404 NR", s.name, listen, strings.Join(order, ", "), host)
		d.By = append(d.By, s.gw.Obj.Ref(objects.Path("spec", "servers", s.index, "hosts")))
		return d
	}
	vh := vhosts[dom]
	d.Gateway, d.Server = vh.server.gw, vh.server.index
	d.By = routeAddRef(d.By, vh.server.gw.Obj.Ref(objects.Index("spec.servers", vh.server.index)))
	intro := fmt.Sprintf("Gateway %s server %d (port %d) accepts host %q (virtual host %s)", vh.server.name, vh.server.index, vh.server.s.GetPort().GetNumber(), host, dom)
	if rs, ok := redirect[dom]; ok && req.Scheme != "https" {
		d.Matched, d.Action, d.Status = true, ActionRedirect, 301
		d.Reason = intro + fmt.Sprintf("; the server has tls.httpsRedirect, so the gateway answers 301 to https (Gateway %s server %d)", rs.name, rs.index)
		return d
	}
	return e.finishHTTPRoutes(d, vh.routes, newRouteReq(req), gw.Namespace, listen, intro)
}

// routeHostIntersection is pkg/config/host/names.go Names.Intersection: for
// each pair that matches, the more specific of the two.
func routeHostIntersection(a, b []string) []string {
	var out []string
	add := func(h string) {
		for _, o := range out {
			if o == h {
				return
			}
		}
		out = append(out, h)
	}
	for _, x := range a {
		for _, y := range b {
			switch {
			case routeHostSubsetOf(x, y):
				add(x)
			case routeHostSubsetOf(y, x):
				add(y)
			}
		}
	}
	return out
}

// routePickVHost selects the virtual host for a host as Envoy does (domains
// case-insensitive, port ignored since Istio sets ignore_port_in_host_matching):
// exact domain, then the longest suffix wildcard "*.x", then the longest
// prefix wildcard "x*", then "*".
func routePickVHost(domains []string, host string) string {
	best, bestLen := "", -1
	for _, dm := range domains {
		if dm == host {
			return dm
		}
	}
	for _, dm := range domains {
		if strings.HasPrefix(dm, "*") && dm != "*" && len(host) > len(dm)-1 && strings.HasSuffix(host, dm[1:]) && len(dm) > bestLen {
			best, bestLen = dm, len(dm)
		}
	}
	if best != "" {
		return best
	}
	for _, dm := range domains {
		if strings.HasSuffix(dm, "*") && dm != "*" && strings.HasPrefix(host, dm[:len(dm)-1]) && len(dm) > bestLen {
			best, bestLen = dm, len(dm)
		}
	}
	if best != "" {
		return best
	}
	for _, dm := range domains {
		if dm == "*" {
			return dm
		}
	}
	return ""
}

// gatewayL4 routes a TLS passthrough or TCP connection by the tls/tcp routes
// of the VirtualServices bound to the server's Gateway whose hosts match the
// server's (gateway.go buildGatewayNetworkFiltersFromTLSRoutes,
// buildGatewayNetworkFiltersFromTCPRoutes, pickMatchingGatewayHosts).
func (e *Engine) gatewayL4(gw *mesh.Workload, v *gatewayView, s gwServer, req Request, listen int32, d RouteDecision) RouteDecision {
	d.HTTP = false
	for _, ent := range e.vsForGateway(gw.Namespace, s.name) {
		if !routePickMatchingGatewayHosts(s.hosts, ent) {
			continue
		}
		rq := req
		if s.proto == "passthrough" {
			rq.Scheme = "tls"
		} else {
			rq.Scheme = "tcp"
		}
		if r, ok := e.matchL4(ent, rq, s.s.GetPort().GetNumber(), s.name, gw.Labels, gw.Namespace, &d); ok {
			r.VirtualService = ent.vs
			r.Reason = fmt.Sprintf("Gateway %s server %d (%s, port %d) hands the connection to %s", s.name, s.index, s.proto, listen, r.Reason)
			return r
		}
	}
	d.NoRouteReason = NoRouteNoMatch
	d.Reason = fmt.Sprintf("Gateway %s server %d (%s, port %d) has no matching %s route in a VirtualService bound to it: the connection is closed", s.name, s.index, s.proto, listen, map[bool]string{true: "tls", false: "tcp"}[s.proto == "passthrough"])
	return d
}

func routePickMatchingGatewayHosts(serverHosts []string, ent *vsEntry) bool {
	for _, vh := range ent.hosts {
		for _, gh := range serverHosts {
			if ns, name, ok := strings.Cut(gh, "/"); ok {
				if ns != ent.vs.Namespace {
					continue
				}
				gh = name
			}
			if routeHostMatches(gh, vh) {
				return true
			}
		}
	}
	return false
}

// routeAddRef appends a reference unless it is already there.
func routeAddRef(refs []objects.Ref, r objects.Ref) []objects.Ref {
	for _, o := range refs {
		if o == r {
			return refs
		}
	}
	return append(refs, r)
}

func routeLabelString(l map[string]string) string {
	var parts []string
	for _, k := range objects.SortedKeys(l) {
		parts = append(parts, k+"="+l[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}
