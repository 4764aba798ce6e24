package load

import (
	"bytes"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// lineCount is the number of lines of data as editors count them (at LF; a
// last line without LF counts).
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return max(n, 1)
}

// checkLines fails when an error, a warning or an object of file points
// outside it. allowUnknown accepts line 0 (unknown) for errors.
func checkLines(t *testing.T, r *Result, file string, data []byte, allowUnknown bool) {
	t.Helper()
	lines := lineCount(normalizeEncoding(data))
	for _, list := range [][]Error{r.Errors, r.Warnings} {
		for _, e := range list {
			if e.File != file {
				continue
			}
			if (e.Line < 1 && !(allowUnknown && e.Line == 0)) || e.Line > lines {
				t.Fatalf("%s: line outside the file's %d lines", e.Error(), lines)
			}
			if strings.Contains(e.Msg, "the parser failed") || strings.Contains(e.Msg, "kustomize failed on this input") {
				t.Fatalf("a library panicked: %s", e.Error())
			}
		}
	}
	for _, o := range r.Objects {
		if o.Pos.File != file {
			continue
		}
		if o.Pos.Line < 1 || o.Pos.Line > lines {
			t.Fatalf("%s at line %d of %d", o.Key(), o.Pos.Line, lines)
		}
		for p, l := range o.Fields.All() {
			if l < 1 || l > lines {
				t.Fatalf("%s: %s at line %d of %d", o.Key(), p, l, lines)
			}
		}
	}
}

// FuzzDecode: arbitrary bytes never panic, every position is a line of the
// input, and Istio specs read the fast way (decodeSpec) equal jsonpb's. The seed corpus (testdata/fuzz/FuzzDecode) has a case of each
// kind of bad input: syntax errors, no kind, wrong types, unknown enum values,
// tabs, duplicate keys, billion laughs, BOM, CRLF, lone CR, UTF-16, merge keys...
func FuzzDecode(f *testing.F) {
	f.Add([]byte(nil))
	f.Add([]byte("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p}\nspec:\n  mtls: {mode: STRICT}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, slow := decodeBothWays("fuzz.yaml", data)
		checkLines(t, &r, "fuzz.yaml", data, false)
		if r.Files != 1 {
			t.Fatalf("files %d", r.Files)
		}
		if d := sameResult(&r, &slow); d != "" {
			t.Fatalf("reading specs from YAML values differs from jsonpb: %s", d)
		}
	})
}

const fuzzKustomization = `namePrefix: fz-
namespace: fuzz
labels:
- pairs: {fuzzed: "true"}
resources:
- resource.yaml
configMapGenerator:
- name: settings
  literals: [MODE=STRICT]
`

// FuzzKustomize renders an in-memory kustomization whose one resource file is
// the fuzz input: never a panic (kustomize's included), and positions are
// lines of the resource file.
func FuzzKustomize(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  selector: {app: s}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := filesys.MakeFsInMemory()
		if err := fs.WriteFile("/app/kustomization.yaml", []byte(fuzzKustomization)); err != nil {
			t.Fatal(err)
		}
		if err := fs.WriteFile("/app/resource.yaml", data); err != nil {
			t.Fatal(err)
		}
		var r Result
		kustomizeFS(fs, "/app", &r)
		checkLines(t, &r, "/app/resource.yaml", data, true)
		for _, o := range r.Objects {
			if o.Pos.File != "/app/resource.yaml" && o.Pos.File != "/app/kustomization.yaml" {
				t.Fatalf("%s from %s", o.Key(), o.Pos)
			}
		}
	})
}
