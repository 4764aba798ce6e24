package matrix

import (
	"encoding/json"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// generated indexes the generated mesh of n services.
func generated(tb testing.TB, n int) *mesh.Index {
	tb.Helper()
	x, err := genmesh.Index(gen.Config{Seed: 1, Services: n})
	if err != nil {
		tb.Fatal(err)
	}
	return x
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
