package bench_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/bench"
	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks"
	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

func TestRunDefaultPhases(t *testing.T) {
	s := &bench.State{Config: gen.Config{Seed: 1, Services: 100}}
	rep, err := bench.Run(s, bench.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Phases) != 3 || s.Index == nil || len(s.Index.Services) != 101 {
		t.Fatalf("phases %d, index %v", len(rep.Phases), s.Index != nil)
	}
	if rep.Total.Phase != "total (decode+index)" || rep.Total.Wall != rep.Phases[1].Wall+rep.Phases[2].Wall {
		t.Errorf("total %+v", rep.Total)
	}
	if rep.Phases[1].Rate("objects") <= 0 || rep.Total.Rate("docs") <= 0 || rep.Phases[1].Allocs == 0 {
		t.Errorf("decode %+v", rep.Phases[1])
	}
	var text, js bytes.Buffer
	if err := bench.WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"generate (setup)", "decode", "index", "total (decode+index)", "objects/s", "peak RSS"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := bench.WriteJSON(&js, rep); err != nil || !json.Valid(js.Bytes()) {
		t.Errorf("json report: %v\n%s", err, js.String())
	}
}

// TestExtraPhase is how a later phase (check, trace) plugs in.
func TestExtraPhase(t *testing.T) {
	ran := false
	extra := bench.Phase{Name: "count", Run: func(s *bench.State) ([]bench.Quantity, error) {
		ran = s.Index != nil
		return []bench.Quantity{{N: len(s.Index.Workloads), Unit: "workloads"}}, nil
	}}
	s := &bench.State{Config: gen.Config{Seed: 1, Services: 20}}
	rep, err := bench.Run(s, append(bench.Default(), extra))
	if err != nil || !ran {
		t.Fatalf("err %v, ran %v", err, ran)
	}
	if rep.Total.Phase != "total (decode+index+count)" {
		t.Errorf("total %q", rep.Total.Phase)
	}

	failing := bench.Phase{Name: "broken", Run: func(*bench.State) ([]bench.Quantity, error) { return nil, errors.New("boom") }}
	if _, err := bench.Run(&bench.State{}, []bench.Phase{failing}); err == nil || err.Error() != "broken: boom" {
		t.Errorf("err = %v", err)
	}
}

func TestPeakRSS(t *testing.T) {
	if bench.PeakRSS() == 0 {
		t.Skip("no /proc/self/status")
	}
}

var (
	mesh10kOnce sync.Once
	mesh10k     []gen.File
)

// files10k generates the 10,000-service mesh once per test binary.
func files10k() []gen.File {
	mesh10kOnce.Do(func() { mesh10k = gen.Generate(gen.Config{Seed: 1, Services: 10000}) })
	return mesh10k
}

// BenchmarkLoad10k measures what every command pays before it can answer:
// decoding the documents of a 10,000-service mesh (load.Decode per file, from
// memory) and building the mesh index.
func BenchmarkLoad10k(b *testing.B) {
	benchLoad(b, files10k())
}

// BenchmarkLoad1k is the same on 1,000 services: quick enough to run often.
func BenchmarkLoad1k(b *testing.B) {
	benchLoad(b, gen.Generate(gen.Config{Seed: 1, Services: 1000}))
}

func benchLoad(b *testing.B, files []gen.File) {
	docs := gen.Documents(files)
	objs := 0
	b.ReportAllocs()
	for b.Loop() {
		r := genmesh.Decode(files)
		if len(r.Errors) > 0 {
			b.Fatal(r.Errors[0].Error())
		}
		mesh.Build(r.Objects, mesh.Options{})
		objs = len(r.Objects)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(docs)*float64(b.N)/secs, "docs/s")
	b.ReportMetric(float64(objs)*float64(b.N)/secs, "objects/s")
}

// BenchmarkDecode10k and BenchmarkIndex10k split BenchmarkLoad10k, to profile
// one side at a time.
func BenchmarkDecode10k(b *testing.B) {
	files := files10k()
	b.ReportAllocs()
	var r *load.Result
	for b.Loop() {
		r = genmesh.Decode(files)
	}
	b.ReportMetric(float64(r.Documents)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

func BenchmarkIndex10k(b *testing.B) {
	r := genmesh.Decode(files10k())
	b.ReportAllocs()
	for b.Loop() {
		// Build only fills in namespaces of objects that name none; the
		// generated objects all do, so they can be indexed again.
		mesh.Build(r.Objects, mesh.Options{})
	}
	b.ReportMetric(float64(len(r.Objects))*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// TestCheckPhase: the check phase runs every check over the generated mesh
// and the report states the ratio to the decode-only time.
func TestCheckPhase(t *testing.T) {
	s := &bench.State{Config: gen.Config{Seed: 1, Services: 50}}
	rep, err := bench.Run(s, bench.WithCheck())
	if err != nil {
		t.Fatal(err)
	}
	if s.Check == nil || rep.Phases[len(rep.Phases)-1].Phase != "check" {
		t.Fatalf("no check phase: %+v", rep.Phases)
	}
	for _, f := range s.Check.Findings {
		if f.Code == "MD0001" {
			t.Errorf("a check panicked on the generated mesh: %s", f.Message)
		}
	}
	ratio, ok := bench.CheckRatio(rep)
	if !ok || ratio <= 1 {
		t.Errorf("ratio %v %v: the check command includes decoding, so it must exceed 1", ratio, ok)
	}
	var text bytes.Buffer
	if err := bench.WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "decode-only time") {
		t.Errorf("no ratio line:\n%s", text.String())
	}
}

// BenchmarkCheck10k is the check phase alone (every check, fixes as the CLI
// verifies them) on the indexed 10,000-service mesh: the part of `check`
// that comes after decoding, to profile with -cpuprofile/-memprofile.
func BenchmarkCheck10k(b *testing.B) {
	x := mesh.Build(genmesh.Decode(files10k()).Objects, mesh.Options{})
	all := checks.All()
	b.ReportAllocs()
	var findings int
	for b.Loop() {
		findings = len(check.Run(x, all, bench.CheckOptions).Findings)
	}
	b.ReportMetric(float64(findings), "findings")
}
