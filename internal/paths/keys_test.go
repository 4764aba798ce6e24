package paths

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// TestKeepSmallest: the few callers named in a message are the smallest keys
// of the set, in order, whatever the set's size and iteration order (MD0107
// feeds it from a map).
func TestKeepSmallest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 4, 5, 6, 50, 1000} {
		set := map[*mesh.Workload]bool{}
		var keys []string
		for i := 0; i < n; i++ {
			w := &mesh.Workload{Namespace: fmt.Sprintf("ns-%03d", r.IntN(40)), Name: fmt.Sprintf("w-%d", i)}
			set[w] = true
			keys = append(keys, w.Key())
		}
		sort.Strings(keys)
		want := keys[:min(5, len(keys))]
		var got []string
		for w := range set {
			got = KeepSmallest(got, w.Key(), 5)
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("n=%d: KeepSmallest = %v, want %v", n, got, want)
		}
	}
}
