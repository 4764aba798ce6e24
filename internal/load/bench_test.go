package load

import (
	"testing"
)

// BenchmarkDecode decodes a realistic multi-document stream: 100 services,
// each a Deployment, Service, DestinationRule, PeerAuthentication and
// AuthorizationPolicy (500 documents, about 300 KB).
func BenchmarkDecode(b *testing.B) {
	data := realisticStream(100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	docs := 0
	for b.Loop() {
		var r Result
		Decode("bench.yaml", data, &r)
		if len(r.Errors) > 0 || len(r.Objects) != 500 {
			b.Fatalf("errors %v, %d objects", r.Errors, len(r.Objects))
		}
		docs += r.Documents
	}
	b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "documents/s")
}
