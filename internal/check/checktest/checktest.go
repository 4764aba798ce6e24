// Package checktest runs a check over test data that carries its
// expectations inline, like golang.org/x/tools/go/analysis/analysistest: a
// `# want "regexp"` comment on the YAML line a finding must point at. A
// finding without a want, or a want without a finding, fails the test. The
// verified fixes are compared with the folder's fixes.golden (updated with
// -update).
package checktest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

var update = flag.Bool("update", false, "rewrite fixes.golden files")

var wantRE = regexp.MustCompile(`#.*?\bwant\s+((?:"(?:[^"\\]|\\.)*"\s*)+)`)
var strRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

type want struct {
	file string
	line int
	re   *regexp.Regexp
	met  bool
}

// Run loads every YAML file under dir (recursively), runs the checks (those
// of one package) with fix verification, and compares the findings with the wants.
func Run(t *testing.T, dir string, checks ...*check.Check) *check.Result {
	t.Helper()
	codes := map[string]bool{}
	for _, c := range checks {
		codes[c.Code] = true
	}
	if err := check.Validate(checks); err != nil {
		t.Fatal(err)
	}
	res := load.Load(load.Options{Files: []string{dir}})
	for _, e := range res.Errors {
		t.Fatalf("test data: %s", e.Error())
	}
	wants, err := readWants(dir)
	if err != nil {
		t.Fatal(err)
	}
	x := mesh.Build(res.Objects, mesh.Options{})
	r := check.Run(x, checks, check.Options{Fixes: true})
	for _, f := range r.Findings {
		if !codes[f.Code] {
			t.Errorf("%s: unexpected %s finding: %s", f.Object.Pos(), f.Code, f.Message)
			continue
		}
		ok := false
		for _, w := range wants {
			if w.file == f.Object.File && w.line == f.Object.Line && w.re.MatchString(f.Message) {
				w.met, ok = true, true
			}
		}
		if !ok {
			t.Errorf("%s: unexpected finding: %s", f.Object.Pos(), f.Message)
		}
	}
	for _, w := range wants {
		if !w.met {
			t.Errorf("%s:%d: no finding matched want %q", w.file, w.line, w.re)
		}
	}
	compareFixes(t, dir, r)
	return r
}

func readWants(dir string) ([]*want, error) {
	var out []*want
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, l := range strings.Split(string(b), "\n") {
			m := wantRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			for _, q := range strRE.FindAllString(m[1], -1) {
				s, err := strconv.Unquote(q)
				if err != nil {
					return fmt.Errorf("%s:%d: bad want %s: %v", p, i+1, q, err)
				}
				re, err := regexp.Compile(s)
				if err != nil {
					return fmt.Errorf("%s:%d: bad want regexp: %v", p, i+1, err)
				}
				out = append(out, &want{file: p, line: i + 1, re: re})
			}
		}
		return nil
	})
	return out, err
}

// compareFixes renders every verified fix and compares with dir/fixes.golden.
func compareFixes(t *testing.T, dir string, r *check.Result) {
	t.Helper()
	var b strings.Builder
	fs := append([]check.Finding(nil), r.Findings...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Object.String() < fs[j].Object.String() })
	for _, f := range fs {
		for _, fx := range f.Fixes {
			fmt.Fprintf(&b, "== %s %s\n-- %s\n%s", f.Code, f.Object.Pos(), fx.Summary, fx.Patch)
		}
	}
	golden := filepath.Join(dir, "fixes.golden")
	if *update {
		if b.Len() == 0 {
			os.Remove(golden)
			return
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if os.IsNotExist(err) {
		want, err = nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("fixes differ from %s (go test -update to accept):\n--- got\n%s\n--- want\n%s", golden, b.String(), want)
	}
}
