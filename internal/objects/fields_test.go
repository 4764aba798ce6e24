package objects

import (
	"fmt"
	"sync"
	"testing"
)

func TestFieldsBuilder(t *testing.T) {
	var b FieldsBuilder
	b.Set("spec", 7)
	b.SetBytes([]byte("spec.mtls"), 8)
	b.Set(`metadata.labels["app.kubernetes.io/name"]`, 5)
	b.Set("spec", 9) // set twice: the last line wins, as in a map
	if l, ok := b.Lookup("spec"); !ok || l != 9 {
		t.Errorf("builder Lookup(spec) = %d, %v", l, ok)
	}
	f := b.Fields()
	if b.Len() != 0 {
		t.Errorf("the builder keeps %d entries after Fields", b.Len())
	}
	want := map[string]int{"spec": 9, "spec.mtls": 8, `metadata.labels["app.kubernetes.io/name"]`: 5}
	if f.Len() != len(want) || f.String() != fmt.Sprint(want) {
		t.Errorf("fields %s, want %v", f, want)
	}
	for p, l := range want {
		if got, ok := f.Lookup(p); !ok || got != l {
			t.Errorf("Lookup(%q) = %d, %v; want %d", p, got, ok, l)
		}
	}
	for _, p := range []string{"", "spe", "spec.mtls.mode", "never.seen.anywhere"} {
		if l, ok := f.Lookup(p); ok {
			t.Errorf("Lookup(%q) = %d, want none", p, l)
		}
	}
	if l, ok := f.Nearest("spec.mtls.mode"); !ok || l != 8 {
		t.Errorf("Nearest = %d, %v; want 8 (spec.mtls)", l, ok)
	}
	var order []string
	for p := range f.All() {
		order = append(order, p)
	}
	if fmt.Sprint(order) != fmt.Sprint(SortedKeys(want)) {
		t.Errorf("All yields %v, want path order", order)
	}
	if (Fields{}).Len() != 0 || FieldsOf(nil).Len() != 0 {
		t.Errorf("empty fields are not empty")
	}
}

// TestFieldsConcurrent: objects are built and read from many goroutines (the
// loader decodes in parallel); every one sees its own lines. Run with -race.
func TestFieldsConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				var b FieldsBuilder
				p := fmt.Sprintf("spec.g%d.f%d", g, i%50)
				b.Set(p, i+1)
				b.Set("spec", g+1)
				f := b.Fields()
				if l, _ := f.Lookup(p); l != i+1 {
					errs <- fmt.Sprintf("%s at %d, want %d", p, l, i+1)
					return
				}
				if l, _ := f.Lookup("spec"); l != g+1 {
					errs <- fmt.Sprintf("spec at %d, want %d", l, g+1)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
