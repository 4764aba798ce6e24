//go:build istiooracle

package oracle

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshdoctor/meshdoctor/oracle/randmesh"
)

func findPair(t *testing.T, pairs []Pair, client, host string, port int, subset string) Pair {
	t.Helper()
	for _, p := range pairs {
		if p.Client == client && p.Host == host && p.ServicePort == port && p.Subset == subset {
			return p
		}
	}
	t.Fatalf("no pair %s -> %s:%d/%s", client, host, port, subset)
	return Pair{}
}

func expect(t *testing.T, p Pair, tls TLS, verdict Verdict, accepted bool) {
	t.Helper()
	if p.ClientTLS != tls || p.Verdict != verdict || p.Accepted != accepted {
		t.Errorf("%s:\n  got  tls=%s verdict=%s accepted=%v\n  want tls=%s verdict=%s accepted=%v\n  evidence: %q",
			p.Key(), p.ClientTLS, p.Verdict, p.Accepted, tls, verdict, accepted, p.Evidence)
	}
}

func httpPort(svc, container int) randmesh.Port {
	return randmesh.Port{Name: "http-web", ServicePort: svc, ContainerPort: container}
}

func tcpPort(svc, container int) randmesh.Port {
	return randmesh.Port{Name: "tcp-raw", ServicePort: svc, ContainerPort: container}
}

// baseMesh: namespace a (injected) with client sleep, namespace b (injected) with server
// httpbin (HTTP 80 -> 8080), namespace legacy (not injected) with client curl.
func baseMesh() *randmesh.Mesh {
	m := &randmesh.Mesh{
		Namespaces: []randmesh.Namespace{{Name: "a", Injection: "enabled"}, {Name: "b", Injection: "enabled"}, {Name: "legacy"}},
		Workloads: []randmesh.Workload{
			{Name: "sleep", Namespace: "a", Ports: []randmesh.Port{httpPort(80, 8080)}},
			{Name: "httpbin", Namespace: "b", Ports: []randmesh.Port{httpPort(80, 8080)}},
			{Name: "curl", Namespace: "legacy", Ports: []randmesh.Port{httpPort(80, 8080)}},
		},
	}
	m.Complete()
	return m
}

func TestOracleSmoke(t *testing.T) {
	const httpbin = "httpbin.b.svc.cluster.local"
	strict := randmesh.PeerAuthentication{Name: "default", Namespace: "b", Mode: randmesh.ModeStrict}

	t.Run("namespace STRICT, no DR", func(t *testing.T) {
		m := baseMesh()
		m.PeerAuthentications = []randmesh.PeerAuthentication{strict}
		start := time.Now()
		pairs := Evaluate(t, m)
		t.Logf("evaluated %d pairs in %v", len(pairs), time.Since(start))
		// Sidecar client: auto mTLS, accepted.
		expect(t, findPair(t, pairs, "a/sleep", httpbin, 80, ""), TLSMutual, Accepted, true)
		// Client without sidecar: plaintext, no filter chain on a STRICT port.
		expect(t, findPair(t, pairs, "legacy/curl", httpbin, 80, ""), TLSPlaintext, ErrNoFilterChain, false)
		// Sidecar client to a server without sidecar: auto mTLS falls back to plaintext.
		expect(t, findPair(t, pairs, "a/sleep", "curl.legacy.svc.cluster.local", 80, ""), TLSPlaintext, NoSidecar, true)
	})

	t.Run("DR DISABLE to STRICT", func(t *testing.T) {
		m := baseMesh()
		m.PeerAuthentications = []randmesh.PeerAuthentication{strict}
		m.DestinationRules = []randmesh.DestinationRule{{
			Name: "httpbin", Namespace: "a", Host: "httpbin.b.svc.cluster.local",
			Policy: &randmesh.TrafficPolicy{TLS: randmesh.TLSDisable},
		}}
		pairs := Evaluate(t, m)
		expect(t, findPair(t, pairs, "a/sleep", httpbin, 80, ""), TLSPlaintext, ErrNoFilterChain, false)
	})

	t.Run("DR ISTIO_MUTUAL to a pod without sidecar", func(t *testing.T) {
		m := baseMesh()
		m.DestinationRules = []randmesh.DestinationRule{{
			Name: "all", Namespace: randmesh.RootNamespace, Host: "*.local",
			Policy: &randmesh.TrafficPolicy{TLS: randmesh.TLSIstioMutual},
		}}
		pairs := Evaluate(t, m)
		expect(t, findPair(t, pairs, "a/sleep", "curl.legacy.svc.cluster.local", 80, ""), TLSMutual, NoSidecar, false)
		expect(t, findPair(t, pairs, "a/sleep", httpbin, 80, ""), TLSMutual, Accepted, true)
	})

	t.Run("workload portLevelMtls DISABLE on the container port", func(t *testing.T) {
		m := baseMesh()
		w := m.Workload("b", "httpbin")
		w.Ports = []randmesh.Port{httpPort(80, 8080), tcpPort(9000, 9000)}
		m.PeerAuthentications = []randmesh.PeerAuthentication{{
			Name: "httpbin", Namespace: "b", Selector: map[string]string{"app": "httpbin"},
			Mode: randmesh.ModeStrict, PortLevel: []randmesh.PortMode{{Port: 8080, Mode: randmesh.ModeDisable}},
		}}
		m.Complete()
		pairs := Evaluate(t, m)
		// Auto mTLS reads the endpoint's port-level DISABLE: plaintext, accepted.
		expect(t, findPair(t, pairs, "a/sleep", httpbin, 80, ""), TLSPlaintext, Accepted, true)
		expect(t, findPair(t, pairs, "legacy/curl", httpbin, 80, ""), TLSPlaintext, Accepted, true)
		// The other port stays STRICT.
		expect(t, findPair(t, pairs, "a/sleep", httpbin, 9000, ""), TLSMutual, Accepted, true)
		expect(t, findPair(t, pairs, "legacy/curl", httpbin, 9000, ""), TLSPlaintext, ErrNoFilterChain, false)
	})

	t.Run("portLevelMtls keyed by the Service port does not apply", func(t *testing.T) {
		m := baseMesh()
		m.PeerAuthentications = []randmesh.PeerAuthentication{{
			Name: "httpbin", Namespace: "b", Selector: map[string]string{"app": "httpbin"},
			Mode: randmesh.ModeStrict, PortLevel: []randmesh.PortMode{{Port: 80, Mode: randmesh.ModeDisable}},
		}}
		pairs := Evaluate(t, m)
		expect(t, findPair(t, pairs, "a/sleep", httpbin, 80, ""), TLSMutual, Accepted, true)
		expect(t, findPair(t, pairs, "legacy/curl", httpbin, 80, ""), TLSPlaintext, ErrNoFilterChain, false)
	})

	t.Run("equal creationTimestamp: namespace PA with the smaller name wins", func(t *testing.T) {
		m := baseMesh()
		m.PeerAuthentications = []randmesh.PeerAuthentication{
			{Name: "z-last", Namespace: "b", Mode: randmesh.ModeStrict},
			{Name: "a-first", Namespace: "b", Mode: randmesh.ModePermissive},
		}
		pairs := Evaluate(t, m)
		expect(t, findPair(t, pairs, "legacy/curl", httpbin, 80, ""), TLSPlaintext, Accepted, true)
	})

	t.Run("private root DR applies to the gateway only", func(t *testing.T) {
		m := baseMesh()
		m.Gateway = &randmesh.Gateway{}
		m.PeerAuthentications = []randmesh.PeerAuthentication{strict}
		m.DestinationRules = []randmesh.DestinationRule{{
			Name: "all", Namespace: randmesh.RootNamespace, Host: "*.local", ExportTo: []string{"."},
			Policy: &randmesh.TrafficPolicy{TLS: randmesh.TLSDisable},
		}}
		m.Complete()
		pairs := Evaluate(t, m)
		expect(t, findPair(t, pairs, "istio-system/istio-ingressgateway", httpbin, 80, ""), TLSPlaintext, ErrNoFilterChain, false)
		expect(t, findPair(t, pairs, "a/sleep", httpbin, 80, ""), TLSMutual, Accepted, true)
	})

	t.Run("Service exportTo hides it: PassthroughCluster", func(t *testing.T) {
		m := baseMesh()
		m.Workload("b", "httpbin").ServiceExportTo = []string{"."}
		m.PeerAuthentications = []randmesh.PeerAuthentication{strict}
		pairs := Evaluate(t, m)
		expect(t, findPair(t, pairs, "a/sleep", httpbin, 80, ""), TLSNoneVisible, ErrNoFilterChain, false)
	})

	t.Run("gateway client", func(t *testing.T) {
		m := baseMesh()
		m.Gateway = &randmesh.Gateway{}
		m.PeerAuthentications = []randmesh.PeerAuthentication{strict}
		m.Complete()
		pairs := Evaluate(t, m)
		expect(t, findPair(t, pairs, "istio-system/istio-ingressgateway", httpbin, 80, ""), TLSMutual, Accepted, true)
	})

	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			m := randmesh.Generate(seed)
			start := time.Now()
			pairs := Evaluate(t, m)
			elapsed := time.Since(start)
			counts := map[string]int{}
			for _, p := range pairs {
				counts[fmt.Sprintf("%s/%s", p.ClientTLS, p.Verdict)]++
				checkInvariants(t, p)
			}
			t.Logf("seed %d: %d workloads, %d pairs in %v: %v", seed, len(m.Workloads), len(pairs), elapsed, counts)
			if testing.Verbose() && os.Getenv("ORACLE_DUMP") != "" {
				t.Log(m.String())
				for _, p := range pairs {
					t.Log(p.String())
				}
			}
		})
	}
}

// checkInvariants are facts that hold whatever the mesh.
func checkInvariants(t *testing.T, p Pair) {
	t.Helper()
	bad := func(why string) { t.Errorf("%s: %s\n  evidence: %q", p, why, p.Evidence) }
	switch {
	case p.Verdict == "":
		bad("no verdict")
	case p.ClientKind == ClientNoSidecar && p.ClientTLS != TLSPlaintext:
		bad("a client without sidecar sends plaintext")
	case !p.ServerSidecar && p.Verdict != NoSidecar && p.Verdict != NoClientCluster:
		bad("server without sidecar must say no-sidecar")
	case p.ClientTLS == TLSMutual && p.ServerSidecar && !p.Accepted && p.Verdict != ErrProtocolError:
		bad("mTLS to a sidecar is accepted, except by an HTTP chain that does not terminate TLS")
	case p.Accepted != (p.Verdict == Accepted || (p.Verdict == NoSidecar && (p.ClientTLS == TLSPlaintext || p.ClientTLS == TLSNoneVisible))):
		bad("accepted inconsistent with verdict")
	}
}

// TestOracleDeterministic: the same mesh gives the same pairs, with the fast kube client
// and with Istio's own (ORACLE_SLOW_KUBE).
func TestOracleDeterministic(t *testing.T) {
	render := func(pairs []Pair) string {
		var b strings.Builder
		for _, p := range pairs {
			fmt.Fprintf(&b, "%+v\n", p)
		}
		return b.String()
	}
	for seed := uint64(100); seed < 108; seed++ {
		m := randmesh.Generate(seed)
		fast := render(Evaluate(t, m))
		if again := render(Evaluate(t, m)); again != fast {
			t.Errorf("seed %d: two evaluations differ", seed)
		}
		t.Setenv("ORACLE_SLOW_KUBE", "1")
		if slow := render(Evaluate(t, m)); slow != fast {
			t.Errorf("seed %d: Istio's kube client builder gives other pairs:\n%s\nvs\n%s", seed, slow, fast)
		}
		t.Setenv("ORACLE_SLOW_KUBE", "")
	}
}

// TestOracleMany runs ORACLE_MESHES random meshes (default: skipped) in parallel subtests
// and reports throughput. ORACLE_SEED0 shifts the seeds.
func TestOracleMany(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ORACLE_MESHES"))
	if n == 0 {
		t.Skip("set ORACLE_MESHES")
	}
	seed0, _ := strconv.ParseUint(os.Getenv("ORACLE_SEED0"), 10, 64)
	var pairs atomic.Int64
	start := time.Now()
	t.Run("group", func(t *testing.T) {
		for i := range n {
			seed := seed0 + uint64(i)
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				if os.Getenv("ORACLE_SEQUENTIAL") == "" {
					t.Parallel()
				}
				for _, p := range Evaluate(t, randmesh.Generate(seed)) {
					checkInvariants(t, p)
					pairs.Add(1)
				}
				if seed%50 == 0 && os.Getenv("ORACLE_MEMSTATS") != "" {
					runtime.GC()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					fmt.Fprintf(os.Stderr, "seed %d: goroutines=%d heap=%dMB\n", seed, runtime.NumGoroutine(), ms.HeapAlloc>>20)
				}
			})
		}
	})
	el := time.Since(start)
	t.Logf("%d meshes, %d pairs in %v (%.1f ms/mesh)", n, pairs.Load(), el, float64(el.Milliseconds())/float64(n))
}
