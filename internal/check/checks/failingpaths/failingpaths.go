// Package failingpaths reports the paths of the mesh that fail: every
// (client, Service port) pair and every gateway route, evaluated by package
// paths through package trace, so that `check` and `trace` cannot disagree.
// Failing paths are grouped by cause and by the object that decides the
// failing hop: one bad DestinationRule gives one finding that lists the
// callers it breaks.
package failingpaths

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/paths"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

const whyPaths = "The path is evaluated exactly as `meshdoctor trace` evaluates one request (package trace over the " +
	"engine's decisions), for every client and Service port of the mesh and every gateway route; see docs/causes.md " +
	"for the Istio behaviour behind each cause."

func pathCheck(code, name, cause string, sev check.Severity, title, what, why, example, fix string) *check.Check {
	return &check.Check{
		Code: code, Name: name, Severity: sev,
		Doc: check.Doc{Title: title, What: what, Why: why + " " + whyPaths, Example: example, Fix: fix},
		Run: func(p *check.Pass) { run(p, cause) },
	}
}

// The path checks, one per cause of SPEC.md.
var (
	PlaintextToStrict = pathCheck("MD0601", "plaintext-to-strict", trace.CausePlaintextToStrict, check.Error,
		"Plaintext sent to a STRICT server",
		"Callers send plaintext (no sidecar, or a DestinationRule with tls.mode DISABLE) to a port whose effective PeerAuthentication mode is STRICT.",
		"A STRICT sidecar has no filter chain for plaintext and resets the connection (pilot/pkg/networking/core/filterchain_options.go); a caller behind Envoy sees 503 with reset reason connection termination.",
		"kind: DestinationRule\nspec:\n  host: \"*.prod.svc.cluster.local\"\n  trafficPolicy: {tls: {mode: DISABLE}}   # the servers are STRICT",
		"Remove the tls DISABLE (auto mTLS then sends Istio mTLS to sidecars), inject a sidecar into the caller, or make the server's port PERMISSIVE.")
	MTLSToNonMesh = pathCheck("MD0602", "mtls-to-non-mesh", trace.CauseMTLSToNonMesh, check.Error,
		"Istio mTLS sent to a server that cannot terminate it",
		"Callers originate Istio mTLS (DestinationRule ISTIO_MUTUAL) to endpoints without a sidecar, or whose port is DISABLE.",
		"The server receives a TLS handshake it does not expect (pilot/pkg/networking/core/cluster_tls.go); the caller sees 503 UF with a TLS error.",
		"kind: DestinationRule\nspec:\n  host: postgres.prod.svc.cluster.local\n  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}   # postgres has no sidecar",
		"Set tls.mode DISABLE for that host, or let auto mTLS decide by removing the tls block.")
	SANMismatch = pathCheck("MD0603", "san-mismatch", trace.CauseSANMismatch, check.Error,
		"DestinationRule subjectAltNames that the server's identity does not match",
		"Callers verify the server certificate against subjectAltNames that do not include the server's SPIFFE identity.",
		"Envoy rejects the certificate (CERTIFICATE_VERIFY_FAILED); the caller sees 503.",
		"trafficPolicy:\n  tls:\n    mode: ISTIO_MUTUAL\n    subjectAltNames: [\"spiffe://cluster.local/ns/prod/sa/old-name\"]",
		"List the service account the server pods really run as, or remove subjectAltNames.")
	TLSToSidecar = pathCheck("MD0604", "tls-to-sidecar", trace.CauseTLSToSidecar, check.Error,
		"Non-Istio TLS originated to a sidecar that cannot take it",
		"Callers originate their own TLS (DestinationRule SIMPLE or MUTUAL) to a sidecar port that is STRICT or HTTP.",
		"A STRICT sidecar wants a mesh client certificate and an HTTP port has no chain that passes foreign TLS on (docs/causes.md TLS_TO_SIDECAR).",
		"trafficPolicy: {tls: {mode: SIMPLE}}   # towards a sidecar",
		"Use ISTIO_MUTUAL (or no tls block) towards sidecars.")
	AuthzDenied = pathCheck("MD0605", "authz-denied", trace.CauseAuthzDenied, check.Warning,
		"Callers denied by AuthorizationPolicy",
		"A gateway route leads to a Service port whose AuthorizationPolicies deny the gateway, or the policies of a Service port deny every workload of the mesh that could call it (a DENY rule matches, or ALLOW policies exist and none matches). Policies that let some mesh callers through are taken as an intended selection and not reported.",
		"Authorization runs CUSTOM, then DENY, then ALLOW; with any ALLOW policy a request must match one of its rules (security/v1beta1/authorization_policy.proto). Principal and namespace conditions need mTLS: plaintext requests never match them. Callers get 403 RBAC: access denied.",
		"kind: AuthorizationPolicy\nspec:\n  action: ALLOW\n  rules:\n  - from: [{source: {principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account]}}]\n# every service-to-service call in the namespace is now denied",
		"Add rules for the callers that must keep working, or suppress the finding when the denial is intended.")
	PortNotListening = pathCheck("MD0606", "port-not-listening", trace.CausePortNotListening, check.Error,
		"Nothing listens on the Service's target port",
		"The Service sends traffic to a pod port that no container declares and the application does not serve.",
		"The sidecar connects to the pod port and gets refused; callers see 503 UF `delayed connect error: 111` (loopback bindings are reported by MD0501).",
		"ports:\n- port: 80\n  targetPort: 8080   # the container listens on 8000",
		"Point targetPort at the port the container serves.")
	NoEndpoints = pathCheck("MD0607", "no-endpoints", trace.CauseNoEndpoints, check.Warning,
		"Service without endpoints that callers use",
		"The Service's selector matches no pod of the input (or only pods that give no endpoint), and callers of the mesh reach it.",
		"Envoy has no healthy upstream: 503 UH `no healthy upstream` (pilot/pkg/xds/endpoints/endpoint_builder.go).",
		"spec:\n  selector: {app: carts}   # the pods are labelled app: cart",
		"Fix the selector, or add the workload to the manifests.")
	UnknownSubset = pathCheck("MD0608", "unknown-subset", trace.CauseUnknownSubset, check.Error,
		"Route to a subset no DestinationRule defines",
		"A VirtualService route names a subset that the DestinationRule the caller uses for the host does not define.",
		"The subset has no Envoy cluster: 503 NC (pilot/pkg/networking/core/httproute.go).",
		"route:\n- destination: {host: cart, subset: v2}   # the DestinationRule defines only v1",
		"Define the subset in the DestinationRule that applies to the caller, or route to an existing one.")
	UnknownHost = pathCheck("MD0609", "unknown-host", trace.CauseUnknownHost, check.Error,
		"Route to a host that is not in the registry",
		"A route sends traffic to a host that no Service or ServiceEntry defines.",
		"Envoy has no cluster for it: 502/503 depending on the outbound traffic policy (REGISTRY_ONLY: BlackHoleCluster).",
		"route:\n- destination: {host: prod-blog}   # the Service is prod-blog-service",
		"Fix the destination host, or add a ServiceEntry.")
	NoRoute = pathCheck("MD0610", "no-route", trace.CauseNoRoute, check.Error,
		"Gateway route that matches no server or VirtualService",
		"A route bound to a gateway cannot be reached: no Gateway server or VirtualService matches its host and path.",
		"The gateway answers 404 NR.",
		"kind: VirtualService\nspec: {hosts: [shop.example.com], gateways: [shop-gw]}   # shop-gw serves only api.example.com",
		"Make the Gateway server's hosts cover the VirtualService's host.")
)

// result is computed once per run and read by every path check.
func result(p *check.Pass) *paths.Result { return p.Paths().Result }

type finding struct {
	at       objects.Ref
	detail   string
	groups   []*paths.Group
	services map[string]objects.Ref
	intended bool
}

func run(p *check.Pass, cause string) {
	res := result(p)
	byKey := map[string]*finding{}
	var keys []string
	for _, g := range res.Groups {
		t := g.Trace
		if t == nil || t.Result == trace.ResultOK || t.Cause != cause {
			continue
		}
		if cause == trace.CauseAuthzDenied && !g.Gateway && someAllowed(p, g) {
			// The policies let other callers of this port through: a
			// selection, presumably intended. Gateway routes are declared
			// traffic, so their denials are always reported.
			continue
		}
		if cause == trace.CausePortNotListening && loopback(p.Engine, g) {
			continue // MD0501 reports it, with its fix
		}
		at, detail := deciding(p.Engine, g)
		// Workloads without a sidecar refused by STRICT ports: that is what
		// STRICT is for; worth knowing, not an error.
		intended := cause == trace.CausePlaintextToStrict && !p.Engine.Sidecar(g.Clients.First()).HasProxy
		k := at.Kind + "|" + at.Namespace + "|" + at.Name + "|" + at.Field + "|" + at.File + "|" + fmt.Sprint(intended)
		f := byKey[k]
		if f == nil {
			f = &finding{at: at, detail: detail, services: map[string]objects.Ref{}, intended: intended}
			byKey[k] = f
			keys = append(keys, k)
		}
		f.groups = append(f.groups, g)
		if g.Service != nil {
			r := g.Service.Obj.Ref("metadata.name")
			if g.Port != nil {
				r = g.Service.Obj.Ref(g.Port.Path)
			}
			f.services[fmt.Sprintf("%s:%d", g.Service.Key(), portNum(g.Port))] = r
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := byKey[k]
		out := check.Finding{
			Object:  f.at,
			Message: fmt.Sprintf("%s: %s %s: %s", cause, callers(f), targets(f), f.detail),
		}
		if f.intended {
			out.Severity = check.Info
			out.Message = fmt.Sprintf("%s: %s %s, since they have no sidecar and the port is STRICT (as STRICT intends, if they are not meant to call it): %s", cause, callers(f), targets(f), f.detail)
		}
		related := make([]objects.Ref, 0, len(f.services))
		for _, s := range objects.SortedKeys(f.services) {
			related = append(related, f.services[s])
		}
		out.Relate(related...)
		out.Assumptions = f.groups[0].Trace.Assumptions
		if out.Severity != check.Info && p.TakeFix() {
			out.Fixes = fixes(p, f.groups[0], f.at)
		}
		p.Report(out)
	}
}

func portNum(sp *mesh.ServicePort) int32 {
	if sp == nil {
		return 0
	}
	return sp.Port
}

// deciding returns the first object of the failing hop and the hop's detail.
// For plaintext sent by a sidecar, the decisive object is the
// DestinationRule that disabled TLS (the engine's client TLS decision), not
// the server's PeerAuthentication: one bad DestinationRule, one finding.
func deciding(e *resolve.Engine, g *paths.Group) (objects.Ref, string) {
	if g.Trace.Cause == trace.CausePlaintextToStrict && g.Service != nil && g.Port != nil {
		client := g.Clients.First()
		if e.Sidecar(client).HasProxy {
			if d := e.DestinationRule(client, g.Service.Host); d.Rule != nil {
				if t := d.Rule.TLS(g.Port.Port, ""); t.Settings != nil && t.Mode() == "DISABLE" {
					_, detail := failingHop(g)
					return t.Ref(), fmt.Sprintf("%s sets tls.mode DISABLE, so %s", t.From.Obj.Key(), detail)
				}
			}
		}
	}
	if at, detail := failingHop(g); at.Kind != "" {
		return at, detail
	}
	if g.Service != nil {
		return g.Service.Obj.Ref("metadata.name"), g.Trace.Summary
	}
	return g.Clients.First().Ref(""), g.Trace.Summary
}

// failingHop returns the first object of the failing hop and its detail.
func failingHop(g *paths.Group) (objects.Ref, string) {
	for _, h := range g.Trace.Hops {
		if h.Status == trace.HopFail {
			if len(h.Objects) > 0 {
				return h.Objects[0], h.Detail
			}
			return objects.Ref{}, h.Detail
		}
	}
	return objects.Ref{}, g.Trace.Summary
}

// callers names up to five callers and counts them. A group may stand for
// thousands of callers and a finding for many groups: callers are counted
// exactly (by pointer) up to exactCount paths, beyond that the largest group
// gives a lower bound.
func callers(f *finding) string {
	const exactCount = 5000
	total, largest := 0, 0
	for _, g := range f.groups {
		total += g.Clients.Len()
		largest = max(largest, g.Clients.Len())
	}
	var names []string
	n, atLeast := 0, false
	switch {
	case len(f.groups) == 1 || total > exactCount:
		n, atLeast = largest, len(f.groups) > 1
		seen := map[*mesh.Workload]bool{}
		for _, g := range f.groups {
			g.Clients.Each(func(w *mesh.Workload) bool {
				if !seen[w] {
					seen[w] = true
					names = append(names, w.Key())
				}
				return len(seen) < 5
			})
			if len(seen) >= 5 {
				break
			}
		}
	default:
		seen := map[*mesh.Workload]bool{}
		for _, g := range f.groups {
			k := 0
			g.Clients.Each(func(w *mesh.Workload) bool {
				if !seen[w] {
					seen[w] = true
					if k < 5 {
						names = append(names, w.Key())
						k++
					}
				}
				return true
			})
		}
		n = len(seen)
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = names[:5]
	}
	s := strings.Join(names, ", ")
	if n > len(names) {
		s += fmt.Sprintf(" and %d more", n-len(names))
	}
	if n == 1 {
		return "caller " + s + " fails"
	}
	if atLeast {
		return fmt.Sprintf("at least %d callers (%s) fail", n, s)
	}
	return fmt.Sprintf("%d callers (%s) fail", n, s)
}

func targets(f *finding) string {
	keys := objects.SortedKeys(f.services)
	if len(keys) == 0 {
		var urls []string
		for _, g := range f.groups {
			urls = append(urls, g.URL)
		}
		sort.Strings(urls)
		return "on " + strings.Join(urls, ", ")
	}
	s := "to reach Service " + strings.Join(keys[:min(3, len(keys))], ", ")
	if len(keys) > 3 {
		s += fmt.Sprintf(" and %d more", len(keys)-3)
	}
	return s
}

// someAllowed reports whether some mesh client reaches the group's Service
// port: then a denial of others is the policy's selection.
func someAllowed(p *check.Pass, g *paths.Group) bool {
	return p.Paths().Reached(g.Service, g.Port)
}

// loopback reports whether an endpoint of the group's Service port binds to
// loopback (MD0501's finding).
func loopback(e *resolve.Engine, g *paths.Group) bool {
	if g.Service == nil || g.Port == nil {
		return false
	}
	for _, ep := range e.EndpointSet(g.Service, g.Port, nil).Endpoints {
		if e.MayBindLoopback(ep.Workload) && e.Listening(ep.Workload, ep.TargetPort).Loopback {
			return true
		}
	}
	return false
}

// fixes traces the group's request again with fixes; trace verifies each
// by tracing the patched mesh. On a large mesh every candidate costs a
// rebuild, so the trace runs on the namespaces the request concerns (the
// client's, the Service's, the deciding object's and the root namespace),
// and only when that scoped mesh reproduces the same verdict and cause.
func fixes(p *check.Pass, g *paths.Group, at objects.Ref) []check.Fix {
	client := g.Clients.First()
	nss := map[string]bool{client.Namespace: true, p.X.Mesh.RootNamespace: true, at.Namespace: true}
	if g.Service != nil {
		nss[g.Service.Namespace] = true
	}
	byNS := p.Shared("failingpaths.byns", func() any {
		m := map[string][]*objects.Object{}
		for _, o := range p.X.Objects {
			ns := o.Namespace
			if o.Kind == "Namespace" && ns == "" {
				ns = o.Name
			}
			m[ns] = append(m[ns], o)
		}
		return m
	}).(map[string][]*objects.Object)
	objs := append([]*objects.Object(nil), byNS[""]...)
	for _, ns := range objects.SortedKeys(nss) {
		if ns != "" {
			objs = append(objs, byNS[ns]...)
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Seq < objs[j].Seq })
	e := p.Engine
	if len(objs) < len(p.X.Objects) {
		e = resolve.New(trace.Rebuild(p.X, objs))
	}
	opts := trace.Options{Method: g.Method, Headers: g.Headers, AnyRequest: true}
	t, err := trace.Run(e, client.Key(), g.URL, opts)
	if err != nil || t.Result != g.Trace.Result || t.Cause != g.Trace.Cause {
		return nil // the scoped mesh does not reproduce the failure
	}
	var out []check.Fix
	for _, fx := range t.Fixes {
		if fx.Verified {
			out = append(out, check.Fix{Summary: fx.Summary, Patch: fx.Patch, Target: fx.Target})
		}
	}
	return out
}
