package randmesh

import (
	"fmt"
	"strings"
	"time"
)

// MeshConfigYAML renders the mesh config as the data.mesh of the `istio` ConfigMap.
func (mc *MeshConfig) MeshConfigYAML() string {
	var b strings.Builder
	if mc.EnableAutoMtls != nil {
		fmt.Fprintf(&b, "enableAutoMtls: %v\n", *mc.EnableAutoMtls)
	}
	if mc.TrustDomain != "" {
		fmt.Fprintf(&b, "trustDomain: %s\n", mc.TrustDomain)
	}
	if mc.DefaultDestinationRuleExportTo != nil {
		b.WriteString("defaultDestinationRuleExportTo:\n")
		for _, e := range mc.DefaultDestinationRuleExportTo {
			fmt.Fprintf(&b, "- %q\n", e)
		}
	}
	return b.String()
}

func meshConfigDoc(mc *MeshConfig) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n")
	fmt.Fprintf(&b, "  name: istio\n  namespace: %s\n", RootNamespace)
	b.WriteString("data:\n  mesh: |-\n")
	for _, line := range strings.Split(strings.TrimSuffix(mc.MeshConfigYAML(), "\n"), "\n") {
		fmt.Fprintf(&b, "    %s\n", line)
	}
	return b.String()
}

// Documents in every rendering are separated by "\n---\n" (Istio's fake discovery server
// splits KubernetesObjectString on exactly that).
const docSep = "---\n"

// KubernetesYAML renders what a running cluster holds: Namespaces, Services, Pods (with
// podIP, Ready status and Istio's injected labels) and the EndpointSlices the endpoint
// controller would build from each Service selector.
func (m *Mesh) KubernetesYAML() string {
	var docs []string
	docs = append(docs, m.namespaceDocs()...)
	for i := range m.Workloads {
		w := &m.Workloads[i]
		docs = append(docs, serviceDoc(w))
		for _, p := range w.Pods {
			docs = append(docs, podDoc(w, p))
		}
		docs = append(docs, endpointSliceDoc(w))
	}
	if g := m.Gateway; g != nil {
		docs = append(docs, gatewayPodDoc(g))
	}
	return join(docs)
}

// IstioYAML renders the Istio configuration: PeerAuthentications, then DestinationRules.
func (m *Mesh) IstioYAML() string {
	var docs []string
	for i := range m.PeerAuthentications {
		docs = append(docs, peerAuthenticationDoc(&m.PeerAuthentications[i]))
	}
	for i := range m.DestinationRules {
		docs = append(docs, destinationRuleDoc(&m.DestinationRules[i]))
	}
	return join(docs)
}

// ManifestsYAML renders the mesh as a user would write it: Namespaces, Deployments (pod
// templates, no Pods), Services, PeerAuthentications and DestinationRules, plus the gateway
// Deployment when there is one.
func (m *Mesh) ManifestsYAML() string {
	var docs []string
	docs = append(docs, m.namespaceDocs()...)
	if m.MeshConfig != nil {
		docs = append(docs, meshConfigDoc(m.MeshConfig))
	}
	for i := range m.Workloads {
		w := &m.Workloads[i]
		docs = append(docs, deploymentDoc(w), serviceDoc(w))
	}
	if g := m.Gateway; g != nil {
		docs = append(docs, gatewayDeploymentDoc(g))
	}
	for i := range m.PeerAuthentications {
		docs = append(docs, peerAuthenticationDoc(&m.PeerAuthentications[i]))
	}
	for i := range m.DestinationRules {
		docs = append(docs, destinationRuleDoc(&m.DestinationRules[i]))
	}
	return join(docs)
}

func join(docs []string) string {
	return strings.Join(docs, docSep)
}

func (m *Mesh) namespaceDocs() []string {
	var docs []string
	for _, ns := range m.Namespaces {
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: Namespace\nmetadata:\n")
		fmt.Fprintf(&b, "  name: %s\n", ns.Name)
		if ns.Injection != "" {
			fmt.Fprintf(&b, "  labels:\n    istio-injection: %q\n", ns.Injection)
		}
		docs = append(docs, b.String())
	}
	return docs
}

func writeLabels(b *strings.Builder, indent string, l map[string]string) {
	for _, k := range sortedKeys(l) {
		fmt.Fprintf(b, "%s%s: %q\n", indent, k, l[k])
	}
}

func serviceDoc(w *Workload) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s\n  namespace: %s\n", w.Name, w.Namespace)
	fmt.Fprintf(&b, "  labels:\n    app: %q\n", w.Name)
	if w.ServiceExportTo != nil {
		fmt.Fprintf(&b, "  annotations:\n    networking.istio.io/exportTo: %q\n", strings.Join(w.ServiceExportTo, ","))
	}
	b.WriteString("spec:\n")
	if w.Headless {
		b.WriteString("  clusterIP: None\n")
	} else {
		fmt.Fprintf(&b, "  clusterIP: %s\n", w.ClusterIP)
	}
	fmt.Fprintf(&b, "  selector:\n    app: %q\n", w.Name)
	b.WriteString("  ports:\n")
	for _, p := range w.Ports {
		fmt.Fprintf(&b, "  - name: %s\n    port: %d\n    targetPort: %d\n    protocol: TCP\n", p.Name, p.ServicePort, p.ContainerPort)
	}
	return b.String()
}

func writeContainers(b *strings.Builder, indent string, w *Workload) {
	fmt.Fprintf(b, "%scontainers:\n", indent)
	fmt.Fprintf(b, "%s- name: %s\n%s  image: example.com/%s:latest\n", indent, w.Name, indent, w.Name)
	if len(w.Ports) > 0 {
		fmt.Fprintf(b, "%s  ports:\n", indent)
		for _, p := range w.Ports {
			fmt.Fprintf(b, "%s  - containerPort: %d\n%s    protocol: TCP\n", indent, p.ContainerPort, indent)
		}
	}
}

func podDoc(w *Workload, p Pod) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s\n  namespace: %s\n  labels:\n", p.Name, w.Namespace)
	writeLabels(&b, "    ", w.PodLabels())
	b.WriteString("spec:\n")
	fmt.Fprintf(&b, "  serviceAccountName: %s\n", w.ServiceAccount)
	writeContainers(&b, "  ", w)
	if w.Sidecar {
		b.WriteString("  - name: istio-proxy\n    image: docker.io/istio/proxyv2:1.31.0\n")
	}
	writePodStatus(&b, p.IP)
	return b.String()
}

func writePodStatus(b *strings.Builder, ip string) {
	b.WriteString("status:\n  phase: Running\n")
	fmt.Fprintf(b, "  podIP: %s\n  podIPs:\n  - ip: %s\n", ip, ip)
	b.WriteString("  conditions:\n  - type: Ready\n    status: \"True\"\n")
}

func endpointSliceDoc(w *Workload) string {
	var b strings.Builder
	b.WriteString("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s-slice\n  namespace: %s\n", w.Name, w.Namespace)
	fmt.Fprintf(&b, "  labels:\n    kubernetes.io/service-name: %s\n", w.Name)
	b.WriteString("addressType: IPv4\n")
	if len(w.Pods) == 0 {
		b.WriteString("endpoints: []\n")
	} else {
		b.WriteString("endpoints:\n")
		for _, p := range w.Pods {
			fmt.Fprintf(&b, "- addresses:\n  - %s\n  conditions:\n    ready: true\n", p.IP)
			fmt.Fprintf(&b, "  targetRef:\n    kind: Pod\n    name: %s\n    namespace: %s\n", p.Name, w.Namespace)
		}
	}
	if len(w.Ports) == 0 {
		b.WriteString("ports: []\n")
	} else {
		b.WriteString("ports:\n")
		for _, p := range w.Ports {
			fmt.Fprintf(&b, "- name: %s\n  port: %d\n  protocol: TCP\n", p.Name, p.ContainerPort)
		}
	}
	return b.String()
}

func deploymentDoc(w *Workload) string {
	var b strings.Builder
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s\n  namespace: %s\n", w.Name, w.Namespace)
	b.WriteString("spec:\n")
	fmt.Fprintf(&b, "  replicas: %d\n", w.Replicas)
	fmt.Fprintf(&b, "  selector:\n    matchLabels:\n      app: %q\n", w.Name)
	b.WriteString("  template:\n    metadata:\n      labels:\n")
	tl := map[string]string{}
	for k, v := range w.Labels {
		tl[k] = v
	}
	if w.InjectLabel != "" {
		tl["sidecar.istio.io/inject"] = w.InjectLabel
	}
	writeLabels(&b, "        ", tl)
	b.WriteString("    spec:\n")
	fmt.Fprintf(&b, "      serviceAccountName: %s\n", w.ServiceAccount)
	writeContainers(&b, "      ", w)
	return b.String()
}

func gatewayPodDoc(g *Gateway) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s\n  namespace: %s\n  labels:\n", g.Pod.Name, g.Namespace)
	l := map[string]string{"sidecar.istio.io/inject": "false"}
	for k, v := range g.Labels {
		l[k] = v
	}
	writeLabels(&b, "    ", l)
	b.WriteString("spec:\n")
	fmt.Fprintf(&b, "  serviceAccountName: %s\n", g.ServiceAccount)
	b.WriteString("  containers:\n  - name: istio-proxy\n    image: docker.io/istio/proxyv2:1.31.0\n    args: [\"proxy\", \"router\"]\n")
	writePodStatus(&b, g.Pod.IP)
	return b.String()
}

func gatewayDeploymentDoc(g *Gateway) string {
	var b strings.Builder
	b.WriteString("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s\n  namespace: %s\n", g.Name, g.Namespace)
	b.WriteString("spec:\n  replicas: 1\n  selector:\n    matchLabels:\n")
	writeLabels(&b, "      ", g.Labels)
	b.WriteString("  template:\n    metadata:\n      labels:\n")
	l := map[string]string{"sidecar.istio.io/inject": "false"}
	for k, v := range g.Labels {
		l[k] = v
	}
	writeLabels(&b, "        ", l)
	b.WriteString("    spec:\n")
	fmt.Fprintf(&b, "      serviceAccountName: %s\n", g.ServiceAccount)
	b.WriteString("      containers:\n      - name: istio-proxy\n        image: docker.io/istio/proxyv2:1.31.0\n        args: [\"proxy\", \"router\"]\n")
	return b.String()
}

func writeMeta(b *strings.Builder, name, namespace string, created time.Time) {
	fmt.Fprintf(b, "metadata:\n  name: %s\n  namespace: %s\n  creationTimestamp: %q\n", name, namespace, created.UTC().Format(time.RFC3339))
}

func peerAuthenticationDoc(pa *PeerAuthentication) string {
	var b strings.Builder
	b.WriteString("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n")
	writeMeta(&b, pa.Name, pa.Namespace, pa.Created)
	var spec strings.Builder
	if pa.Selector != nil {
		spec.WriteString("  selector:\n    matchLabels:\n")
		writeLabels(&spec, "      ", pa.Selector)
	}
	if pa.Mode != ModeAbsent {
		fmt.Fprintf(&spec, "  mtls:\n    mode: %s\n", pa.Mode)
	}
	if len(pa.PortLevel) > 0 {
		spec.WriteString("  portLevelMtls:\n")
		for _, pm := range pa.PortLevel {
			if pm.Mode == ModeAbsent {
				fmt.Fprintf(&spec, "    %d: {}\n", pm.Port)
			} else {
				fmt.Fprintf(&spec, "    %d:\n      mode: %s\n", pm.Port, pm.Mode)
			}
		}
	}
	if spec.Len() == 0 {
		b.WriteString("spec: {}\n")
	} else {
		b.WriteString("spec:\n")
		b.WriteString(spec.String())
	}
	return b.String()
}

func writePolicy(b *strings.Builder, indent string, p *TrafficPolicy) {
	fmt.Fprintf(b, "%strafficPolicy:\n", indent)
	in := indent + "  "
	if p.LoadBalancer != "" {
		fmt.Fprintf(b, "%sloadBalancer:\n%s  simple: %s\n", in, in, p.LoadBalancer)
	}
	if p.TLS != TLSAbsent {
		fmt.Fprintf(b, "%stls:\n%s  mode: %s\n", in, in, p.TLS)
		if p.SNI != "" {
			fmt.Fprintf(b, "%s  sni: %q\n", in, p.SNI)
		}
		if p.SANsSet {
			if len(p.SubjectAltNames) == 0 {
				fmt.Fprintf(b, "%s  subjectAltNames: []\n", in)
			} else {
				fmt.Fprintf(b, "%s  subjectAltNames:\n", in)
				for _, s := range p.SubjectAltNames {
					fmt.Fprintf(b, "%s  - %q\n", in, s)
				}
			}
		}
		if p.CredentialName != "" {
			fmt.Fprintf(b, "%s  credentialName: %q\n", in, p.CredentialName)
		}
	}
	if len(p.PortLevel) > 0 {
		fmt.Fprintf(b, "%sportLevelSettings:\n", in)
		for _, pp := range p.PortLevel {
			fmt.Fprintf(b, "%s- port:\n%s    number: %d\n", in, in, pp.Port)
			if pp.LoadBalancer != "" {
				fmt.Fprintf(b, "%s  loadBalancer:\n%s    simple: %s\n", in, in, pp.LoadBalancer)
			}
			if pp.TLS != TLSAbsent {
				fmt.Fprintf(b, "%s  tls:\n%s    mode: %s\n", in, in, pp.TLS)
			}
		}
	}
}

func destinationRuleDoc(dr *DestinationRule) string {
	var b strings.Builder
	b.WriteString("apiVersion: networking.istio.io/v1\nkind: DestinationRule\n")
	writeMeta(&b, dr.Name, dr.Namespace, dr.Created)
	b.WriteString("spec:\n")
	fmt.Fprintf(&b, "  host: %q\n", dr.Host)
	if dr.WorkloadSelector != nil {
		b.WriteString("  workloadSelector:\n    matchLabels:\n")
		writeLabels(&b, "      ", dr.WorkloadSelector)
	}
	if dr.ExportTo != nil {
		b.WriteString("  exportTo:\n")
		for _, e := range dr.ExportTo {
			fmt.Fprintf(&b, "  - %q\n", e)
		}
	}
	if dr.Policy != nil {
		writePolicy(&b, "  ", dr.Policy)
	}
	if len(dr.Subsets) > 0 {
		b.WriteString("  subsets:\n")
		for _, s := range dr.Subsets {
			fmt.Fprintf(&b, "  - name: %s\n    labels:\n", s.Name)
			writeLabels(&b, "      ", s.Labels)
			if s.Policy != nil {
				writePolicy(&b, "    ", s.Policy)
			}
		}
	}
	return b.String()
}
