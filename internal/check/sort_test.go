package check_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Sort orders by file, line, code, the object as written, then message, and
// keeps the input order of equal findings.
func TestSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var fs []check.Finding
	for i := 0; i < 500; i++ {
		fs = append(fs, check.Finding{
			Code:    fmt.Sprintf("MD010%d", r.IntN(3)),
			Message: fmt.Sprintf("m%d", r.IntN(4)),
			Object: objects.Ref{Kind: []string{"Service", "DestinationRule"}[r.IntN(2)], Namespace: fmt.Sprintf("ns%d", r.IntN(3)),
				Name: fmt.Sprintf("n%d", r.IntN(3)), File: fmt.Sprintf("f%d.yaml", r.IntN(3)), Line: r.IntN(4)},
			Assumptions: []string{fmt.Sprint(i)}, // tells equal findings apart
		})
	}
	want := append([]check.Finding(nil), fs...)
	sort.SliceStable(want, func(i, j int) bool {
		a, b := want[i], want[j]
		if a.Object.File != b.Object.File {
			return a.Object.File < b.Object.File
		}
		if a.Object.Line != b.Object.Line {
			return a.Object.Line < b.Object.Line
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if a.Object.String() != b.Object.String() {
			return a.Object.String() < b.Object.String()
		}
		return a.Message < b.Message
	})
	check.Sort(fs)
	if !reflect.DeepEqual(fs, want) {
		t.Error("Sort differs from the stable sort by file, line, code, object and message")
	}
}
