package resolve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// secEngine builds an engine over a small YAML mesh (documents separated by ---).
func secEngine(t testing.TB, name, data string) *Engine {
	t.Helper()
	var res load.Result
	load.Decode(name, []byte(data), &res)
	if len(res.Errors) > 0 {
		t.Fatalf("%s: %v", name, res.Errors)
	}
	return New(mesh.Build(res.Objects, mesh.Options{}))
}

// secFixture builds an engine over testdata/security/<file> plus extra documents.
func secFixture(t testing.TB, file, extra string) *Engine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "security", file))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if extra != "" {
		s += "\n---\n" + extra
	}
	return secEngine(t, file, s)
}

func secWorkload(t testing.TB, e *Engine, key string) *mesh.Workload {
	t.Helper()
	ns, name, _ := strings.Cut(key, "/")
	w := e.X.Workload(ns, name, "")
	if w == nil {
		t.Fatalf("no workload %s", key)
	}
	return w
}

func secService(t testing.TB, e *Engine, key string) *mesh.Service {
	t.Helper()
	ns, name, _ := strings.Cut(key, "/")
	s := e.X.Service(ns, name)
	if s == nil {
		t.Fatalf("no service %s", key)
	}
	return s
}

// secHasRef reports whether d names obj (kind/ns/name) at the given field.
func secHasRef(d Decision, kind, key, field string) bool {
	for _, r := range d.By {
		if r.Kind == kind && r.Namespace+"/"+r.Name == key && r.Field == field {
			return true
		}
	}
	return false
}

func secRefLine(d Decision, kind, key, field string) int {
	for _, r := range d.By {
		if r.Kind == kind && r.Namespace+"/"+r.Name == key && r.Field == field {
			return r.Line
		}
	}
	return -1
}

func secHasAssumption(d Decision, sub string) bool {
	for _, a := range d.Assumptions {
		if strings.Contains(a, sub) {
			return true
		}
	}
	return false
}

func secDump(d Decision) string {
	var b strings.Builder
	b.WriteString(d.Reason)
	for _, r := range d.By {
		b.WriteString("\n  by " + r.String() + " " + r.Field)
	}
	for _, a := range d.Assumptions {
		b.WriteString("\n  assume " + a)
	}
	return b.String()
}

// Cached decisions are handed out with clipped slices: a caller that appends
// to one must not change what the next caller gets.
func TestSecurityCachesAreNotShared(t *testing.T) {
	e := secFixture(t, "incident.yaml", "")
	w := secWorkload(t, e, "titanium-prod/prod-blog-service")
	d1 := e.ServerMTLS(w, 8005)
	n := len(d1.By)
	_ = append(d1.By, objects.Ref{Kind: "X"})
	d2 := e.ServerMTLS(w, 8005)
	if len(d2.By) != n || (n > 0 && d2.By[n-1].Kind == "X") {
		t.Fatalf("cache was modified: %+v", d2.By)
	}
	gw := secWorkload(t, e, "istio-system/istio-ingressgateway")
	a := e.DestinationRule(gw, "prod-blog-service.titanium-prod.svc.cluster.local")
	a.By = append(a.By, objects.Ref{Kind: "X"})
	b := e.DestinationRule(gw, "prod-blog-service.titanium-prod.svc.cluster.local")
	for _, r := range b.By {
		if r.Kind == "X" {
			t.Fatal("DestinationRule cache was modified")
		}
	}
}

// Clients of one namespace whose labels no workloadSelector rule reads share
// one class, so their DestinationRule decisions are computed once.
func TestDestinationRuleClientClass(t *testing.T) {
	e := secEngine(t, "class.yaml", `
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: c1, namespace: a}
spec:
  template:
    metadata: {labels: {app: c1}}
    spec: {containers: [{name: c, image: c}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: c2, namespace: a}
spec:
  template:
    metadata: {labels: {app: c2}}
    spec: {containers: [{name: c, image: c}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: only-c2, namespace: a}
spec:
  host: svc.b.svc.cluster.local
  workloadSelector: {matchLabels: {app: c2}}
  trafficPolicy: {tls: {mode: DISABLE}}
`)
	c1, c2 := secWorkload(t, e, "a/c1"), secWorkload(t, e, "a/c2")
	if e.drClientClass(c1) == e.drClientClass(c2) {
		t.Fatalf("clients selected differently share a class: %q", e.drClientClass(c1))
	}
	e2 := secFixture(t, "incident.yaml", "")
	x := secWorkload(t, e2, "titanium-prod/prod-blog-service")
	y := secWorkload(t, e2, "titanium-prod/prod-api-gateway")
	if e2.drClientClass(x) != e2.drClientClass(y) {
		t.Fatal("clients of one namespace without selector rules should share a class")
	}
}

// secBenchMesh is the generated 10,000-service mesh, built once.
func secBenchMesh() *mesh.Index {
	m, err := genmesh.Mesh10k()
	if err != nil {
		panic(err)
	}
	return m.Index
}

// BenchmarkSecurityAllPairs resolves, for 20 sidecar clients and the ingress
// gateway against every service port of a generated 10,000-service mesh: the
// DestinationRule, and per endpoint the client TLS and whether the server
// accepts it. It reports the (client, service port, endpoint) triples per op.
func BenchmarkSecurityAllPairs(b *testing.B) {
	x := secBenchMesh()
	clients := append([]*mesh.Workload{}, x.Workloads[:20]...)
	if gw := x.Workload("istio-system", "istio-ingressgateway", ""); gw != nil {
		clients = append(clients, gw)
	}
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		e := New(x)
		n = 0
		for _, c := range clients {
			for _, s := range x.Services {
				for pi := range s.Ports {
					sp := &s.Ports[pi]
					e.DestinationRule(c, s.Host)
					for _, ep := range e.secServiceInfo(s).endpoints {
						tp := sp.TargetPort.IntVal
						tls := e.ClientTLS(c, s, sp, "", ep, tp)
						e.ServerAccepts(ep, tp, tls, "http")
						n++
					}
				}
			}
		}
	}
	b.ReportMetric(float64(n), "calls/op")
}
