package check_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Relate keeps the first occurrence of each reference, in order, and drops
// empty ones, whether it is given a few references or thousands.
func TestRelate(t *testing.T) {
	for _, n := range []int{3, 40, 2000} {
		var refs, want []objects.Ref
		for i := 0; i < n; i++ {
			r := objects.Ref{Kind: "Service", Namespace: "ns", Name: fmt.Sprintf("s%d", i)}
			refs = append(refs, r, objects.Ref{}, r)
			want = append(want, r)
		}
		var one, many check.Finding
		for _, r := range refs {
			one.Relate(r)
		}
		many.Relate(refs[:len(refs)/2]...)
		many.Relate(refs...)
		if !slices.Equal(one.Related, want) || !slices.Equal(many.Related, want) {
			t.Errorf("n=%d: one by one %d refs, in two calls %d refs, want %d", n, len(one.Related), len(many.Related), len(want))
		}
	}
}
