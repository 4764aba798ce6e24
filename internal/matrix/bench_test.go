package matrix

import (
	"encoding/json"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// generated indexes the generated mesh of n services.
func generated(tb testing.TB, n int) *mesh.Index {
	tb.Helper()
	res := &load.Result{}
	for _, f := range gen.Generate(gen.Config{Seed: 1, Services: n}) {
		load.Decode(f.Name, f.Data, res)
	}
	if len(res.Errors) > 0 {
		tb.Fatalf("generated mesh does not load: %v", res.Errors[0])
	}
	return mesh.Build(res.Objects, mesh.Options{})
}

// BenchmarkJSON1000 is `meshdoctor matrix -o json` on the 1,000-service
// generated mesh: every path evaluated, aggregated by namespace, encoded.
func BenchmarkJSON1000(b *testing.B) {
	x := generated(b, 1000)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		m, err := Build(resolve.New(x), Options{})
		if err != nil {
			b.Fatal(err)
		}
		out, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "bytes-out")
}
