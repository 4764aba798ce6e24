package resolve

import (
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
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
// public). The index over-approximates (a short host counts for every service
// of that name): a namespace counted in vain costs one more evaluation, never a
// wrong answer.
type hostViews struct {
	exact map[string][]string // FQDN -> namespaces
	short map[string][]string // first DNS label -> namespaces
	wild  []hostViewPattern
	all   []string // namespaces that see every host differently
}

type hostViewPattern struct {
	suffix string // "*.ns.svc.cluster.local" -> ".ns.svc.cluster.local"; "*" -> ""
	ns     []string
}

func (e *Engine) hostViewIndex() *hostViews {
	if e.pt.views != nil {
		return e.pt.views
	}
	v := &hostViews{exact: map[string][]string{}, short: map[string][]string{}}
	add := func(host, ownNS string, exportTo []string) {
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
			first, _, _ := strings.Cut(host, ".")
			v.short[first] = append(v.short[first], nss...)
		}
	}
	for _, dr := range e.X.DestinationRules {
		if dr.Spec != nil {
			add(dr.Spec.GetHost(), dr.Namespace, dr.Spec.GetExportTo())
		}
	}
	for _, vs := range e.X.VirtualServices {
		if vs.Spec == nil {
			continue
		}
		for _, h := range vs.Spec.GetHosts() {
			add(h, vs.Namespace, vs.Spec.GetExportTo())
		}
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
// root namespace, the service's own namespace, the namespaces the Service is
// exported to by name, and those that own (or are named in the exportTo of) a
// DestinationRule, VirtualService or ServiceEntry whose host may be svc's.
// Proxies of two namespaces outside the list see exactly the same
// DestinationRules, VirtualServices, ServiceEntries and Service visibility for
// the host. The list is sorted and may contain namespaces without workloads.
func (e *Engine) HostViews(svc *mesh.Service) []string {
	v := e.hostViewIndex()
	set := map[string]bool{e.X.Mesh.RootNamespace: true, svc.Namespace: true}
	for _, n := range v.all {
		set[n] = true
	}
	host := strings.ToLower(svc.Host)
	for _, n := range v.exact[host] {
		set[n] = true
	}
	for _, n := range v.short[strings.ToLower(svc.Name)] {
		set[n] = true
	}
	for _, p := range v.wild {
		if strings.HasSuffix(host, p.suffix) {
			for _, n := range p.ns {
				set[n] = true
			}
		}
	}
	if svc.Obj != nil {
		if k, ok := svc.Obj.Typed.(*corev1.Service); ok {
			for _, x := range strings.Split(k.Annotations["networking.istio.io/exportTo"], ",") {
				x = strings.TrimSpace(x)
				if x != "" && x != "*" && x != "." && x != "~" {
					set[x] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
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
