package load

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Test data carries its expectations in comments on the lines they concern:
//
//	mode: STRICT      # at: spec.mtls.mode      (this field of this document is on this line)
//	mode: STRICTT     # want "unknown value"    (an error on this line matches the regexp)
//	portLevelMTLS:    # warn "unknown field"    (a warning on this line matches)
//	name: blog        # loaded                  (an object whose metadata.name is on this line)
//	kind: Certificate # skipped                 (a skipped document)
//
// An error, warning or object that no comment expects fails the test, and so
// does a comment that nothing meets.

type expectation struct {
	file string
	line int
	verb string // at, want, warn, loaded, skipped
	args []string
	met  bool
}

var expectRE = regexp.MustCompile(`# (at|want|warn|loaded|skipped)\b:?\s*(.*)$`)

func readExpectations(t *testing.T, file string) []*expectation {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*expectation
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		m := expectRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		e := &expectation{file: file, line: line, verb: m[1]}
		switch e.verb {
		case "at":
			for _, p := range strings.Split(m[2], ",") {
				e.args = append(e.args, strings.TrimSpace(p))
			}
		case "want", "warn":
			re, err := strconv.Unquote(strings.TrimSpace(m[2]))
			if err != nil {
				t.Fatalf("%s:%d: bad expectation %s: %v", file, line, m[2], err)
			}
			e.args = []string{re}
		}
		out = append(out, e)
	}
	return out
}

// checkExpectations checks r against the comments of files (paths as r names them).
func checkExpectations(t *testing.T, r *Result, files ...string) {
	t.Helper()
	var exps []*expectation
	for _, f := range files {
		exps = append(exps, readExpectations(t, f)...)
	}
	byVerb := func(verb string) []*expectation {
		var out []*expectation
		for _, e := range exps {
			if e.verb == verb {
				out = append(out, e)
			}
		}
		return out
	}
	match := func(kind string, errs []Error, verb string) {
		for _, got := range errs {
			found := false
			for _, e := range byVerb(verb) {
				if e.file == got.File && e.line == got.Line && regexp.MustCompile(e.args[0]).MatchString(got.Error()) {
					e.met, found = true, true
					break
				}
			}
			if !found {
				t.Errorf("unexpected %s: %s", kind, got.Error())
			}
		}
		for _, e := range byVerb(verb) {
			if !e.met {
				t.Errorf("%s:%d: no %s matching %q", e.file, e.line, kind, e.args[0])
			}
		}
	}
	match("error", r.Errors, "want")
	match("warning", r.Warnings, "warn")

	// Objects of each file, in line order, to find the document a line is in.
	objs := map[string][]*objects.Object{}
	for _, o := range r.Objects {
		objs[o.Pos.File] = append(objs[o.Pos.File], o)
	}
	for _, list := range objs {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Pos.Line < list[j].Pos.Line })
	}
	for _, e := range byVerb("at") {
		var in *objects.Object
		for _, o := range objs[e.file] {
			if o.Pos.Line <= e.line {
				in = o
			}
		}
		if in == nil {
			t.Errorf("%s:%d: no object before this line", e.file, e.line)
			continue
		}
		for _, p := range e.args {
			switch got, ok := in.Fields.Lookup(p); {
			case !ok:
				t.Errorf("%s:%d: %s has no line for %s (Line gives %d)", e.file, e.line, in.Key(), p, in.Line(p))
			case got != e.line:
				t.Errorf("%s:%d: %s: %s is at line %d", e.file, e.line, in.Key(), p, got)
			}
		}
	}

	loaded := byVerb("loaded")
	if len(loaded) > 0 || len(byVerb("want")) > 0 || len(byVerb("skipped")) > 0 {
		for _, e := range loaded {
			for _, o := range objs[e.file] {
				if l, _ := o.Fields.Lookup("metadata.name"); l == e.line {
					e.met = true
				}
			}
			if !e.met {
				t.Errorf("%s:%d: no object whose name is on this line", e.file, e.line)
			}
		}
		if len(r.Objects) != len(loaded) {
			var got []string
			for _, o := range r.Objects {
				got = append(got, o.Ref("").String())
			}
			t.Errorf("loaded %d objects, want %d: %v", len(r.Objects), len(loaded), got)
		}
		if got, want := r.SkippedTotal(), len(byVerb("skipped")); got != want {
			t.Errorf("skipped %d documents (%v), want %d", got, r.Skipped, want)
		}
	}
}

func testdataFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test data in %s: %v", dir, err)
	}
	return files
}
