package matrix

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

const titanium = "../../examples/titanium/k8s-manifests/overlays/gcp"

func titaniumIndex(t *testing.T) *mesh.Index {
	t.Helper()
	res := load.Load(load.Options{Kustomizations: []string{titanium}})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors[0])
	}
	return mesh.Build(res.Objects, mesh.Options{})
}

func build(t *testing.T, x *mesh.Index, opts Options) *Matrix {
	t.Helper()
	m, err := Build(resolve.New(x), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCellsAgreeWithTrace traces the request of every cell for its own
// client, one by one: the matrix and `meshdoctor trace` cannot disagree.
func TestCellsAgreeWithTrace(t *testing.T) {
	for name, x := range map[string]*mesh.Index{"titanium": titaniumIndex(t), "generated-60": generated(t, 60)} {
		m := build(t, x, Options{MaxPairs: -1})
		e := resolve.New(x)
		clients := map[string]Client{}
		for _, c := range m.Clients {
			clients[c.ID] = c
		}
		checked := 0
		for _, c := range m.Cells {
			worst := trace.ResultOK
			for _, id := range c.Paths {
				p := m.Paths[id]
				from := c.Client
				if cl := clients[c.Client]; cl.Kind == KindExternal {
					from = cl.Gateway
				}
				tr, err := trace.Run(e, from, p.URL, trace.Options{Method: p.Method, Headers: p.group.Headers, AnyRequest: true, NoFixes: true})
				if err != nil {
					t.Fatalf("%s: %s -> %s: %v", name, from, p.URL, err)
				}
				if tr.Result != p.Result || tr.Cause != p.Cause || tr.Security != p.Security {
					t.Errorf("%s: %s -> %s: trace says %s %s %s, the matrix %s %s %s", name, from, p.URL,
						tr.Result, tr.Cause, tr.Security, p.Result, p.Cause, p.Security)
				}
				if rank(p.Result) > rank(worst) {
					worst = p.Result
				}
				checked++
			}
			if c.Result != worst {
				t.Errorf("%s: cell %s -> %s is %s, its worst path %s", name, c.Client, c.Target, c.Result, worst)
			}
		}
		if checked < 40 {
			t.Errorf("%s: %d paths checked", name, checked)
		}
	}
}

// TestAggregatedCountsMatch: aggregating by namespace changes the shape, not
// the numbers.
func TestAggregatedCountsMatch(t *testing.T) {
	x := generated(t, 120)
	detail := build(t, x, Options{MaxPairs: -1})
	agg := build(t, x, Options{Aggregate: true})
	if detail.Aggregated || !agg.Aggregated {
		t.Fatal("Aggregate/MaxPairs not honoured")
	}
	if detail.Summary.Counts != agg.Summary.Counts || detail.Summary.Paths == 0 {
		t.Errorf("detail %+v, aggregated %+v", detail.Summary.Counts, agg.Summary.Counts)
	}
	for _, m := range []*Matrix{detail, agg} {
		var sum Counts
		for _, c := range m.Cells {
			sum.Paths += c.Counts.Paths
			sum.OK += c.Counts.OK
			sum.Fail += c.Counts.Fail
			sum.Denied += c.Counts.Denied
			sum.MTLS += c.Counts.MTLS
			sum.Plaintext += c.Counts.Plaintext
			sum.TLS += c.Counts.TLS
		}
		if sum != m.Summary.Counts {
			t.Errorf("aggregated=%v: cells add up to %+v, summary %+v", m.Aggregated, sum, m.Summary.Counts)
		}
	}
	for _, p := range agg.Paths {
		if p.Result == trace.ResultOK {
			t.Errorf("aggregated matrix keeps ok path %d", p.ID)
		}
		for _, h := range p.Trace.Hops {
			if h.Status != trace.HopFail {
				t.Errorf("aggregated path %d keeps a %s hop", p.ID, h.Status)
			}
		}
	}
	// The default bound aggregates a mesh of this size automatically.
	if auto := build(t, x, Options{MaxPairs: int(detail.Summary.Paths) - 1}); !auto.Aggregated {
		t.Errorf("%d pairs above MaxPairs did not aggregate", detail.Summary.Paths)
	}
}

func TestDeterministic(t *testing.T) {
	x := generated(t, 80)
	var out [][]byte
	for _, workers := range []int{1, 2, 3} {
		b, err := json.Marshal(build(t, x, Options{Workers: workers, MaxPairs: -1}))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if !bytes.Equal(out[0], out[1]) || !bytes.Equal(out[0], out[2]) {
		t.Errorf("the matrix depends on the number of workers")
	}
}

func TestFilters(t *testing.T) {
	x := titaniumIndex(t)
	cases := []struct {
		name string
		opts Options
		// every cell must satisfy keep; want cells at least.
		keep func(Cell) bool
		want int
	}{
		{"from external", Options{From: "external"}, func(c Cell) bool { return strings.HasPrefix(c.Client, "external via ") }, 4},
		{"from namespace", Options{From: "titanium-prod"}, func(c Cell) bool { return strings.HasPrefix(c.Client, "titanium-prod/") }, 36},
		{"from workload", Options{From: "titanium-prod/prod-postgres"}, func(c Cell) bool { return c.Client == "titanium-prod/prod-postgres" }, 6},
		{"to service", Options{To: "titanium-prod/prod-blog-service"}, func(c Cell) bool { return c.Target == "titanium-prod/prod-blog-service:8005" }, 7},
		{"to fqdn and port", Options{To: "prod-redis.titanium-prod.svc.cluster.local:6379"}, func(c Cell) bool { return c.Target == "titanium-prod/prod-redis:6379" }, 6},
		{"to short host", Options{To: "prod-redis.titanium-prod"}, func(c Cell) bool { return c.Target == "titanium-prod/prod-redis:6379" }, 6},
		{"to namespace", Options{To: "titanium-prod"}, func(c Cell) bool { return strings.HasPrefix(c.Target, "titanium-prod/") }, 40},
		{"namespace", Options{Namespace: "istio-system"}, func(Cell) bool { return false }, 0},
	}
	for _, c := range cases {
		m := build(t, x, c.opts)
		if len(m.Cells) < c.want || (c.want == 0 && len(m.Cells) != 0) {
			t.Errorf("%s: %d cells, want %d", c.name, len(m.Cells), c.want)
		}
		for _, cell := range m.Cells {
			if !c.keep(cell) {
				t.Errorf("%s: cell %s -> %s should be filtered out", c.name, cell.Client, cell.Target)
			}
		}
	}
}

func TestBadFilters(t *testing.T) {
	x := titaniumIndex(t)
	for _, c := range []struct{ opts Options }{
		{Options{From: "nowhere"}},
		{Options{From: "titanium-prod/nope"}},
		{Options{From: "a/b/c/d"}},
		{Options{To: "titanium-prod/nope"}},
		{Options{To: "titanium-prod/prod-blog-service:0"}},
		{Options{To: "titanium-prod/prod-blog-service:http"}},
		{Options{To: "titanium-prod/prod-blog-service:70000"}},
		{Options{To: "titanium-prod/prod-blog-service:8000"}},
		{Options{To: "nope.nowhere"}},
	} {
		m, err := Build(resolve.New(x), c.opts)
		if err == nil || m != nil {
			t.Errorf("%+v: no error", c.opts)
			continue
		}
		if !strings.HasPrefix(err.Error(), "--from") && !strings.HasPrefix(err.Error(), "--to") {
			t.Errorf("%+v: error %q does not name the flag", c.opts, err)
		}
	}
}

// TestFixes: fixes are searched for failing paths only, within the bound,
// and verified.
func TestFixes(t *testing.T) {
	x := titaniumIndex(t)
	m := build(t, x, Options{Fixes: 2, Hops: true})
	searched, failing := 0, 0
	for _, p := range m.Paths {
		if p.Result == trace.ResultOK {
			if len(p.Trace.Fixes) > 0 {
				t.Errorf("ok path %d has fixes", p.ID)
			}
			continue
		}
		failing++
		if len(p.Trace.Fixes) > 0 {
			searched++
			for _, f := range p.Trace.Fixes {
				if !f.Verified {
					t.Errorf("path %d: fix %q not verified", p.ID, f.Summary)
				}
			}
		}
	}
	if searched == 0 || searched > 2 {
		t.Errorf("%d paths with fixes, want 1 or 2", searched)
	}
	if m.FixesSkipped != failing-searched && m.FixesSkipped < failing-2 {
		t.Errorf("FixesSkipped %d, failing %d, with fixes %d", m.FixesSkipped, failing, searched)
	}
}

func TestText(t *testing.T) {
	m := build(t, titaniumIndex(t), Options{})
	var b bytes.Buffer
	if err := WriteText(&b, m); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"external via istio-system/istio-ingressgateway  -        M  M  X  .  .  M",
		"  prod-postgres                                 none     X  X  X  P  P  X",
		"PORT_NOT_LISTENING (3)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space: %q", l)
		}
	}
}
