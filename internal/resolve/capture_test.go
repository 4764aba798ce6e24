package resolve

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// captureMesh: namespace app is injected and STRICT; web's pods carry the
// annotations given (YAML flow-map entries, may be empty).
func captureEngine(t *testing.T, annotations string) (*Engine, *mesh.Workload) {
	t.Helper()
	e := routingEngine(t, "capture.yaml", `
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {istio-injection: enabled}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: app}
spec: {mtls: {mode: STRICT}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {`+annotations+`}}
    spec:
      containers: [{name: app, image: x, ports: [{containerPort: 8080}, {containerPort: 5432}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: app}
spec:
  selector: {matchLabels: {app: plain}}
  template:
    metadata: {labels: {app: plain, sidecar.istio.io/inject: "false"}}
    spec:
      containers: [{name: app, image: x}]
`)
	return e, e.X.Workload("app", "web", "Deployment")
}

// TestInboundCapture pins istio-iptables' inbound rules as the injection
// template sets them: -b includeInboundPorts ("*"), -d 15090,15021,<status
// port>,excludeInboundPorts.
func TestInboundCapture(t *testing.T) {
	cases := []struct {
		ann       string
		port      int32
		captured  bool
		proxyPort bool
		why       string
	}{
		{``, 8080, true, false, ""},
		{``, 15090, false, true, "Envoy's Prometheus endpoint"},
		{``, 15021, false, true, "Envoy's health endpoint"},
		{``, 15020, false, true, "pilot-agent's status port"},
		{`status.sidecar.istio.io/port: "15999"`, 15999, false, true, "-d 15090,15021,15999"},
		{`status.sidecar.istio.io/port: "15999"`, 15020, true, false, ""},
		{`traffic.sidecar.istio.io/excludeInboundPorts: "5432, 6379"`, 5432, false, false, "excludeInboundPorts"},
		{`traffic.sidecar.istio.io/excludeInboundPorts: "5432, 6379"`, 8080, true, false, ""},
		{`traffic.sidecar.istio.io/includeInboundPorts: "8080"`, 5432, false, false, "includeInboundPorts"},
		{`traffic.sidecar.istio.io/includeInboundPorts: "8080"`, 8080, true, false, ""},
		{`traffic.sidecar.istio.io/includeInboundPorts: "*"`, 5432, true, false, ""},
		// An explicit include list captures only its ports; the -d list is
		// not read then (istio-iptables handleInboundPortsInclude).
		{`traffic.sidecar.istio.io/includeInboundPorts: "8080,5432", traffic.sidecar.istio.io/excludeInboundPorts: "5432"`, 5432, true, false, ""},
		{`traffic.sidecar.istio.io/includeInboundPorts: ""`, 8080, false, false, "captures no inbound port"},
		{`sidecar.istio.io/interceptionMode: NONE`, 8080, false, false, "interceptionMode: NONE"},
		// Status port 0: no status server, nothing excluded for it.
		{`status.sidecar.istio.io/port: "0"`, 15020, true, false, ""},
	}
	for _, c := range cases {
		e, w := captureEngine(t, c.ann)
		d := e.InboundCapture(w, c.port)
		if d.Captured != c.captured || d.ProxyPort != c.proxyPort || !strings.Contains(d.Reason, c.why) {
			t.Errorf("{%s} port %d: captured=%v proxy=%v %q, want captured=%v proxy=%v and %q", c.ann, c.port, d.Captured, d.ProxyPort, d.Reason, c.captured, c.proxyPort, c.why)
		}
	}
	// Without a sidecar the question does not arise.
	e, _ := captureEngine(t, ``)
	if d := e.InboundCapture(e.X.Workload("app", "plain", "Deployment"), 5432); !d.Captured {
		t.Errorf("a workload without sidecar: %+v", d)
	}
}

// TestUncapturedPortAccepts: on a port the sidecar skips, STRICT does not
// apply (plaintext is accepted) and Istio mTLS, which auto mTLS still sends,
// reaches a server that cannot terminate it.
func TestUncapturedPortAccepts(t *testing.T) {
	e, w := captureEngine(t, `traffic.sidecar.istio.io/excludeInboundPorts: "5432"`)
	if a := e.ServerAccepts(w, 5432, ClientTLSDecision{Mode: TLSPlaintext}, "tcp"); !a.Accepted || a.Security != TLSPlaintext {
		t.Errorf("plaintext to an excluded port: %+v", a)
	}
	if a := e.ServerAccepts(w, 5432, ClientTLSDecision{Mode: TLSMutualIstio}, "tcp"); a.Accepted || a.Cause != CauseMTLSToNonMesh || !strings.Contains(a.Reason, "auto mTLS") {
		t.Errorf("Istio mTLS to an excluded port: %+v", a)
	}
	if a := e.ServerAccepts(w, 8080, ClientTLSDecision{Mode: TLSPlaintext}, "tcp"); a.Accepted {
		t.Errorf("plaintext to a captured STRICT port must be refused: %+v", a)
	}
}

// TestProxyServedPorts: the ports the injected proxy serves are declared (the
// injected container's http-envoy-prom) and listened on, whatever the
// application's containers say.
func TestProxyServedPorts(t *testing.T) {
	e, w := captureEngine(t, ``)
	if l := e.Listening(w, 15020); l.Listening != ListenYes {
		t.Errorf("15020: %+v", l)
	}
	if l := e.Listening(w, 9999); l.Listening == ListenYes {
		t.Errorf("an undeclared application port is not known to listen: %+v", l)
	}
	svc := &mesh.Service{Name: "web-metrics", Namespace: "app"}
	named := &mesh.ServicePort{Port: 9090, Protocol: "TCP", TargetPort: intstr.FromString("http-envoy-prom")}
	if d := e.TargetPort(svc, named, w); !d.Found || d.Port != 15090 {
		t.Errorf("targetPort http-envoy-prom: %+v", d)
	}
	status := &mesh.ServicePort{Port: 15020, Protocol: "TCP", TargetPort: intstr.FromInt32(15020)}
	if d := e.TargetPort(svc, status, w); !d.Found {
		t.Errorf("targetPort 15020: %+v", d)
	}
	plain := e.X.Workload("app", "plain", "Deployment")
	if d := e.TargetPort(svc, named, plain); d.Found {
		t.Errorf("http-envoy-prom on a workload without sidecar: %+v", d)
	}
}
