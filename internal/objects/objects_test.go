package objects

import (
	"reflect"
	"testing"
)

func TestPathRoundTrip(t *testing.T) {
	cases := []struct {
		segs []any
		path string
	}{
		{[]any{"spec", "portLevelMtls", "8005", "mode"}, "spec.portLevelMtls.8005.mode"},
		{[]any{"spec", "rules", 0, "from", 1, "source"}, "spec.rules[0].from[1].source"},
		{[]any{"metadata", "labels", "sidecar.istio.io/inject"}, `metadata.labels["sidecar.istio.io/inject"]`},
		{[]any{"items", 2}, "items[2]"},
	}
	for _, c := range cases {
		if got := Path(c.segs...); got != c.path {
			t.Errorf("Path(%v) = %q, want %q", c.segs, got, c.path)
		}
		if got := Segments(c.path); !reflect.DeepEqual(got, c.segs) {
			t.Errorf("Segments(%q) = %#v, want %#v", c.path, got, c.segs)
		}
	}
}

func TestParent(t *testing.T) {
	cases := map[string]string{
		"spec.mtls.mode":     "spec.mtls",
		"spec.rules[0]":      "spec.rules",
		"spec.rules[0].from": "spec.rules[0]",
		`metadata.labels["sidecar.istio.io/inject"]`: "metadata.labels",
		"spec": "",
		"":     "",
	}
	for in, want := range cases {
		if got := Parent(in); got != want {
			t.Errorf("Parent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLineFallsBackToAncestor(t *testing.T) {
	o := &Object{Pos: Pos{File: "a.yaml", Line: 3}, Fields: FieldsOf(map[string]int{"spec": 7, "spec.mtls": 8})}
	if got := o.Line("spec.mtls.mode"); got != 8 {
		t.Errorf("Line = %d, want 8 (the nearest ancestor)", got)
	}
	if got := o.Line("metadata.name"); got != 3 {
		t.Errorf("Line = %d, want 3 (the document)", got)
	}
}
