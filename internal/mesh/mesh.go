// Package mesh is the immutable index of everything loaded: namespaces,
// workloads, services, Istio policies and the mesh config, with lookups by
// namespace, labels, host and port. It decides nothing about Istio's semantics
// (that is package resolve); it only organizes the input and records each
// default it had to assume.
package mesh

import (
	"sort"
	"strings"
	"sync"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Well-known label and annotation names.
const (
	LabelInjection        = "istio-injection"
	LabelRev              = "istio.io/rev"
	LabelInject           = "sidecar.istio.io/inject" // pod label and annotation
	LabelTLSMode          = "security.istio.io/tlsMode"
	LabelDataplaneMode    = "istio.io/dataplane-mode"
	AnnotationSidecarStat = "sidecar.istio.io/status"
	ProxyContainerName    = "istio-proxy"
)

// Defaults of SPEC.md used when the cluster parts are not in the input.
const (
	DefaultRootNamespace = "istio-system"
	DefaultTrustDomain   = "cluster.local"
	DefaultDomain        = "cluster.local"
	DefaultGatewayName   = "istio-ingressgateway"
	DefaultGatewaySA     = "istio-ingressgateway-service-account"
	DefaultNamespace     = "default"
	OutboundAllowAny     = "ALLOW_ANY"
	OutboundRegistryOnly = "REGISTRY_ONLY"
	AssumeRootNamespace  = "root-namespace"
	AssumeTrustDomain    = "trust-domain"
	AssumeAutoMTLS       = "auto-mtls"
	AssumeOutboundPolicy = "outbound-policy"
	AssumeIngressGateway = "ingress-gateway"
	AssumeDefaultNS      = "default-namespace"
)

// Index is everything loaded, organized for lookups. Build it once with Build;
// it is not modified afterwards.
type Index struct {
	Mesh MeshConfig

	Namespaces map[string]*Namespace
	Workloads  []*Workload // sorted by namespace, kind, name
	Services   []*Service  // sorted by namespace, name

	PeerAuthentications    []*PeerAuthentication
	DestinationRules       []*DestinationRule
	VirtualServices        []*VirtualService
	Gateways               []*Gateway
	AuthorizationPolicies  []*AuthorizationPolicy
	Sidecars               []*Sidecar
	ServiceEntries         []*ServiceEntry
	RequestAuthentications []*RequestAuthentication

	// Objects is every input object, in load order.
	Objects []*objects.Object

	// Assumed maps an assumption key (Assume*) to the sentence that states it, for
	// each default the index had to use. Results that depend on one list it.
	Assumed map[string]string

	workloadsByNS map[string][]*Workload
	servicesByNS  map[string][]*Service
	serviceByHost map[string]*Service

	// byLabel indexes the workloads by namespace and pod label for Select.
	// It is made on first use, once: an index is read by several goroutines
	// (package paths), and is not changed after Build.
	byLabelOnce sync.Once
	byLabel     map[labelKey][]*Workload
	// selecting maps a workload to the Services that select it (ServicesOf),
	// made on first use, once.
	selectingOnce sync.Once
	selecting     map[*Workload][]*Service
}

// labelKey is one pod label of a namespace's workloads.
type labelKey struct{ ns, key, value string }

// Assumption returns the sentence for an assumption key, if that default was used.
func (x *Index) Assumption(key string) (string, bool) {
	s, ok := x.Assumed[key]
	return s, ok
}

// Namespace returns the namespace, or nil.
func (x *Index) Namespace(name string) *Namespace { return x.Namespaces[name] }

// NamespaceNames returns all namespace names, sorted.
func (x *Index) NamespaceNames() []string { return objects.SortedKeys(x.Namespaces) }

// WorkloadsIn returns the workloads of a namespace.
func (x *Index) WorkloadsIn(ns string) []*Workload { return x.workloadsByNS[ns] }

// ServicesIn returns the services of a namespace.
func (x *Index) ServicesIn(ns string) []*Service { return x.servicesByNS[ns] }

// Workload finds a workload by namespace and name. When several kinds share the
// name, kind may say which ("" for any, preferring Deployment, StatefulSet,
// DaemonSet, then others).
func (x *Index) Workload(ns, name, kind string) *Workload {
	var best *Workload
	for _, w := range x.workloadsByNS[ns] {
		if w.Name != name || (kind != "" && !strings.EqualFold(kind, w.Kind)) {
			continue
		}
		if best == nil || kindRank(w.Kind) < kindRank(best.Kind) {
			best = w
		}
	}
	return best
}

func kindRank(k string) int {
	switch k {
	case "Deployment":
		return 0
	case "StatefulSet":
		return 1
	case "DaemonSet":
		return 2
	case "Pod":
		return 3
	}
	return 4
}

// Service returns the Service ns/name, or nil.
func (x *Index) Service(ns, name string) *Service {
	for _, s := range x.servicesByNS[ns] {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// ServiceByHost returns the Service whose FQDN is host, or nil.
func (x *Index) ServiceByHost(host string) *Service { return x.serviceByHost[host] }

// Select returns the workloads of namespace ns whose pod labels contain all of
// selector. An empty selector selects nothing, as a Service without a selector
// gets no endpoints from Kubernetes.
//
// It starts from the workloads that have the rarest of the selector's labels
// (a mesh of thousands of Services selects in namespaces of dozens of
// workloads), so the result keeps the namespace's workload order.
func (x *Index) Select(ns string, selector map[string]string) []*Workload {
	if len(selector) == 0 {
		return nil
	}
	x.byLabelOnce.Do(func() {
		x.byLabel = map[labelKey][]*Workload{}
		for n, ws := range x.workloadsByNS {
			for _, w := range ws {
				for k, v := range w.Labels {
					lk := labelKey{n, k, v}
					x.byLabel[lk] = append(x.byLabel[lk], w)
				}
			}
		}
	})
	var best []*Workload
	first := true
	for k, v := range selector {
		l := x.byLabel[labelKey{ns, k, v}]
		if len(l) == 0 {
			return nil
		}
		if first || len(l) < len(best) {
			best, first = l, false
		}
	}
	var out []*Workload
	for _, w := range best {
		if SubsetOf(selector, w.Labels) {
			out = append(out, w)
		}
	}
	return out
}

// ServicesOf returns the Services whose selector selects w (Select), in
// Service order: the Services whose ports may send to it.
func (x *Index) ServicesOf(w *Workload) []*Service {
	x.selectingOnce.Do(func() {
		x.selecting = map[*Workload][]*Service{}
		for _, svc := range x.Services {
			for _, sw := range x.Select(svc.Namespace, svc.Selector) {
				x.selecting[sw] = append(x.selecting[sw], svc)
			}
		}
	})
	return x.selecting[w]
}

// SubsetOf reports whether every key of sel has the same value in labels. An
// empty sel is a subset of anything (labels.Instance.SubsetOf in Istio).
func SubsetOf(sel, labels map[string]string) bool {
	for k, v := range sel {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// FQDN returns name.ns.svc.<domain>.
func FQDN(name, ns, domain string) string {
	return name + "." + ns + ".svc." + domain
}

func sortWorkloads(ws []*Workload) {
	sort.SliceStable(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Kind < b.Kind
	})
}
