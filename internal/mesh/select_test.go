package mesh_test

import (
	"slices"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// Select through the label index gives what scanning the namespace gives,
// in the namespace's workload order, for the selectors of every Service and a
// few that select nothing (an unknown label, another namespace's label).
func TestSelectAgreesWithScan(t *testing.T) {
	x, err := genmesh.Index(gen.Config{Seed: 5, Services: 200})
	if err != nil {
		t.Fatal(err)
	}
	type sel struct {
		ns  string
		sel map[string]string
	}
	var sels []sel
	for _, s := range x.Services {
		sels = append(sels, sel{s.Namespace, s.Selector}, sel{"other-" + s.Namespace, s.Selector})
		if len(s.Selector) > 0 {
			more := map[string]string{"unknown": "label"}
			for k, v := range s.Selector {
				more[k] = v
			}
			sels = append(sels, sel{s.Namespace, more})
		}
	}
	for _, w := range x.Workloads {
		for k, v := range w.Labels {
			sels = append(sels, sel{w.Namespace, map[string]string{k: v}})
		}
	}
	selected := 0
	for _, c := range sels {
		var want []*mesh.Workload
		if len(c.sel) > 0 {
			for _, w := range x.WorkloadsIn(c.ns) {
				if mesh.SubsetOf(c.sel, w.Labels) {
					want = append(want, w)
				}
			}
		}
		got := x.Select(c.ns, c.sel)
		if !slices.Equal(got, want) {
			t.Fatalf("Select(%s, %v) = %d workloads, the scan finds %d", c.ns, c.sel, len(got), len(want))
		}
		selected += len(got)
	}
	if selected == 0 {
		t.Fatal("nothing selected")
	}
}

// ServicesOf lists, in Service order, exactly the Services whose selector
// selects the workload.
func TestServicesOf(t *testing.T) {
	x, err := genmesh.Index(gen.Config{Seed: 5, Services: 200})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, w := range x.Workloads {
		var want []*mesh.Service
		for _, svc := range x.Services {
			if slices.Contains(x.Select(svc.Namespace, svc.Selector), w) {
				want = append(want, svc)
			}
		}
		if got := x.ServicesOf(w); !slices.Equal(got, want) {
			t.Fatalf("ServicesOf(%s) = %d Services, want %d", w.Key(), len(got), len(want))
		}
		found += len(want)
	}
	if found == 0 {
		t.Fatal("no workload is selected")
	}
}
