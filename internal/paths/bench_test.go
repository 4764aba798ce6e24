package paths

import (
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

// BenchmarkAll10k resolves every (client, service port) pair and every
// gateway route of the 10,000-service generated mesh (gen Seed 1), with a new
// engine each iteration so that its lazy indexes are paid for. It reports the
// pairs, the traces actually run, and the pairs resolved per second.
//
//	go test ./internal/paths -run '^$' -bench All10k -benchtime 3x -benchmem
func BenchmarkAll10k(b *testing.B) {
	x := index10k(b)
	b.ReportAllocs()
	b.ResetTimer()
	var res *Result
	for i := 0; i < b.N; i++ {
		res = All(resolve.New(x), Options{})
	}
	b.StopTimer()
	b.ReportMetric(float64(res.Pairs), "pairs")
	b.ReportMetric(float64(res.Evaluations), "traces")
	b.ReportMetric(float64(len(res.Groups)), "groups")
	b.ReportMetric(float64(res.Pairs)*float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}
