//go:build istiooracle

package oracle

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/oracle/randmesh"
)

// TestDifferential compares meshdoctor's engine (internal/resolve, reading the user
// manifests m.ManifestsYAML()) with Istio's own pilot (Evaluate) on random meshes, pair by
// pair: for every (client, Service port, subset, endpoint pod), the TLS the client sends
// (mode, and SNI and SANs for Istio mTLS) and whether the server side takes it (and why
// not). Any disagreement fails the test with the seed, both answers, the engine's reasons
// and a trimmed mesh that reproduces it.
//
// ORACLE_MESHES sets the number of meshes (default 1000, seeds 1..N); ORACLE_SEED runs one
// seed; ORACLE_DIFF_REPROS bounds how many failing meshes get a trimmed repro (default 3;
// the others print the command that reproduces them).
func TestDifferential(t *testing.T) {
	n := 1000
	if v := os.Getenv("ORACLE_MESHES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("ORACLE_MESHES=%q: want a positive number", v)
		}
	}
	seeds := make([]uint64, 0, n)
	for i := 1; i <= n; i++ {
		seeds = append(seeds, uint64(i))
	}
	if v := os.Getenv("ORACLE_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ORACLE_SEED=%q: want a number", v)
		}
		seeds = []uint64{s}
	}
	repros := 3
	if v := os.Getenv("ORACLE_DIFF_REPROS"); v != "" {
		repros, _ = strconv.Atoi(v)
	}

	st := &diffStats{excluded: map[string]int{}, normalized: map[string]int{}, coverage: map[string]int{}, outcomes: map[string]int{}, reprosLeft: repros}
	start := time.Now()
	t.Run("mesh", func(t *testing.T) {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				t.Parallel()
				done := false
				defer func() {
					if !done { // Evaluate stopped the subtest (t.Fatalf): a harness failure
						st.harnessFailed(seed)
					}
				}()
				m := randmesh.Generate(seed)
				res := compareMesh(t, m)
				done = true
				st.add(res)
				if len(res.disagreements) > 0 {
					reportDisagreements(t, m, res, st)
				}
			})
		}
	})
	elapsed := time.Since(start)

	var b strings.Builder
	fmt.Fprintf(&b, "differential test against Istio's pilot (%d CPU, GOMAXPROCS %d)\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "  meshes:            %d (seeds %d..%d)\n", st.meshes, seeds[0], seeds[len(seeds)-1])
	fmt.Fprintf(&b, "  oracle pairs:      %d\n", st.oraclePairs)
	fmt.Fprintf(&b, "  pairs compared:    %d\n", st.compared)
	fmt.Fprintf(&b, "  pairs excluded:    %d\n", st.excludedTotal())
	for _, k := range sortedCounts(st.excluded) {
		fmt.Fprintf(&b, "    %6d  %s\n", st.excluded[k], k)
	}
	fmt.Fprintf(&b, "  compared pairs by client and cluster:\n")
	for _, k := range sortedCounts(st.coverage) {
		fmt.Fprintf(&b, "    %6d  %s\n", st.coverage[k], k)
	}
	fmt.Fprintf(&b, "  compared pairs by Istio's answer (client TLS -> server):\n")
	for _, k := range sortedCounts(st.outcomes) {
		fmt.Fprintf(&b, "    %6d  %s\n", st.outcomes[k], k)
	}
	if len(st.normalized) > 0 {
		fmt.Fprintf(&b, "  compared after normalizing the oracle's view (counted, not excluded):\n")
		for _, k := range sortedCounts(st.normalized) {
			fmt.Fprintf(&b, "    %6d  %s\n", st.normalized[k], k)
		}
	}
	agree := 100.0
	if st.compared > 0 {
		agree = 100 * float64(st.compared-st.disagreeing) / float64(st.compared)
	}
	fmt.Fprintf(&b, "  disagreeing pairs: %d in %d meshes\n", st.disagreeing, st.failingMeshes)
	if len(st.harness) > 0 {
		sort.Slice(st.harness, func(i, j int) bool { return st.harness[i] < st.harness[j] })
		fmt.Fprintf(&b, "  harness failures:  %d meshes (seeds %v), not compared\n", len(st.harness), st.harness)
	}
	fmt.Fprintf(&b, "  agreement:         %.4f%%\n", agree)
	fmt.Fprintf(&b, "  wall time:         %v (%.1f ms/mesh)\n", elapsed.Round(time.Millisecond), float64(elapsed.Milliseconds())/float64(max(st.meshes, 1)))
	t.Log("\n" + b.String())
}

// ---------------------------------------------------------------------------
// Exclusions and normalizations.
//
// Every pair Evaluate reports is compared, except those listed here. Each exclusion is a case
// where Istio's simulation cannot say what happens on the wire, so there is nothing to
// compare the engine's answer with.

const (
	// The gateway has no cluster for a Service that is not exported to istio-system: a
	// route to it fails at the gateway (503 NC) and no request reaches any server. The
	// oracle does not evaluate the server, so only the visibility is compared (the engine
	// must also find the Service invisible); the server-side answer is excluded.
	exclGatewayNoCluster = "gateway has no cluster for the Service (not exported to its namespace): no request reaches the server, only visibility is compared"
)

// Normalizations: the oracle's raw verdict says which inbound filter chain matched; when the
// bytes then reach the application unterminated, what happens depends on the application,
// which neither side knows from manifests. Both sides are brought to the same meaning:
//
//   - Istio mTLS that reaches a plaintext application (a sidecar's plaintext passthrough chain
//     on a DISABLE TCP port, a plaintext HTTP chain that fails to parse it, or no sidecar):
//     the handshake cannot complete (the app has no mesh certificate): MTLS_TO_NON_MESH.
//   - The client's own TLS (DestinationRule SIMPLE) that reaches the application
//     unterminated (no sidecar, or a sidecar TCP passthrough chain): accepted as "tls" when
//     the application terminates TLS itself, which the engine states as an assumption. The
//     oracle's raw verdict for a pod without sidecar assumes a plaintext app (not accepted);
//     with a sidecar passthrough it says accepted. Both are compared as "TLS reaches the app".
const (
	normMTLSPassthrough = "Istio mTLS passed through by a sidecar chain that does not terminate it (oracle accepted, terminatesTLS=false): compared as MTLS_TO_NON_MESH"
	normMTLSProtocol    = "Istio mTLS to a sidecar's plaintext HTTP chain (oracle ErrProtocolError): compared as MTLS_TO_NON_MESH"
	normTLSNoSidecar    = "DestinationRule TLS to a pod without sidecar (oracle: plaintext app, not accepted): compared as TLS reaching the app"
	normTLSPassthrough  = "DestinationRule TLS passed through a sidecar TCP chain (oracle accepted, terminatesTLS=false): compared as TLS reaching the app"
	// Istio's simulation matches filter chains but does not verify certificates: a client
	// whose cluster validates subjectAltNames (DestinationRule tls.subjectAltNames) that do
	// not include the server's identity fails the handshake in Envoy
	// (CERTIFICATE_VERIFY_FAILED). The server's identity is
	// spiffe://<trust domain>/ns/<namespace>/sa/<serviceAccount> of the endpoint pod.
	normSANMismatch = "Istio mTLS accepted by the server's chain, but the client's SANs exclude the server identity: compared as SAN_MISMATCH"
)

// ---------------------------------------------------------------------------

type diffStats struct {
	mu            sync.Mutex
	meshes        int
	oraclePairs   int
	compared      int
	disagreeing   int
	failingMeshes int
	excluded      map[string]int
	normalized    map[string]int
	coverage      map[string]int
	outcomes      map[string]int
	reprosLeft    int
	harness       []uint64 // seeds whose evaluation failed
}

func (s *diffStats) harnessFailed(seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meshes++
	s.harness = append(s.harness, seed)
}

func (s *diffStats) add(r meshResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meshes++
	if r.harnessErr != nil {
		s.harness = append(s.harness, r.seed)
	}
	s.oraclePairs += r.oraclePairs
	s.compared += r.compared
	s.disagreeing += len(r.disagreements)
	if len(r.disagreements) > 0 {
		s.failingMeshes++
	}
	for k, v := range r.excluded {
		s.excluded[k] += v
	}
	for k, v := range r.normalized {
		s.normalized[k] += v
	}
	for k, v := range r.coverage {
		s.coverage[k] += v
	}
	for k, v := range r.outcomes {
		s.outcomes[k] += v
	}
}

func (s *diffStats) excludedTotal() int {
	n := 0
	for _, v := range s.excluded {
		n += v
	}
	return n
}

// takeRepro reports whether this failing mesh still gets a trimmed repro.
func (s *diffStats) takeRepro() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reprosLeft <= 0 {
		return false
	}
	s.reprosLeft--
	return true
}

func sortedCounts(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// ---------------------------------------------------------------------------
// The engine's answer.

// enginePair is the engine's answer for one pair, in the oracle's vocabulary.
type enginePair struct {
	Key        string
	ClientKind ClientKind
	// Visible: the client's proxy has configuration for the Service (networking.istio.io/exportTo).
	Visible bool
	TLS     TLS // as the oracle names it; TLSNoneVisible when not visible
	SNI     string
	SANs    []string

	ServerSidecar bool
	Evaluated     bool // the server side was asked (not for the gateway and an invisible Service)
	Accepted      bool
	Cause         string
	Security      string

	TLSReason    string
	AcceptReason string
	Assumptions  []string
}

// engineMesh builds the engine over the mesh's user manifests.
func engineMesh(t *testing.T, m *randmesh.Mesh) (*resolve.Engine, error) {
	t.Helper()
	var res load.Result
	load.Decode("mesh.yaml", []byte(m.ManifestsYAML()), &res)
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("loading the manifests: %v", res.Errors)
	}
	x := mesh.Build(res.Objects, mesh.Options{})
	return resolve.New(x), nil
}

// enginePairs returns the engine's answers for every pair the oracle would report, keyed by
// Pair.Key: every client (workloads and the gateway when the mesh has one), every Service
// port, the default cluster and one per DestinationRule subset the client's proxy uses,
// every endpoint pod.
func enginePairs(t *testing.T, m *randmesh.Mesh) (map[string]*enginePair, error) {
	e, err := engineMesh(t, m)
	if err != nil {
		return nil, err
	}
	x := e.X
	type client struct {
		key string
		w   *mesh.Workload
	}
	var clients []client
	for i := range m.Workloads {
		w := &m.Workloads[i]
		c := x.Workload(w.Namespace, w.Name, "")
		if c == nil {
			return nil, fmt.Errorf("the engine has no workload %s", w.Key())
		}
		clients = append(clients, client{w.Key(), c})
	}
	if g := m.Gateway; g != nil {
		c := x.Workload(g.Namespace, g.Name, "")
		if c == nil || c.Implicit {
			return nil, fmt.Errorf("the engine has no gateway workload %s", g.Key())
		}
		clients = append(clients, client{g.Key(), c})
	}

	out := map[string]*enginePair{}
	for _, cl := range clients {
		c := cl.w
		sc := e.Sidecar(c)
		kind := ClientNoSidecar
		switch sc.Kind {
		case resolve.ProxySidecar:
			kind = ClientSidecar
		case resolve.ProxyGateway:
			kind = ClientGateway
		}
		for i := range m.Workloads {
			sw := &m.Workloads[i]
			svc := x.ServiceByHost(sw.Host())
			if svc == nil {
				return nil, fmt.Errorf("the engine has no Service %s", sw.Host())
			}
			for _, rp := range sw.Ports {
				sp := svc.Port(int32(rp.ServicePort))
				if sp == nil {
					return nil, fmt.Errorf("the engine has no port %d on %s", rp.ServicePort, sw.Host())
				}
				visible := true
				if sc.HasProxy {
					scheme := "tcp"
					if rp.Protocol == randmesh.ProtocolHTTP {
						scheme = "http"
					}
					rd := e.RouteFromSidecar(c, resolve.Request{Scheme: scheme, Host: sw.Host(), Port: sp.Port})
					visible = !rd.UnknownHost
				}
				type subset struct {
					name   string
					labels map[string]string
				}
				subsets := []subset{{}}
				if sc.HasProxy && visible {
					if drd := e.DestinationRule(c, svc.Host); drd.Rule != nil {
						for _, s := range drd.Rule.Subsets {
							subsets = append(subsets, subset{s.Name, s.Labels})
						}
					}
				}
				for _, ss := range subsets {
					for _, ep := range e.Endpoints(svc, sp, ss.labels) {
						rw := m.Workload(ep.Workload.Namespace, ep.Workload.Name)
						if rw == nil {
							return nil, fmt.Errorf("endpoint %s of %s is not in the mesh", ep.Workload.Key(), svc.Host)
						}
						ans := &enginePair{ClientKind: kind, Visible: visible}
						ans.ServerSidecar = e.Sidecar(ep.Workload).HasProxy
						var tls resolve.ClientTLSDecision
						switch {
						case !visible:
							ans.TLS = TLSNoneVisible
							tls = resolve.ClientTLSDecision{Mode: resolve.TLSPlaintext}
							tls.Reason = fmt.Sprintf("%s is not visible to %s (Service exportTo): PassthroughCluster, plaintext", svc.Host, c.Key())
						default:
							tls = e.ClientTLS(c, svc, sp, ss.name, ep.Workload, ep.TargetPort)
							ans.TLS = engineTLS(tls.Mode)
							if tls.Mode == resolve.TLSMutualIstio {
								ans.SNI = tls.SNI
								ans.SANs = slices.Clone(tls.SANs)
							}
						}
						ans.TLSReason = tls.Reason
						ans.Assumptions = append(ans.Assumptions, tls.Assumptions...)
						if visible || kind != ClientGateway {
							acc := e.ServerAccepts(ep.Workload, ep.TargetPort, tls, rp.Protocol)
							ans.Evaluated = true
							ans.Accepted, ans.Cause, ans.Security = acc.Accepted, acc.Cause, acc.Security
							ans.AcceptReason = acc.Reason
							ans.Assumptions = append(ans.Assumptions, acc.Assumptions...)
						}
						for _, pod := range rw.Pods {
							p := *ans
							p.Key = pairKey(cl.key, sw.Host(), rp.ServicePort, ss.name, rw.Namespace+"/"+pod.Name)
							out[p.Key] = &p
						}
					}
				}
			}
		}
	}
	return out, nil
}

func pairKey(client, host string, port int, subset, endpoint string) string {
	return Pair{Client: client, Host: host, ServicePort: port, Subset: subset, Endpoint: endpoint}.Key()
}

func engineTLS(mode string) TLS {
	switch mode {
	case resolve.TLSMutualIstio:
		return TLSMutual
	case resolve.TLSPlaintext:
		return TLSPlaintext
	case resolve.TLSSimple, resolve.TLSMutualUser:
		// MUTUAL with the user's certificates is, like SIMPLE, a TLS socket without the
		// workload certificate (the oracle's "tls").
		return TLSSimple
	}
	return TLS("unknown(" + mode + ")")
}

// ---------------------------------------------------------------------------
// The oracle's answer, in the engine's terms.

// oracleOutcome is what the oracle says happens at the server, in the engine's vocabulary.
type oracleOutcome struct {
	evaluated bool
	accepted  bool
	cause     string // resolve.Cause* when not accepted
	security  string // when accepted: mtls, plaintext or tls
	norm      string // the normalization applied, if any
}

func outcomeOf(p Pair, serverID string) oracleOutcome {
	tls := p.ClientTLS
	if tls == TLSNoneVisible {
		tls = TLSPlaintext
	}
	o := oracleOutcome{evaluated: true}
	accept := func(sec string) oracleOutcome { o.accepted, o.security = true, sec; return o }
	reject := func(cause string) oracleOutcome { o.cause = cause; return o }
	switch p.Verdict {
	case NoClientCluster:
		o.evaluated = false
		return o
	case NoSidecar:
		switch tls {
		case TLSPlaintext:
			return accept(resolve.TLSPlaintext)
		case TLSMutual:
			return reject(resolve.CauseMTLSToNonMesh)
		case TLSSimple:
			o.norm = normTLSNoSidecar
			return accept(resolve.TLSSimple)
		}
	case Accepted:
		switch tls {
		case TLSPlaintext:
			if !p.ServerTerminatesTLS {
				return accept(resolve.TLSPlaintext)
			}
		case TLSMutual:
			if p.ServerTerminatesTLS {
				if len(p.SANs) > 0 && !slices.Contains(p.SANs, serverID) {
					o.norm = normSANMismatch
					return reject(resolve.CauseSANMismatch)
				}
				return accept(resolve.TLSMutualIstio)
			}
			o.norm = normMTLSPassthrough
			return reject(resolve.CauseMTLSToNonMesh)
		case TLSSimple:
			if !p.ServerTerminatesTLS {
				o.norm = normTLSPassthrough
				return accept(resolve.TLSSimple)
			}
		}
	case ErrNoFilterChain:
		switch tls {
		case TLSPlaintext:
			return reject(resolve.CausePlaintextToStrict)
		case TLSSimple:
			return reject(resolve.CauseTLSToSidecar)
		}
	case ErrMTLSError, ErrTLSError:
		if tls == TLSSimple {
			return reject(resolve.CauseTLSToSidecar)
		}
	case ErrProtocolError:
		switch tls {
		case TLSMutual:
			o.norm = normMTLSProtocol
			return reject(resolve.CauseMTLSToNonMesh)
		case TLSSimple:
			return reject(resolve.CauseTLSToSidecar)
		}
	}
	// A combination the mapping does not know: compared as is, so it shows up.
	o.cause = fmt.Sprintf("oracle:%s(tls=%s,terminatesTLS=%v)", p.Verdict, p.ClientTLS, p.ServerTerminatesTLS)
	o.accepted = false
	return o
}

// ---------------------------------------------------------------------------
// Comparison.

type disagreement struct {
	key    string
	what   []string // the fields that differ
	oracle *Pair
	engine *enginePair
}

// signature identifies a disagreement for trimming: the same pair differing the same way.
func (d disagreement) signature() string { return d.key + " | " + strings.Join(d.what, "; ") }

type meshResult struct {
	oraclePairs   int
	compared      int
	excluded      map[string]int
	normalized    map[string]int
	coverage      map[string]int // compared pairs by client kind and cluster
	outcomes      map[string]int // compared pairs by Istio's normalized answer
	disagreements []disagreement
	harnessErr    error
	seed          uint64
	ids           map[string]string // server identity by Service host
}

// compareMesh evaluates m with the oracle and the engine and compares every pair.
func compareMesh(t *testing.T, m *randmesh.Mesh) meshResult {
	t.Helper()
	res := meshResult{seed: m.Seed, excluded: map[string]int{}, normalized: map[string]int{}, coverage: map[string]int{}, outcomes: map[string]int{}}
	pairs := Evaluate(t, m)
	res.oraclePairs = len(pairs)
	eng, err := enginePairs(t, m)
	if err != nil {
		res.harnessErr = err
		t.Errorf("seed %d: engine harness: %v", m.Seed, err)
		return res
	}
	// The identity each endpoint pod presents, by Service host.
	ids := map[string]string{}
	for i := range m.Workloads {
		w := &m.Workloads[i]
		ids[w.Host()] = m.Identity(w)
	}
	res.ids = ids
	seen := map[string]bool{}
	for i := range pairs {
		p := &pairs[i]
		key := p.Key()
		seen[key] = true
		ep := eng[key]
		if ep == nil {
			res.compared++
			res.disagreements = append(res.disagreements, disagreement{key: key, what: []string{"pair missing from the engine (endpoint or subset set differs)"}, oracle: p})
			continue
		}
		var what []string
		diff := func(field string, oracle, engine any) {
			if fmt.Sprint(oracle) != fmt.Sprint(engine) {
				what = append(what, fmt.Sprintf("%s: istio=%v engine=%v", field, oracle, engine))
			}
		}
		diff("client kind", p.ClientKind, ep.ClientKind)
		diff("server sidecar", p.ServerSidecar, ep.ServerSidecar)
		diff("client TLS", p.ClientTLS, ep.TLS)
		if p.ClientTLS == TLSMutual && ep.TLS == TLSMutual {
			diff("SNI", p.SNI, ep.SNI)
			diff("SANs", sortedCopy(p.SANs), sortedCopy(ep.SANs))
		}
		o := outcomeOf(*p, ids[p.Host])
		if o.norm != "" {
			res.normalized[o.norm]++
		}
		if !o.evaluated {
			// Only the visibility is comparable (see exclGatewayNoCluster).
			res.excluded[exclGatewayNoCluster]++
			diff("visible", false, ep.Visible)
		} else {
			res.compared++
			cov := fmt.Sprintf("%s client, default cluster", p.ClientKind)
			switch {
			case p.ClientTLS == TLSNoneVisible:
				cov = fmt.Sprintf("%s client, Service not visible (PassthroughCluster)", p.ClientKind)
			case p.Subset != "":
				cov = fmt.Sprintf("%s client, subset cluster", p.ClientKind)
			}
			res.coverage[cov]++
			if o.accepted {
				res.outcomes[fmt.Sprintf("%s -> accepted (%s)", p.ClientTLS, o.security)]++
			} else {
				res.outcomes[fmt.Sprintf("%s -> %s", p.ClientTLS, o.cause)]++
			}
			diff("server evaluated", true, ep.Evaluated)
			diff("accepted", o.accepted, ep.Accepted)
			if o.accepted && ep.Accepted {
				diff("security", o.security, ep.Security)
			}
			if !o.accepted && !ep.Accepted {
				diff("cause", o.cause, ep.Cause)
			}
		}
		if len(what) > 0 {
			if !o.evaluated {
				res.compared++ // a visibility disagreement is a compared pair
			}
			res.disagreements = append(res.disagreements, disagreement{key: key, what: what, oracle: p, engine: ep})
		}
	}
	var extra []string
	for key := range eng {
		if !seen[key] {
			extra = append(extra, key)
		}
	}
	sort.Strings(extra)
	for _, key := range extra {
		res.compared++
		res.disagreements = append(res.disagreements, disagreement{key: key, what: []string{"pair missing from Istio (the engine has an endpoint or subset cluster Istio does not)"}, engine: eng[key]})
	}
	return res
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

// ---------------------------------------------------------------------------
// Reporting.

const maxShown = 8

func reportDisagreements(t *testing.T, m *randmesh.Mesh, res meshResult, st *diffStats) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d of %d pairs disagree (reproduce: cd oracle && ORACLE_SEED=%d go test -tags istiooracle -run TestDifferential -v .)\n",
		m.Seed, len(res.disagreements), res.compared, m.Seed)
	for i, d := range res.disagreements {
		if i == maxShown {
			fmt.Fprintf(&b, "... and %d more\n", len(res.disagreements)-maxShown)
			break
		}
		b.WriteString(describe(d, res.ids))
	}
	if st.takeRepro() {
		first := res.disagreements[0]
		small, evals := trim(t, m, first.signature())
		fmt.Fprintf(&b, "\nminimal mesh reproducing %q (trimmed in %d evaluations):\n%s\n--- manifests (engine input) ---\n%s\n", first.key, evals, small.String(), small.ManifestsYAML())
	}
	t.Error(b.String())
}

func describe(d disagreement, ids map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n* %s\n", d.key)
	for _, w := range d.what {
		fmt.Fprintf(&b, "    differs: %s\n", w)
	}
	if p := d.oracle; p != nil {
		o := outcomeOf(*p, ids[p.Host])
		fmt.Fprintf(&b, "    istio:  client %s sends %s (cluster %q, socket match %q, sni %q, sans %v); server %s accepted=%v chain=%q terminatesTLS=%v",
			p.ClientKind, p.ClientTLS, p.ClientCluster, p.SocketMatch, p.SNI, p.SANs, p.Verdict, p.Accepted, p.ServerFilterChain, p.ServerTerminatesTLS)
		if o.norm != "" {
			fmt.Fprintf(&b, " [normalized: %s]", o.norm)
		}
		b.WriteString("\n")
		for _, ev := range p.Evidence {
			fmt.Fprintf(&b, "      evidence: %s\n", ev)
		}
	}
	if e := d.engine; e != nil {
		fmt.Fprintf(&b, "    engine: client %s visible=%v sends %s (sni %q, sans %v); server sidecar=%v accepted=%v cause=%q security=%q\n",
			e.ClientKind, e.Visible, e.TLS, e.SNI, e.SANs, e.ServerSidecar, e.Accepted, e.Cause, e.Security)
		fmt.Fprintf(&b, "      client TLS reason: %s\n", e.TLSReason)
		if e.Evaluated {
			fmt.Fprintf(&b, "      server reason:     %s\n", e.AcceptReason)
		}
		for _, a := range resolve.SortedAssumptions(e.Assumptions) {
			fmt.Fprintf(&b, "      assumes: %s\n", a)
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// Trimming: drop what the disagreement does not need.

// trim greedily removes parts of m (DestinationRules, PeerAuthentications and their
// port-level entries and subsets, other workloads, ports, the gateway, empty namespaces)
// while the disagreement with the given signature persists, and returns the smallest mesh
// found and how many evaluations it took.
func trim(t *testing.T, m *randmesh.Mesh, sig string) (*randmesh.Mesh, int) {
	t.Helper()
	evals := 0
	still := func(c *randmesh.Mesh) bool {
		evals++
		ok := false
		t.Run("trim", func(tt *testing.T) {
			res := compareMesh(tt, c)
			for _, d := range res.disagreements {
				if d.signature() == sig {
					ok = true
				}
			}
		})
		return ok
	}
	cur := cloneMesh(m)
	for changed := true; changed && evals < 400; {
		changed = false
		for _, cand := range shrinkCandidates(cur, sig) {
			if still(cand) {
				cur, changed = cand, true
				break
			}
		}
	}
	return cur, evals
}

// shrinkCandidates lists meshes with one part of cur removed, biggest parts first.
func shrinkCandidates(cur *randmesh.Mesh, sig string) []*randmesh.Mesh {
	var out []*randmesh.Mesh
	involved := func(key string) bool {
		// The client and the server workload of the pair must stay.
		return strings.HasPrefix(sig, key+" -> ") || strings.Contains(sig, "@"+key+"-")
	}
	for i := range cur.Workloads {
		if involved(cur.Workloads[i].Key()) {
			continue
		}
		c := cloneMesh(cur)
		c.Workloads = slices.Delete(c.Workloads, i, i+1)
		out = append(out, c)
	}
	if cur.MeshConfig != nil {
		c := cloneMesh(cur)
		c.MeshConfig = nil
		out = append(out, c)
	}
	if cur.Gateway != nil && !involved(cur.Gateway.Key()) {
		c := cloneMesh(cur)
		c.Gateway = nil
		out = append(out, c)
	}
	for i := range cur.DestinationRules {
		c := cloneMesh(cur)
		c.DestinationRules = slices.Delete(c.DestinationRules, i, i+1)
		out = append(out, c)
	}
	for i := range cur.PeerAuthentications {
		c := cloneMesh(cur)
		c.PeerAuthentications = slices.Delete(c.PeerAuthentications, i, i+1)
		out = append(out, c)
	}
	for i, pa := range cur.PeerAuthentications {
		for j := range pa.PortLevel {
			c := cloneMesh(cur)
			c.PeerAuthentications[i].PortLevel = slices.Delete(c.PeerAuthentications[i].PortLevel, j, j+1)
			out = append(out, c)
		}
	}
	for i, dr := range cur.DestinationRules {
		for j := range dr.Subsets {
			c := cloneMesh(cur)
			c.DestinationRules[i].Subsets = slices.Delete(c.DestinationRules[i].Subsets, j, j+1)
			out = append(out, c)
		}
		if dr.WorkloadSelector != nil {
			c := cloneMesh(cur)
			c.DestinationRules[i].WorkloadSelector = nil
			out = append(out, c)
		}
		if p := dr.Policy; p != nil && (p.SNI != "" || p.SANsSet || p.CredentialName != "") {
			c := cloneMesh(cur)
			cp := c.DestinationRules[i].Policy
			cp.SNI, cp.SubjectAltNames, cp.SANsSet, cp.CredentialName = "", nil, false, ""
			out = append(out, c)
		}
		if dr.Policy != nil {
			for j := range dr.Policy.PortLevel {
				c := cloneMesh(cur)
				c.DestinationRules[i].Policy.PortLevel = slices.Delete(c.DestinationRules[i].Policy.PortLevel, j, j+1)
				out = append(out, c)
			}
			if dr.Policy.LoadBalancer != "" {
				c := cloneMesh(cur)
				c.DestinationRules[i].Policy.LoadBalancer = ""
				out = append(out, c)
			}
		}
		for j, s := range dr.Subsets {
			if s.Policy != nil {
				c := cloneMesh(cur)
				c.DestinationRules[i].Subsets[j].Policy = nil
				out = append(out, c)
			}
		}
	}
	for i, w := range cur.Workloads {
		if len(w.Ports) > 1 {
			for j, p := range w.Ports {
				if strings.Contains(sig, fmt.Sprintf("%s:%d", w.Host(), p.ServicePort)) {
					continue
				}
				c := cloneMesh(cur)
				c.Workloads[i].Ports = slices.Delete(c.Workloads[i].Ports, j, j+1)
				out = append(out, c)
			}
		}
		if w.Headless {
			c := cloneMesh(cur)
			c.Workloads[i].Headless = false
			out = append(out, c)
		}
		if w.Replicas > 1 && strings.Contains(sig, "@"+w.Key()+"-0") {
			c := cloneMesh(cur)
			c.Workloads[i].Replicas = 1
			c.Workloads[i].Pods = c.Workloads[i].Pods[:1]
			out = append(out, c)
		}
	}
	used := map[string]bool{randmesh.RootNamespace: true}
	for _, w := range cur.Workloads {
		used[w.Namespace] = true
	}
	for _, pa := range cur.PeerAuthentications {
		used[pa.Namespace] = true
	}
	for _, dr := range cur.DestinationRules {
		used[dr.Namespace] = true
		for _, e := range dr.ExportTo {
			used[e] = true
		}
	}
	for _, w := range cur.Workloads {
		for _, e := range w.ServiceExportTo {
			used[e] = true
		}
	}
	for i, ns := range cur.Namespaces {
		if !used[ns.Name] {
			c := cloneMesh(cur)
			c.Namespaces = slices.Delete(c.Namespaces, i, i+1)
			out = append(out, c)
		}
	}
	return out
}

// cloneMesh deep-copies a mesh (Complete fills maps in place).
func cloneMesh(m *randmesh.Mesh) *randmesh.Mesh {
	c := *m
	c.Namespaces = slices.Clone(m.Namespaces)
	c.Workloads = slices.Clone(m.Workloads)
	for i := range c.Workloads {
		w := &c.Workloads[i]
		w.Labels = cloneLabels(w.Labels)
		w.Ports = slices.Clone(w.Ports)
		w.Pods = slices.Clone(w.Pods)
		w.ServiceExportTo = slices.Clone(w.ServiceExportTo)
	}
	c.PeerAuthentications = slices.Clone(m.PeerAuthentications)
	for i := range c.PeerAuthentications {
		pa := &c.PeerAuthentications[i]
		pa.Selector = cloneLabels(pa.Selector)
		pa.PortLevel = slices.Clone(pa.PortLevel)
	}
	c.DestinationRules = slices.Clone(m.DestinationRules)
	for i := range c.DestinationRules {
		dr := &c.DestinationRules[i]
		dr.ExportTo = slices.Clone(dr.ExportTo)
		dr.WorkloadSelector = cloneLabels(dr.WorkloadSelector)
		dr.Policy = clonePolicy(dr.Policy)
		dr.Subsets = slices.Clone(dr.Subsets)
		for j := range dr.Subsets {
			dr.Subsets[j].Labels = cloneLabels(dr.Subsets[j].Labels)
			dr.Subsets[j].Policy = clonePolicy(dr.Subsets[j].Policy)
		}
	}
	if m.Gateway != nil {
		g := *m.Gateway
		g.Labels = cloneLabels(g.Labels)
		c.Gateway = &g
	}
	if m.MeshConfig != nil {
		mc := *m.MeshConfig
		mc.DefaultDestinationRuleExportTo = slices.Clone(mc.DefaultDestinationRuleExportTo)
		c.MeshConfig = &mc
	}
	return &c
}

func cloneLabels(l map[string]string) map[string]string {
	if l == nil {
		return nil
	}
	c := make(map[string]string, len(l))
	for k, v := range l {
		c[k] = v
	}
	return c
}

func clonePolicy(p *randmesh.TrafficPolicy) *randmesh.TrafficPolicy {
	if p == nil {
		return nil
	}
	c := *p
	c.PortLevel = slices.Clone(p.PortLevel)
	c.SubjectAltNames = slices.Clone(p.SubjectAltNames)
	return &c
}
