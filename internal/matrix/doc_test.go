package matrix

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocsListEveryField fails when docs/matrix.md's tables and the JSON
// fields of the model differ: each "### Type" table lists exactly the JSON
// fields of that type (an embedded struct's fields belong to it too).
func TestDocsListEveryField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/matrix.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string][]string{}
	section := ""
	field := regexp.MustCompile("`([a-z_]+)`")
	for _, l := range strings.Split(string(doc), "\n") {
		if name, ok := strings.CutPrefix(l, "### "); ok {
			section = name
			continue
		}
		if section == "" || !strings.HasPrefix(l, "| `") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(l, "| "), " |")
		for _, m := range field.FindAllStringSubmatch(first, -1) {
			documented[section] = append(documented[section], m[1])
		}
	}
	for _, v := range []any{Matrix{}, Summary{}, Counts{}, Client{}, Target{}, Cell{}, Path{}} {
		typ := reflect.TypeOf(v)
		want := jsonFields(typ)
		got := slices.Clone(documented[typ.Name()])
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("docs/matrix.md ### %s lists %v, the JSON has %v", typ.Name(), got, want)
		}
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "-" && name != "" {
			out = append(out, name)
		}
	}
	return out
}
