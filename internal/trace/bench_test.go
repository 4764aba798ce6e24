package trace

import (
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// index10k is the 10,000-service mesh (genmesh.Mesh10k), indexed once.
func index10k(b *testing.B) *mesh.Index {
	b.Helper()
	m, err := genmesh.Mesh10k()
	if err != nil {
		b.Fatal(err)
	}
	return m.Index
}

// gatewayPath picks, from the generated mesh, the first route of a "portal"
// VirtualService (NS.example.com/SERVICE/ through istio-system/public-gateway)
// whose trace succeeds, so that one iteration follows every hop: gateway
// server, route, DestinationRule, client TLS, endpoints, PeerAuthentication,
// authorization and the application port (a failing trace would also time
// the verification of its fixes, which rebuilds the whole mesh).
func gatewayPath(b *testing.B, x *mesh.Index) string {
	b.Helper()
	e := resolve.New(x)
	tried := 0
	for _, vs := range x.VirtualServices {
		if vs.Name != "portal" || len(vs.Spec.Hosts) == 0 {
			continue
		}
		for _, h := range vs.Spec.Http {
			for _, m := range h.Match {
				p := m.GetUri().GetPrefix()
				if p == "" {
					continue
				}
				to := "http://" + vs.Spec.Hosts[0] + p
				tr, err := Run(e, ingressGateway, to, Options{NoFixes: true})
				tried++
				if err == nil && tr.Result == ResultOK && len(tr.Hops) >= 9 {
					return to
				}
				if tried > 200 {
					b.Fatalf("no healthy portal route among %d tried", tried)
				}
			}
		}
	}
	b.Fatal("the generated mesh has no portal VirtualService")
	return ""
}

const ingressGateway = "istio-system/istio-ingressgateway"

// BenchmarkTrace10k times one trace through the ingress gateway to a routed
// path of the 10,000-service mesh (gen Seed 1): "fresh" builds a new engine
// per iteration, so it pays for the engine's lazy indexes (DestinationRules,
// PeerAuthentications, VirtualServices, gateway servers); "warm" reuses one
// engine, whose caches answer repeated questions.
//
//	go test ./internal/trace -run '^$' -bench Trace10k -benchtime 20x -benchmem
func BenchmarkTrace10k(b *testing.B) {
	x := index10k(b)
	to := gatewayPath(b, x)
	b.Logf("trace %s %s (%d services, %d workloads, %d objects)", ingressGateway, to, len(x.Services), len(x.Workloads), len(x.Objects))
	check := func(b *testing.B, tr *Trace, err error) {
		if err != nil || tr.Result != ResultOK {
			b.Fatalf("trace: %v %+v", err, tr)
		}
	}
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tr, err := Run(resolve.New(x), ingressGateway, to, Options{})
			check(b, tr, err)
		}
	})
	b.Run("warm", func(b *testing.B) {
		e := resolve.New(x)
		if _, err := Run(e, ingressGateway, to, Options{}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			tr, err := Run(e, ingressGateway, to, Options{})
			check(b, tr, err)
		}
	})
	// A sidecar client calling a service of its own namespace by short name.
	from, svc := sidecarPath(b, x)
	b.Run("sidecar-warm", func(b *testing.B) {
		e := resolve.New(x)
		tr, err := Run(e, from, svc, Options{NoFixes: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("trace %s %s: %s %s", from, svc, tr.Result, tr.Cause)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Run(e, from, svc, Options{NoFixes: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sidecarPath picks a workload with a sidecar and a Service of another
// workload in the same namespace (HOST:PORT).
func sidecarPath(b *testing.B, x *mesh.Index) (string, string) {
	b.Helper()
	e := resolve.New(x)
	for _, w := range x.Workloads {
		if !e.Sidecar(w).HasProxy {
			continue
		}
		for _, s := range x.ServicesIn(w.Namespace) {
			if len(s.Ports) == 0 || mesh.SubsetOf(s.Selector, w.Labels) || strings.HasPrefix(s.Name, "istio") {
				continue
			}
			return w.Key(), s.Name + ":" + itoa(int(s.Ports[0].Port))
		}
	}
	b.Fatal("no sidecar client")
	return "", ""
}
