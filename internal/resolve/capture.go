package resolve

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Pod annotations that shape the sidecar's inbound capture (the injector reads
// them: manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
const (
	annotationIncludeInbound = "traffic.sidecar.istio.io/includeInboundPorts"
	annotationExcludeInbound = "traffic.sidecar.istio.io/excludeInboundPorts"
	annotationStatusPort     = "status.sidecar.istio.io/port"
	annotationInterception   = "sidecar.istio.io/interceptionMode"
)

// Ports the injected proxy serves itself, and that istio-iptables never
// redirects to Envoy's inbound listener: the injection template passes
// `-d 15090,15021,<status port>` (Envoy's Prometheus endpoint, Envoy's health
// endpoint, and pilot-agent's status port, 15020 unless
// status.sidecar.istio.io/port says otherwise: pkg/kube/inject/template.go
// excludeInboundPort). The injected istio-proxy container declares 15090 as
// the port named http-envoy-prom.
const (
	proxyPromPort     = 15090
	proxyPromPortName = "http-envoy-prom"
	proxyHealthPort   = 15021
	defaultStatusPort = 15020
)

// CaptureDecision says whether a sidecar's iptables rules redirect inbound
// connections on a pod port to Envoy.
type CaptureDecision struct {
	Captured bool `json:"captured"`
	// ProxyPort is set when the port is one the proxy serves itself (Envoy's
	// Prometheus or health endpoint, pilot-agent's status port).
	ProxyPort bool `json:"proxy_port,omitempty"`
	Decision
}

// InboundCapture decides whether the sidecar of w intercepts inbound
// connections to port. istio-iptables redirects the ports of -b
// (traffic.sidecar.istio.io/includeInboundPorts, "*" by default: all) minus
// those of -d (15090, 15021, the status port, and
// traffic.sidecar.istio.io/excludeInboundPorts), per the injection template.
// A port that is not captured reaches the application (or the proxy's own
// endpoint) directly: no PeerAuthentication, no AuthorizationPolicy, no mTLS
// termination applies there. Pilot does not know about these exclusions:
// auto mTLS still sends Istio mTLS to every endpoint labelled
// security.istio.io/tlsMode=istio (pilot/pkg/networking/core/cluster_tls.go;
// no code under pilot/ reads excludeInboundPorts). Workloads without a
// sidecar, and gateways, are reported as captured: the question does not
// arise for them.
func (e *Engine) InboundCapture(w *mesh.Workload, port int32) CaptureDecision {
	sc := e.Sidecar(w)
	if sc.Kind != ProxySidecar {
		return CaptureDecision{Captured: true}
	}
	var d CaptureDecision
	status := statusPort(w)
	ann := func(key string) objects.Ref { return e.podAnnotationRef(w, key) }
	what := proxyPortRole(port, status)
	proxyPort := what != ""
	d.ProxyPort = proxyPort
	// interceptionMode NONE: no istio-init, no iptables at all (the
	// injection template adds no redirection then).
	if v := w.Annotations[annotationInterception]; v == "NONE" {
		d.Reason = fmt.Sprintf("%s sets %s: NONE, so no iptables rule redirects inbound traffic to its sidecar: connections to port %d reach the application directly", w.Key(), annotationInterception, port)
		d.By = append(d.By, ann(annotationInterception))
		return d
	}
	// istio-iptables handleInboundPortsInclude: "" captures nothing, "*"
	// captures every port but the -d list, an explicit list captures only
	// the ports it names (the -d list is then not read).
	include, set := w.Annotations[annotationIncludeInbound]
	if !set {
		include = "*"
	}
	switch strings.TrimSpace(include) {
	case "*":
	case "":
		d.Reason = fmt.Sprintf("annotation %s of %s is empty, so its sidecar captures no inbound port: connections to port %d reach the application directly", annotationIncludeInbound, w.Key(), port)
		d.By = append(d.By, ann(annotationIncludeInbound))
		return d
	default:
		if portListed(include, port) {
			d.Captured = true
			return d
		}
		d.Reason = fmt.Sprintf("port %d of %s is not among the inbound ports its sidecar captures (annotation %s: %q): connections reach the application directly, without the sidecar", port, w.Key(), annotationIncludeInbound, include)
		if proxyPort {
			d.Reason = fmt.Sprintf("port %d of %s is %s, served by the injected istio-proxy container itself, and not among the inbound ports its sidecar captures (annotation %s: %q)", port, w.Key(), what, annotationIncludeInbound, include)
		}
		d.By = append(d.By, ann(annotationIncludeInbound))
		return d
	}
	if proxyPort {
		d.Reason = fmt.Sprintf("port %d of %s is %s, served by the injected istio-proxy container itself; istio-iptables never redirects it to the inbound listener (the injection template passes -d 15090,15021,%d)", port, w.Key(), what, status)
		// No object decides it but the Service that targets the port (the
		// caller's); the status port annotation, when set, is cited.
		if _, ok := w.Annotations[annotationStatusPort]; ok && port == status {
			d.By = append(d.By, ann(annotationStatusPort))
		}
		return d
	}
	if v, ok := w.Annotations[annotationExcludeInbound]; ok && portListed(v, port) {
		d.Reason = fmt.Sprintf("port %d of %s is excluded from the sidecar's inbound capture (annotation %s: %q): connections reach the application directly, without the sidecar", port, w.Key(), annotationExcludeInbound, v)
		d.By = append(d.By, ann(annotationExcludeInbound))
		return d
	}
	d.Captured = true
	return d
}

// proxyPortRole names what the injected proxy serves on port ("" for none).
func proxyPortRole(port, status int32) string {
	switch {
	case port == proxyPromPort:
		return "Envoy's Prometheus endpoint"
	case port == proxyHealthPort:
		return "Envoy's health endpoint"
	case status != 0 && port == status:
		return "pilot-agent's status port (merged metrics and probes)"
	}
	return ""
}

// proxyServes reports whether port is one the injected proxy of w serves
// itself (15090, 15021, the status port), for a workload with a sidecar.
func (e *Engine) proxyServes(w *mesh.Workload, port int32) bool {
	if status := statusPort(w); port != proxyPromPort && port != proxyHealthPort && (status == 0 || port != status) {
		return false
	}
	return e.Sidecar(w).Kind == ProxySidecar
}

// statusPort is pilot-agent's status port on w's pods; 0 turns it off
// (and the injector then excludes no status port: template.go
// excludeInboundPort).
func statusPort(w *mesh.Workload) int32 {
	if v, ok := w.Annotations[annotationStatusPort]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 && n < 65536 {
			return int32(n)
		}
	}
	return defaultStatusPort
}

// portListed reports whether a comma-separated port list names port.
func portListed(list string, port int32) bool {
	for _, p := range strings.Split(list, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil && int32(n) == port {
			return true
		}
	}
	return false
}
