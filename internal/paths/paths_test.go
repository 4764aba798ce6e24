package paths

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// The class-based evaluation must give every (client, service port) pair the
// verdict that tracing that pair alone gives: these tests trace every pair one
// by one and compare. They are the proof that OutboundClass, HostViews and
// AuthzIdentityTerms name everything a path depends on.

type verdict struct {
	result, cause, security string
	status                  int
}

func (v verdict) String() string {
	return fmt.Sprintf("%s/%s/%s/%d", v.result, v.cause, v.security, v.status)
}

func verdictOf(t *trace.Trace) verdict {
	return verdict{t.Result, t.Cause, t.Security, t.HTTPStatus}
}

// compareBruteForce checks All against one trace per pair and returns the
// number of pairs compared.
func compareBruteForce(t *testing.T, name string, x *mesh.Index) int {
	t.Helper()
	res := All(resolve.New(x), Options{})
	got := map[string]verdict{}
	var pairs int64
	for _, g := range res.Groups {
		v := verdictOf(g.Trace)
		if g.Gateway {
			continue
		}
		g.Clients.Each(func(w *mesh.Workload) bool {
			k := w.Key() + " -> " + g.URL
			if _, dup := got[k]; dup {
				t.Errorf("%s: %s is in two groups", name, k)
			}
			got[k] = v
			pairs++
			return true
		})
		if n := len(g.Clients.Workloads()); n != g.Clients.Len() {
			t.Errorf("%s: group of %s counts %d clients but lists %d", name, g.URL, g.Clients.Len(), n)
		}
	}
	e := resolve.New(x)
	n := 0
	for _, w := range x.Workloads {
		if e.Sidecar(w).Kind == resolve.ProxyGateway {
			continue
		}
		for _, svc := range x.Services {
			for i := range svc.Ports {
				url := trace.ServiceURL(svc, &svc.Ports[i])
				tr, err := trace.Run(e, w.Key(), url, trace.Options{NoFixes: true, AnyRequest: true})
				if err != nil {
					t.Fatalf("%s: trace %s %s: %v", name, w.Key(), url, err)
				}
				k := w.Key() + " -> " + url
				g, ok := got[k]
				switch {
				case !ok:
					t.Errorf("%s: %s is in no group", name, k)
				case g != verdictOf(tr):
					t.Errorf("%s: %s: class says %s, the pair's own trace %s (%s)", name, k, g, verdictOf(tr), tr.Summary)
				}
				n++
			}
		}
	}
	if int64(n) != pairs {
		t.Errorf("%s: %d pairs traced one by one, groups stand for %d", name, n, pairs)
	}
	// Gateway groups: one per route request, traced as trace would.
	for _, g := range res.Groups {
		if !g.Gateway {
			continue
		}
		tr, err := trace.Run(e, g.Clients.First().Key(), g.URL, trace.Options{NoFixes: true, AnyRequest: true, Method: g.Method, Headers: g.Headers})
		if err != nil || verdictOf(tr) != verdictOf(g.Trace) {
			t.Errorf("%s: gateway route %s: %v %v", name, g.URL, err, tr)
		}
	}
	return n
}

// generated indexes a generated mesh.
func generated(t *testing.T, seed uint64, services int) *mesh.Index {
	t.Helper()
	x, err := genmesh.Index(gen.Config{Seed: seed, Services: services})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func loadIndex(t *testing.T, kustomize string, files ...string) *mesh.Index {
	t.Helper()
	r := load.Load(load.Options{Files: files, Kustomizations: nonEmpty(kustomize)})
	if len(r.Errors) > 0 {
		t.Fatalf("%v", r.Errors)
	}
	return mesh.Build(r.Objects, mesh.Options{})
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func TestExampleAgreesWithTrace(t *testing.T) {
	x := loadIndex(t, "../../examples/titanium/k8s-manifests/overlays/gcp")
	compareBruteForce(t, "titanium", x)
	res := All(resolve.New(x), Options{})
	// The incident: the ingress gateway's route to /blog/ fails with
	// PORT_NOT_LISTENING (the blog binds 127.0.0.1).
	found := false
	for _, g := range res.Groups {
		if g.Gateway && strings.HasSuffix(g.URL, "/blog/") {
			found = true
			if g.Trace.Cause != trace.CausePortNotListening {
				t.Errorf("gateway %s: %s", g.URL, verdictOf(g.Trace))
			}
		}
	}
	if !found {
		t.Errorf("no gateway route to /blog/ among %d groups", len(res.Groups))
	}
}

func TestTraceCasesAgreeWithTrace(t *testing.T) {
	dirs, _ := filepath.Glob("../cli/testdata/trace/*/mesh.yaml")
	if len(dirs) < 10 {
		t.Fatalf("trace cases: %v", dirs)
	}
	for _, f := range dirs {
		compareBruteForce(t, filepath.Base(filepath.Dir(f)), loadIndex(t, "", f))
	}
}

// A generated mesh: many namespaces, so that most clients fall into the
// shared "every other namespace" classes.
func TestGeneratedMeshAgreesWithTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("traces every pair of a 150-service mesh")
	}
	x := generated(t, 3, 150)
	n := compareBruteForce(t, "gen", x)
	res := All(resolve.New(x), Options{})
	t.Logf("%d pairs, %d evaluations, %d groups", n, res.Evaluations, len(res.Groups))
	if res.Evaluations*3 > n {
		t.Errorf("%d evaluations for %d pairs: the classes do not share work", res.Evaluations, n)
	}
}

// Random small meshes built to stress every dependency of a path on its
// client: namespaces with and without sidecars, DestinationRules with short,
// exact and wildcard hosts, exportTo lists, workloadSelectors and TLS modes,
// mesh VirtualServices with exportTo, Service exportTo annotations, and
// AuthorizationPolicies naming principals, namespaces and service accounts
// (exact and wildcard).
func TestRandomMeshesAgreeWithTrace(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	total := 0
	for seed := 1; seed <= seeds; seed++ {
		yaml := randomMesh(seed)
		dir := t.TempDir()
		f := filepath.Join(dir, "mesh.yaml")
		if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		total += compareBruteForce(t, fmt.Sprintf("seed %d", seed), loadIndex(t, "", f))
		if t.Failed() {
			t.Logf("seed %d mesh:\n%s", seed, yaml)
			return
		}
	}
	t.Logf("%d meshes, %d pairs", seeds, total)
}

func randomMesh(seed int) string {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	var b strings.Builder
	doc := func(format string, args ...any) {
		b.WriteString("---\n")
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\n")
	}
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	nns := 4 + rng.IntN(5)
	var nss []string
	type wl struct{ ns, name, sa string }
	var wls []wl
	for i := 0; i < nns; i++ {
		ns := fmt.Sprintf("ns%d", i)
		nss = append(nss, ns)
		doc("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {istio-injection: %s}}", ns, pick("enabled", "enabled", "enabled", "disabled"))
		for j := 0; j < 1+rng.IntN(3); j++ {
			name := fmt.Sprintf("w%d", j)
			sa := pick("default", name)
			tier := pick("front", "back")
			wls = append(wls, wl{ns, name, sa})
			bind := ""
			if rng.IntN(12) == 0 {
				bind = "\n        args: [\"--bind=127.0.0.1:8080\"]"
			}
			doc(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s}
spec:
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s, tier: %s}}
    spec:
      serviceAccountName: %s
      containers:
      - name: app
        image: app%s
        ports: [{containerPort: 8080}]`, name, ns, name, name, tier, sa, bind)
			ann := ""
			if rng.IntN(8) == 0 {
				ann = fmt.Sprintf(", annotations: {networking.istio.io/exportTo: \".,%s\"}", pick(nss...))
			}
			portName := pick("http", "tcp", "")
			doc("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s%s}\nspec: {selector: {app: %s}, ports: [{name: %q, port: 80, targetPort: 8080}]}", name, ns, ann, name, portName)
		}
	}
	nsOf := func() string { return nss[rng.IntN(len(nss))] }
	wlOf := func() wl { return wls[rng.IntN(len(wls))] }
	doc("apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system}")
	for i := 0; i < rng.IntN(3); i++ {
		doc("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: pa%d, namespace: %s}\nspec: {mtls: {mode: %s}}", i, pick(append(nss, "istio-system")...), pick("STRICT", "PERMISSIVE", "DISABLE"))
	}
	for i := 0; i < rng.IntN(6); i++ {
		w := wlOf()
		host := pick(w.name, w.name+"."+w.ns, w.name+"."+w.ns+".svc.cluster.local", "*."+w.ns+".svc.cluster.local", "*.local")
		ns := pick(nsOf(), w.ns, "istio-system")
		extra := ""
		switch rng.IntN(4) {
		case 0:
			extra = fmt.Sprintf("\n  exportTo: [\".\", %q]", nsOf())
		case 1:
			extra = "\n  exportTo: [\".\"]"
		case 2:
			extra = fmt.Sprintf("\n  workloadSelector: {matchLabels: {tier: %s}}", pick("front", "back"))
		}
		doc("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr%d, namespace: %s}\nspec:\n  host: %q%s\n  trafficPolicy: {tls: {mode: %s}}", i, ns, host, extra, pick("ISTIO_MUTUAL", "DISABLE", "ISTIO_MUTUAL"))
	}
	for i := 0; i < rng.IntN(3); i++ {
		w, to := wlOf(), wlOf()
		exp := ""
		if rng.IntN(2) == 0 {
			exp = fmt.Sprintf("\n  exportTo: [\".\", %q]", nsOf())
		}
		doc("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs%d, namespace: %s}\nspec:\n  hosts: [%s.%s.svc.cluster.local]%s\n  http: [{route: [{destination: {host: %s.%s.svc.cluster.local}}]}]", i, pick(nsOf(), w.ns), w.name, w.ns, exp, to.name, to.ns)
	}
	for i := 0; i < rng.IntN(5); i++ {
		w, from := wlOf(), wlOf()
		var src string
		switch rng.IntN(6) {
		case 0:
			src = fmt.Sprintf("principals: [\"cluster.local/ns/%s/sa/%s\"]", from.ns, from.sa)
		case 1:
			src = fmt.Sprintf("namespaces: [%q]", from.ns)
		case 2:
			src = fmt.Sprintf("notPrincipals: [\"cluster.local/ns/%s/sa/%s\"]", from.ns, from.sa)
		case 3:
			src = fmt.Sprintf("serviceAccounts: [\"%s/%s\"]", from.ns, from.sa)
		case 4:
			src = fmt.Sprintf("principals: [\"cluster.local/ns/%s/*\"]", from.ns)
		default:
			src = "principals: [\"*\"]"
		}
		action := pick("ALLOW", "ALLOW", "DENY")
		doc("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ap%d, namespace: %s}\nspec:\n  selector: {matchLabels: {app: %s}}\n  action: %s\n  rules: [{from: [{source: {%s}}]}]", i, w.ns, w.name, action, src)
	}
	return b.String()
}

func TestClientsSet(t *testing.T) {
	a, b, c := &mesh.Workload{Namespace: "a", Name: "x"}, &mesh.Workload{Namespace: "b", Name: "y"}, &mesh.Workload{Namespace: "c", Name: "z"}
	s := &Clients{list: []*client{{w: a, ns: "a"}, {w: b, ns: "b"}, {w: c, ns: "c"}}, skipNS: map[string]bool{"a": true}, skip: map[*mesh.Workload]bool{c: true}, n: 1}
	if s.First() != b || s.Len() != 1 || len(s.Workloads()) != 1 {
		t.Errorf("first %v len %d %v", s.First(), s.Len(), s.Workloads())
	}
	ns := s.Namespaces()
	keys := make([]string, 0, len(ns))
	for k := range ns {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "b" {
		t.Errorf("namespaces %v", ns)
	}
}

// The result does not depend on the number of workers.
func TestWorkersDeterministic(t *testing.T) {
	x := generated(t, 5, 60)
	render := func(workers int) string {
		var b strings.Builder
		res := All(resolve.New(x), Options{Workers: workers})
		for _, g := range res.Groups {
			fmt.Fprintf(&b, "%s %s %d %s\n", g.URL, g.Clients.First().Key(), g.Clients.Len(), verdictOf(g.Trace))
		}
		fmt.Fprintf(&b, "%d %d %d", res.Pairs, res.Evaluations, res.Classes)
		return b.String()
	}
	one, three := render(1), render(3)
	if one != three {
		t.Errorf("1 worker and 3 workers differ")
	}
}

// Keep leaves out the groups it refuses, and only them: the kept groups are
// those of the whole result it accepts, in the same order, and Pairs and
// Evaluations still count every group.
func TestKeep(t *testing.T) {
	x := generated(t, 5, 60)
	render := func(gs []*Group) string {
		var b strings.Builder
		for _, g := range gs {
			fmt.Fprintf(&b, "%s %s %d %s\n", g.URL, g.Clients.First().Key(), g.Clients.Len(), verdictOf(g.Trace))
		}
		return b.String()
	}
	failing := func(g *Group) bool { return g.Trace.Result != "ok" }
	all := All(resolve.New(x), Options{Workers: 2})
	var want []*Group
	for _, g := range all.Groups {
		if failing(g) {
			want = append(want, g)
		}
	}
	kept := All(resolve.New(x), Options{Workers: 2, Keep: failing})
	if len(want) == 0 || len(want) == len(all.Groups) {
		t.Fatalf("the mesh should have failing and working groups: %d of %d", len(want), len(all.Groups))
	}
	if render(kept.Groups) != render(want) {
		t.Errorf("kept groups differ from the failing groups of the whole result")
	}
	if kept.Pairs != all.Pairs || kept.Evaluations != all.Evaluations || kept.Classes != all.Classes {
		t.Errorf("counts: %d %d %d, want %d %d %d", kept.Pairs, kept.Evaluations, kept.Classes, all.Pairs, all.Evaluations, all.Classes)
	}
}

// Fingerprint is the sum of the members' hashes, however the set is made.
func TestFingerprint(t *testing.T) {
	x := generated(t, 5, 60)
	res := All(resolve.New(x), Options{})
	pooled := 0
	for _, g := range res.Groups {
		var want uint64
		g.Clients.Each(func(w *mesh.Workload) bool { want += fingerprint(w); return true })
		if got := g.Clients.Fingerprint(); got != want {
			t.Fatalf("%s: fingerprint %x, members sum to %x", g.URL, got, want)
		}
		if g.Clients.sums != nil {
			pooled++
		}
	}
	if pooled == 0 {
		t.Error("no group over a shared class list: the fast path is untested")
	}
}

// SmallestKeys names the clients with the smallest keys, which is not the
// list's (namespace, name) order: "a-b/y" sorts before "a/x". Over a shared
// list it must skip the namespaces and members the set leaves out.
func TestSmallestKeys(t *testing.T) {
	var list []*client
	for _, k := range [][2]string{{"a", "x"}, {"a", "z"}, {"a-b", "y"}, {"a-b", "w"}, {"c", "v"}} {
		list = append(list, &client{w: &mesh.Workload{Namespace: k[0], Name: k[1]}, ns: k[0]})
	}
	shared := newMemberSums(list)
	for _, c := range []struct {
		s    *Clients
		want string
	}{
		{&Clients{list: list, n: 5}, "a-b/w,a-b/y,a/x"},
		{&Clients{list: list, n: 5, sums: shared}, "a-b/w,a-b/y,a/x"},
		{&Clients{list: list, n: 3, sums: shared, skipNS: map[string]bool{"a-b": true}}, "a/x,a/z,c/v"},
		{&Clients{list: list, n: 4, sums: shared, skip: map[*mesh.Workload]bool{list[3].w: true}}, "a-b/y,a/x,a/z"},
	} {
		if got := strings.Join(c.s.SmallestKeys(3), ","); got != c.want {
			t.Errorf("SmallestKeys(3) = %s, want %s", got, c.want)
		}
	}
	if got := (&Clients{list: list, n: 5}).SmallestKeys(0); got != nil {
		t.Errorf("SmallestKeys(0) = %v", got)
	}
	// Every group of a generated mesh: the same as sorting all its keys.
	x := generated(t, 5, 60)
	for _, g := range All(resolve.New(x), Options{}).Groups {
		var keys []string
		g.Clients.Each(func(w *mesh.Workload) bool { keys = append(keys, w.Key()); return true })
		sort.Strings(keys)
		want := strings.Join(keys[:min(5, len(keys))], ",")
		if got := strings.Join(g.Clients.SmallestKeys(5), ","); got != want {
			t.Fatalf("%s: SmallestKeys(5) = %s, want %s", g.URL, got, want)
		}
	}
}

// A Deployment and a StatefulSet may share a namespace and name: a path from
// either is what `meshdoctor trace NS/NAME` says (trace finds the workload by
// that key), so that paths and trace cannot disagree.
func TestPathsAgreeWithTraceOnSharedKey(t *testing.T) {
	x := loadIndex(t, "", "testdata/shared-key.yaml")
	n := 0
	for _, g := range All(resolve.New(x), Options{}).Groups {
		if g.Gateway {
			continue
		}
		first := g.Clients.First()
		tr, err := trace.Run(resolve.New(x), first.Key(), g.URL, trace.Options{NoFixes: true, AnyRequest: true})
		if err != nil {
			t.Fatal(err)
		}
		if verdictOf(g.Trace) != verdictOf(tr) {
			t.Errorf("%s %s -> %s: paths %s, trace %s", first.Kind, first.Key(), g.URL, verdictOf(g.Trace), verdictOf(tr))
		}
		n++
	}
	if n == 0 {
		t.Fatal("no paths")
	}
}
