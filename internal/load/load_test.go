package load

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(r *Result) []string {
	var out []string
	for _, o := range r.Objects {
		out = append(out, o.Kind+"/"+o.Name)
	}
	return out
}

// TestMixedDirectory: a directory with a broken document, an unknown CRD and
// valid objects, walked recursively: every valid object loads (with its
// position), one error, one skipped; other files and hidden directories are
// not read.
func TestMixedDirectory(t *testing.T) {
	r := Load(Options{Files: []string{"testdata/mixed"}})
	if len(r.Errors) != 1 || r.SkippedTotal() != 1 || r.Files != 4 || r.Documents != 7 {
		t.Errorf("errors %q, skipped %v, %d files, %d documents", errorStrings(r.Errors), r.Skipped, r.Files, r.Documents)
	}
	want := "Namespace/shop Deployment/cart Service/cart PeerAuthentication/strict DestinationRule/cart"
	if got := strings.Join(names(r), " "); got != want {
		t.Fatalf("objects %s, want %s (in lexical order of the paths)", got, want)
	}
	// JSON has no comments to carry expectations: check its object here and
	// the YAML files' against their comments.
	dr := r.Objects[len(r.Objects)-1]
	if dr.Pos.String() != "testdata/mixed/nested/deeper/rule.json:1" || dr.Line("spec.trafficPolicy.tls.mode") != 7 {
		t.Errorf("DestinationRule at %s, tls mode at line %d", dr.Pos, dr.Line("spec.trafficPolicy.tls.mode"))
	}
	yamlOnly := *r
	yamlOnly.Objects = r.Objects[:len(r.Objects)-1]
	checkExpectations(t, &yamlOnly, "testdata/mixed/app.yaml", "testdata/mixed/broken.yaml", "testdata/mixed/crd.yaml")
}

func TestFileListAndStdin(t *testing.T) {
	stdin := strings.NewReader(fmt.Sprintf(service, "from-stdin"))
	r := Load(Options{Files: []string{"testdata/positions/list.yaml", "-", "testdata/positions/istio.yaml", "-"}, Stdin: stdin})
	wantNoErrors(t, r)
	if len(r.Objects) != 11 || r.Files != 3 {
		t.Fatalf("%d objects from %d files: %v", len(r.Objects), r.Files, names(r))
	}
	in := r.Objects[2]
	if in.Name != "from-stdin" || in.Pos.String() != "<stdin>:1" || in.Line("spec.selector") != 6 {
		t.Errorf("stdin object %s at %s", in.Key(), in.Pos)
	}
	for i, o := range r.Objects {
		if o.Seq != i {
			t.Errorf("%s has Seq %d, want %d", o.Key(), o.Seq, i)
		}
	}
	r = Load(Options{Files: []string{"-"}})
	if len(r.Errors) != 1 || r.Errors[0].Error() != "<stdin>: no standard input" {
		t.Errorf("errors %q", errorStrings(r.Errors))
	}
}

func TestMissingPath(t *testing.T) {
	r := Load(Options{Files: []string{"testdata/no-such-dir/pa.yaml", "testdata/positions/list.yaml"}})
	if len(r.Errors) != 1 || r.Errors[0].Error() != "testdata/no-such-dir/pa.yaml: no such file or directory" {
		t.Errorf("errors %q", errorStrings(r.Errors))
	}
	if len(r.Objects) != 2 {
		t.Errorf("the other path still loads: %v", names(r))
	}
}

// TestExplicitFileAnyExtension: a file named on the command line is read
// whatever its extension; a directory walk reads .yaml, .yml and .json only.
func TestExplicitFileAnyExtension(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "manifest.txt"), fmt.Sprintf(service, "txt"))
	write(t, filepath.Join(dir, "a.YML"), fmt.Sprintf(service, "yml"))
	r := Load(Options{Files: []string{filepath.Join(dir, "manifest.txt")}})
	if len(r.Objects) != 1 {
		t.Errorf("explicit file: %v %q", names(r), errorStrings(r.Errors))
	}
	r = Load(Options{Files: []string{dir}})
	if got := names(r); len(got) != 1 || got[0] != "Service/yml" {
		t.Errorf("walk: %v", got)
	}
}

// TestSymlinks: a directory linked into itself is read once and the walk
// ends; a file reached twice (a link, or named twice) is read once; a dangling
// link is an error only when it looks like a manifest.
func TestSymlinks(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), fmt.Sprintf(service, "a"))
	write(t, filepath.Join(dir, "sub", "b.yaml"), fmt.Sprintf(service, "b"))
	for link, target := range map[string]string{
		"loop":             ".",
		"sub/up":           "..",
		"sub/again.yaml":   "../a.yaml",
		"dangling.yaml":    "nowhere.yaml",
		"dangling-notes":   "nowhere.txt",
		"sub/self-loop.d":  "self-loop.d",
		"sub/outside.yaml": "../sub/b.yaml",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Skipf("symbolic links: %v", err)
		}
	}
	r := Load(Options{Files: []string{dir, filepath.Join(dir, "a.yaml")}})
	if got := strings.Join(names(r), " "); got != "Service/a Service/b" {
		t.Errorf("objects %s", got)
	}
	var msgs []string
	for _, e := range r.Errors {
		msgs = append(msgs, strings.TrimPrefix(e.Error(), dir+"/"))
	}
	// self-loop.d points at itself: not a manifest name, but a directory
	// link cannot be told from a file link without following it.
	if got := strings.Join(msgs, "; "); got != "dangling.yaml: no such file or directory" {
		t.Errorf("errors: %s", got)
	}
}

// TestManyFiles: a directory of 10,000 small files. Creating them on this
// file system is the slow part, so -short walks them in memory (Options.FS).
func TestManyFiles(t *testing.T) {
	const n = 10000
	content := func(i int) []byte {
		return fmt.Appendf(nil, "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa-%d\n", i)
	}
	path := func(i int) string { return filepath.Join(fmt.Sprintf("d%02d", i%100), fmt.Sprintf("f%05d.yaml", i)) }
	var opts Options
	if testing.Short() {
		mem := fstest.MapFS{}
		for i := 0; i < n; i++ {
			mem[filepath.Join("many", path(i))] = &fstest.MapFile{Data: content(i)}
		}
		opts = Options{Files: []string{"many"}, FS: mapFS{mem}}
	} else {
		dir := t.TempDir()
		for d := 0; d < 100; d++ {
			if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("d%02d", d)), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// Write them from a few goroutines: file creation, not loading, is
		// what takes time here.
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 8 {
					if err := os.WriteFile(filepath.Join(dir, path(i)), content(i), 0o644); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		opts = Options{Files: []string{dir}}
	}
	start := time.Now()
	r := Load(opts)
	t.Logf("loaded %d files in %v", n, time.Since(start))
	wantNoErrors(t, r)
	if len(r.Objects) != n || r.Files != n {
		t.Fatalf("%d objects from %d files", len(r.Objects), r.Files)
	}
	// Lexical order: d00/f00000, d00/f00100, ...
	if r.Objects[1].Name != "sa-100" || r.Objects[n-1].Name != "sa-9999" || r.Objects[n-1].Line("metadata.name") != 4 {
		t.Errorf("order: %s, %s", r.Objects[1].Name, r.Objects[n-1].Name)
	}
}

// mapFS is an in-memory FileSystem without symbolic links.
type mapFS struct{ fstest.MapFS }

func (m mapFS) Lstat(name string) (fs.FileInfo, error)   { return m.Stat(name) }
func (m mapFS) EvalSymlinks(name string) (string, error) { return name, nil }

// TestKustomizationFileInWalk: a directory of kustomize bases and overlays
// read with -f: the kustomization files are not manifests; say so, don't fail.
func TestKustomizationFileInWalk(t *testing.T) {
	r := Load(Options{Files: []string{"testdata/kustomize/base"}})
	wantNoErrors(t, r)
	if len(r.Objects) != 3 || len(r.Warnings) != 1 ||
		r.Warnings[0].Error() != "testdata/kustomize/base/kustomization.yaml: a kustomization, not manifests: skipped (render it with -k testdata/kustomize/base)" {
		t.Errorf("objects %v, warnings %q", names(r), errorStrings(r.Warnings))
	}
}

func TestIsManifest(t *testing.T) {
	for name, want := range map[string]bool{"a.yaml": true, "a.yml": true, "a.json": true, "A.YAML": true, "a.yaml.bak": false, "README.md": false, "yaml": false} {
		if got := IsManifest(name); got != want {
			t.Errorf("IsManifest(%q) = %v", name, got)
		}
	}
}
