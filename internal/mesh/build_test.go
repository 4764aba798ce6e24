package mesh_test

import (
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

func build(t *testing.T, yaml string) *mesh.Index {
	t.Helper()
	var r load.Result
	load.Decode("mesh.yaml", []byte(yaml), &r)
	if len(r.Errors) > 0 {
		t.Fatalf("load: %v", r.Errors)
	}
	return mesh.Build(r.Objects, mesh.Options{})
}

// SPEC.md "Defaults when the cluster parts are not in the manifests": each one
// is recorded so results can state it.
func TestDefaultsAreRecorded(t *testing.T) {
	x := build(t, `
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {selector: {app: a}, ports: [{port: 80, targetPort: 8080}]}
`)
	if x.Mesh.RootNamespace != "istio-system" || x.Mesh.TrustDomain != "cluster.local" || !x.Mesh.EnableAutoMtls || x.Mesh.OutboundPolicy != "ALLOW_ANY" {
		t.Errorf("mesh defaults = %+v", x.Mesh)
	}
	for _, k := range []string{mesh.AssumeRootNamespace, mesh.AssumeTrustDomain, mesh.AssumeAutoMTLS, mesh.AssumeOutboundPolicy, mesh.AssumeIngressGateway, mesh.AssumeDefaultNS} {
		if _, ok := x.Assumption(k); !ok {
			t.Errorf("assumption %q not recorded", k)
		}
	}
	// An object without namespace lands in "default", as kubectl apply does.
	if s := x.Service("default", "a"); s == nil || s.Host != "a.default.svc.cluster.local" || s.Ports[0].TargetPort.IntValue() != 8080 {
		t.Errorf("service = %+v", s)
	}
	gw := x.Workload("istio-system", "istio-ingressgateway", "")
	if gw == nil || !gw.Implicit || gw.Labels["istio"] != "ingressgateway" || gw.ServiceAccount != "istio-ingressgateway-service-account" {
		t.Errorf("implicit gateway = %+v", gw)
	}
}

// Istio's mesh config (the istio ConfigMap's data.mesh) overrides the defaults.
func TestMeshConfigFromConfigMap(t *testing.T) {
	x := build(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    rootNamespace: mesh-root
    trustDomain: example.org
    enableAutoMtls: false
    outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`)
	m := x.Mesh
	if m.RootNamespace != "mesh-root" || m.TrustDomain != "example.org" || m.EnableAutoMtls || m.OutboundPolicy != "REGISTRY_ONLY" {
		t.Errorf("mesh = %+v", m)
	}
	if _, ok := x.Assumption(mesh.AssumeTrustDomain); ok {
		t.Error("trust domain was set, yet recorded as assumed")
	}
	if m.Source == nil || !strings.HasSuffix(m.Source.Pos.File, "mesh.yaml") {
		t.Errorf("source = %v", m.Source)
	}
}

// A gateway workload in the input replaces the implied one.
func TestGatewayInInputIsNotImplied(t *testing.T) {
	x := build(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingress, namespace: gw}
spec:
  template:
    metadata: {labels: {istio: ingressgateway}}
    spec: {containers: [{name: istio-proxy, image: proxyv2}]}
`)
	if x.Workload("istio-system", "istio-ingressgateway", "") != nil {
		t.Error("implied gateway added although one is in the input")
	}
}

// Istio orders configs by creationTimestamp, then name, then namespace
// (pilot/pkg/model/config.go configCompareByCreationTime).
func TestConfigsInCreationOrder(t *testing.T) {
	x := build(t, `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: b, namespace: ns, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: c, namespace: ns}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: a, namespace: ns, creationTimestamp: "2024-06-01T00:00:00Z"}
spec: {mtls: {mode: STRICT}}
`)
	var got []string
	for _, p := range x.PeerAuthentications {
		got = append(got, p.Name)
	}
	// no timestamp (zero) sorts first, then by time
	if strings.Join(got, ",") != "c,b,a" {
		t.Errorf("order = %v, want c,b,a", got)
	}
}

// Pods owned by a controller are instances, not workloads of their own.
func TestOwnedPodsAreNotWorkloads(t *testing.T) {
	x := build(t, `
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: ns
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-x, uid: "1"}]
spec: {containers: [{name: web, image: web}]}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: ns}
spec: {containers: [{name: sh, image: busybox}]}
`)
	if x.Workload("ns", "web-1", "") != nil || x.Workload("ns", "debug", "Pod") == nil {
		t.Errorf("workloads = %v", x.WorkloadsIn("ns"))
	}
}
