// Package randmesh describes small Kubernetes+Istio meshes and generates random ones from a
// seed. It has no Istio imports: the oracle (package oracle, build tag istiooracle) feeds the
// rendered objects to Istio's pilot, and meshdoctor's engine reads the rendered user manifests.
//
// A Mesh is the structured description. Derived fields (Workload.Sidecar, Pods, ClusterIP,
// Protocol, ...) are filled by Complete, which Generate calls; hand-written meshes call it too.
package randmesh

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// RootNamespace is the mesh root namespace (meshConfig.rootNamespace default).
const RootNamespace = "istio-system"

// Domain is the cluster DNS domain.
const Domain = "cluster.local"

// Mode is a PeerAuthentication mTLS mode. The empty Mode means the field is absent.
type Mode string

const (
	ModeAbsent     Mode = ""
	ModeUnset      Mode = "UNSET"
	ModeDisable    Mode = "DISABLE"
	ModePermissive Mode = "PERMISSIVE"
	ModeStrict     Mode = "STRICT"
)

// TLSMode is a DestinationRule ClientTLSSettings mode. The empty TLSMode means no tls field.
type TLSMode string

const (
	TLSAbsent      TLSMode = ""
	TLSDisable     TLSMode = "DISABLE"
	TLSIstioMutual TLSMode = "ISTIO_MUTUAL"
	TLSSimple      TLSMode = "SIMPLE"
)

// Protocol of a Service port, from its name prefix.
const (
	ProtocolHTTP = "http"
	ProtocolTCP  = "tcp"
)

// Namespace is a Kubernetes namespace.
type Namespace struct {
	Name string
	// Injection is the value of the istio-injection label: "enabled", "disabled" or "" (absent).
	Injection string
}

// Port is one container port of a workload and the Service port that targets it.
type Port struct {
	Name          string // Service port name, e.g. "http-web" or "tcp-db"
	Protocol      string // ProtocolHTTP or ProtocolTCP; derived from Name when empty
	ServicePort   int    // Service port; defaults to ContainerPort
	ContainerPort int    // container port = Service targetPort
}

// Pod is one replica of a workload.
type Pod struct {
	Name string
	IP   string
}

// Workload is a Deployment-like workload with exactly one Service (same name, selector
// app=<Name>).
type Workload struct {
	Name      string
	Namespace string
	// Labels are the pod template labels without Istio's own labels. Defaults to app=<Name>.
	Labels map[string]string
	// InjectLabel is the pod template label sidecar.istio.io/inject: "", "true" or "false".
	InjectLabel    string
	ServiceAccount string // defaults to "default"
	Ports          []Port
	Replicas       int // defaults to 1
	// ServiceExportTo is the Service's networking.istio.io/exportTo annotation, split on
	// commas; nil: no annotation (visible everywhere).
	ServiceExportTo []string
	// Headless: the Service has clusterIP: None (an ORIGINAL_DST cluster in Istio).
	Headless bool

	// Derived by Complete.
	Sidecar   bool   // whether Istio's injector gives its pods a sidecar
	Pods      []Pod  // one per replica, with distinct IPs
	ClusterIP string // of its Service
}

// Host is the FQDN of the workload's Service.
func (w *Workload) Host() string {
	return fmt.Sprintf("%s.%s.svc.%s", w.Name, w.Namespace, Domain)
}

// Key is "namespace/name".
func (w *Workload) Key() string { return w.Namespace + "/" + w.Name }

// PodLabels are the labels a running pod carries: the template labels plus, with a sidecar,
// the labels Istio's injector adds (security.istio.io/tlsMode=istio and the canonical ones).
func (w *Workload) PodLabels() map[string]string {
	out := map[string]string{}
	for k, v := range w.Labels {
		out[k] = v
	}
	if w.InjectLabel != "" {
		out["sidecar.istio.io/inject"] = w.InjectLabel
	}
	if w.Sidecar {
		out["security.istio.io/tlsMode"] = "istio"
		out["service.istio.io/canonical-name"] = w.Name
		rev := w.Labels["version"]
		if rev == "" {
			rev = "latest"
		}
		out["service.istio.io/canonical-revision"] = rev
	}
	return out
}

// PortMode is one portLevelMtls entry.
type PortMode struct {
	Port int
	Mode Mode
}

// PeerAuthentication is a security.istio.io PeerAuthentication.
type PeerAuthentication struct {
	Name      string
	Namespace string
	Selector  map[string]string // nil: no selector (namespace- or mesh-wide)
	Mode      Mode              // ModeAbsent: no mtls field
	PortLevel []PortMode        // portLevelMtls, keyed by a port number
	Created   time.Time
}

// PortPolicy is one trafficPolicy.portLevelSettings entry (keyed by Service port).
type PortPolicy struct {
	Port         int
	TLS          TLSMode
	LoadBalancer string // simple LB, e.g. "LEAST_REQUEST"; used to keep the entry non-empty
}

// TrafficPolicy is the subset of a DestinationRule trafficPolicy the generator uses.
type TrafficPolicy struct {
	TLS          TLSMode
	LoadBalancer string // simple LB; "PASSTHROUGH" makes the cluster ORIGINAL_DST
	PortLevel    []PortPolicy
	// With TLS set: tls.sni, tls.subjectAltNames (written when SANsSet, so an explicit empty
	// list can be rendered) and tls.credentialName.
	SNI             string
	SubjectAltNames []string
	SANsSet         bool
	CredentialName  string
}

// Subset is a DestinationRule subset.
type Subset struct {
	Name   string
	Labels map[string]string
	Policy *TrafficPolicy
}

// DestinationRule is a networking.istio.io DestinationRule.
type DestinationRule struct {
	Name      string
	Namespace string
	Host      string   // as written: FQDN, short name or wildcard
	ExportTo  []string // nil: field absent
	// WorkloadSelector is spec.workloadSelector.matchLabels; nil: no workloadSelector.
	WorkloadSelector map[string]string
	Policy           *TrafficPolicy
	Subsets          []Subset
	Created          time.Time
}

// Gateway is an ingress gateway client (istio-system/istio-ingressgateway by default). It has
// no Service: it only acts as a client.
type Gateway struct {
	Name           string
	Namespace      string
	Labels         map[string]string
	ServiceAccount string
	Pod            Pod
}

// Key is "namespace/name".
func (g *Gateway) Key() string { return g.Namespace + "/" + g.Name }

// MeshConfig is the part of Istio's mesh config a mesh may change (the `istio` ConfigMap of
// the root namespace, data.mesh). Zero fields keep Istio's defaults.
type MeshConfig struct {
	EnableAutoMtls                 *bool
	TrustDomain                    string
	DefaultDestinationRuleExportTo []string
}

// Mesh is one mesh: namespaces (the root namespace included), workloads with their Services,
// PeerAuthentications, DestinationRules, optionally an ingress gateway and a mesh config.
type Mesh struct {
	Seed                uint64
	MeshConfig          *MeshConfig // nil: Istio's defaults, no ConfigMap
	Namespaces          []Namespace
	Workloads           []Workload
	PeerAuthentications []PeerAuthentication
	DestinationRules    []DestinationRule
	Gateway             *Gateway
}

// TrustDomain is the mesh's trust domain (meshConfig.trustDomain, default cluster.local).
func (m *Mesh) TrustDomain() string {
	if m.MeshConfig != nil && m.MeshConfig.TrustDomain != "" {
		return m.MeshConfig.TrustDomain
	}
	return Domain
}

// Identity is the SPIFFE identity the pods of w present.
func (m *Mesh) Identity(w *Workload) string {
	sa := w.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	return fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", m.TrustDomain(), w.Namespace, sa)
}

// Namespace returns the namespace with that name, or nil.
func (m *Mesh) Namespace(name string) *Namespace {
	for i := range m.Namespaces {
		if m.Namespaces[i].Name == name {
			return &m.Namespaces[i]
		}
	}
	return nil
}

// Workload returns the workload namespace/name, or nil.
func (m *Mesh) Workload(namespace, name string) *Workload {
	for i := range m.Workloads {
		if m.Workloads[i].Namespace == namespace && m.Workloads[i].Name == name {
			return &m.Workloads[i]
		}
	}
	return nil
}

// BaseTime is the creation time generated objects are offset from.
var BaseTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// SidecarInjected reports whether Istio's default injection webhooks inject a pod with the
// given sidecar.istio.io/inject label into a namespace with the given istio-injection label:
// the namespace webhook (istio-injection=enabled, label not "false") or the object webhook
// (no istio-injection label, label "true").
func SidecarInjected(nsInjection, injectLabel string) bool {
	switch nsInjection {
	case "enabled":
		return injectLabel != "false"
	case "":
		return injectLabel == "true"
	default:
		return false
	}
}

// Complete fills the derived and defaulted fields. It is idempotent.
func (m *Mesh) Complete() {
	if m.Namespace(RootNamespace) == nil {
		m.Namespaces = append([]Namespace{{Name: RootNamespace}}, m.Namespaces...)
	}
	for i := range m.Workloads {
		w := &m.Workloads[i]
		if w.Labels == nil {
			w.Labels = map[string]string{}
		}
		if w.Labels["app"] == "" {
			w.Labels["app"] = w.Name
		}
		if w.ServiceAccount == "" {
			w.ServiceAccount = "default"
		}
		if w.Replicas <= 0 {
			w.Replicas = 1
		}
		for j := range w.Ports {
			p := &w.Ports[j]
			if p.ServicePort == 0 {
				p.ServicePort = p.ContainerPort
			}
			if p.Protocol == "" {
				if strings.HasPrefix(p.Name, "http") {
					p.Protocol = ProtocolHTTP
				} else {
					p.Protocol = ProtocolTCP
				}
			}
			if p.Name == "" {
				p.Name = fmt.Sprintf("%s-%d", p.Protocol, p.ServicePort)
			}
		}
		inj := ""
		if ns := m.Namespace(w.Namespace); ns != nil {
			inj = ns.Injection
		}
		w.Sidecar = SidecarInjected(inj, w.InjectLabel)
		if len(w.Pods) != w.Replicas {
			w.Pods = nil
			for j := 0; j < w.Replicas; j++ {
				w.Pods = append(w.Pods, Pod{
					Name: fmt.Sprintf("%s-%d", w.Name, j),
					IP:   fmt.Sprintf("10.10.%d.%d", i, 10+j),
				})
			}
		}
		if w.ClusterIP == "" {
			w.ClusterIP = fmt.Sprintf("10.96.%d.%d", i/200, 10+i%200)
		}
	}
	if g := m.Gateway; g != nil {
		if g.Name == "" {
			g.Name = "istio-ingressgateway"
		}
		if g.Namespace == "" {
			g.Namespace = RootNamespace
		}
		if g.Labels == nil {
			g.Labels = map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}
		}
		if g.ServiceAccount == "" {
			g.ServiceAccount = "istio-ingressgateway-service-account"
		}
		if g.Pod.Name == "" {
			g.Pod.Name = g.Name + "-0"
		}
		if g.Pod.IP == "" {
			g.Pod.IP = "10.10.250.10"
		}
	}
	for i := range m.PeerAuthentications {
		if m.PeerAuthentications[i].Created.IsZero() {
			m.PeerAuthentications[i].Created = BaseTime
		}
	}
	for i := range m.DestinationRules {
		if m.DestinationRules[i].Created.IsZero() {
			m.DestinationRules[i].Created = BaseTime
		}
	}
}

// String is a compact, deterministic description for test logs.
func (m *Mesh) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mesh seed=%d\n", m.Seed)
	if mc := m.MeshConfig; mc != nil {
		b.WriteString("  meshConfig")
		if mc.EnableAutoMtls != nil {
			fmt.Fprintf(&b, " enableAutoMtls=%v", *mc.EnableAutoMtls)
		}
		if mc.TrustDomain != "" {
			fmt.Fprintf(&b, " trustDomain=%s", mc.TrustDomain)
		}
		if mc.DefaultDestinationRuleExportTo != nil {
			fmt.Fprintf(&b, " defaultDestinationRuleExportTo=%v", mc.DefaultDestinationRuleExportTo)
		}
		b.WriteString("\n")
	}
	for _, ns := range m.Namespaces {
		fmt.Fprintf(&b, "  ns %s injection=%q\n", ns.Name, ns.Injection)
	}
	for _, w := range m.Workloads {
		fmt.Fprintf(&b, "  wl %s labels=%s inject=%q sidecar=%v sa=%s replicas=%d", w.Key(), fmtLabels(w.Labels), w.InjectLabel, w.Sidecar, w.ServiceAccount, w.Replicas)
		if w.ServiceExportTo != nil {
			fmt.Fprintf(&b, " svcExportTo=%v", w.ServiceExportTo)
		}
		if w.Headless {
			b.WriteString(" headless")
		}
		b.WriteString(" ports=")
		for _, p := range w.Ports {
			fmt.Fprintf(&b, "[%s %d->%d]", p.Name, p.ServicePort, p.ContainerPort)
		}
		b.WriteString("\n")
	}
	if m.Gateway != nil {
		fmt.Fprintf(&b, "  gateway %s labels=%s\n", m.Gateway.Key(), fmtLabels(m.Gateway.Labels))
	}
	for _, pa := range m.PeerAuthentications {
		sel := "<none>"
		if pa.Selector != nil {
			sel = fmtLabels(pa.Selector)
		}
		fmt.Fprintf(&b, "  pa %s/%s created=%s selector=%s mode=%q", pa.Namespace, pa.Name, pa.Created.Format(time.RFC3339), sel, pa.Mode)
		for _, pm := range pa.PortLevel {
			fmt.Fprintf(&b, " port%d=%q", pm.Port, pm.Mode)
		}
		b.WriteString("\n")
	}
	for _, dr := range m.DestinationRules {
		fmt.Fprintf(&b, "  dr %s/%s created=%s host=%s exportTo=%v", dr.Namespace, dr.Name, dr.Created.Format(time.RFC3339), dr.Host, dr.ExportTo)
		if dr.WorkloadSelector != nil {
			fmt.Fprintf(&b, " workloadSelector=%s", fmtLabels(dr.WorkloadSelector))
		}
		fmt.Fprintf(&b, " policy=%s", fmtPolicy(dr.Policy))
		for _, s := range dr.Subsets {
			fmt.Fprintf(&b, " subset[%s %s %s]", s.Name, fmtLabels(s.Labels), fmtPolicy(s.Policy))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func fmtPolicy(p *TrafficPolicy) string {
	if p == nil {
		return "<none>"
	}
	s := fmt.Sprintf("{tls=%q lb=%q", p.TLS, p.LoadBalancer)
	if p.SNI != "" {
		s += fmt.Sprintf(" sni=%q", p.SNI)
	}
	if p.SANsSet {
		s += fmt.Sprintf(" sans=%q", p.SubjectAltNames)
	}
	if p.CredentialName != "" {
		s += fmt.Sprintf(" credentialName=%q", p.CredentialName)
	}
	for _, pp := range p.PortLevel {
		s += fmt.Sprintf(" port%d:{tls=%q}", pp.Port, pp.TLS)
	}
	return s + "}"
}

func fmtLabels(l map[string]string) string {
	keys := sortedKeys(l)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+l[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func sortedKeys(l map[string]string) []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
