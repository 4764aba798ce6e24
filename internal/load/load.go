// Package load reads manifests (files, directories, stdin, kustomizations) into
// positioned objects: every object keeps its file and line, and the line of
// each of its fields, so that a finding can say "peer-authentication.yaml:9".
//
// What it reads, and how:
//
//   - YAML streams (split at "---" lines, so one broken document never hides
//     the others), kind: List, JSON; UTF-8 with or without a BOM, UTF-16 with a
//     BOM; LF or CRLF. Lines are counted at LF, as editors count them.
//   - Plain scalars are resolved as kubectl resolves them (YAML 1.1): 0644 is
//     420, a plain yes/no/on/off is a boolean. Anchors, aliases and merge keys
//     work; a document whose aliases would add more than MaxAliasExpansion
//     nodes ("billion laughs") is refused unexpanded, and so is one nested
//     deeper than MaxDepth.
//   - Kubernetes kinds decode into k8s.io/api types, Istio kinds into
//     istio.io/client-go types, whichever served version the document names.
//   - A document that cannot be read is an Error on the offending line and is
//     skipped; unknown fields are Warnings (Istio's decoder ignores them
//     silently, which hides misspellings such as portLevelMTLS).
//   - Other kinds (CRDs of other projects, kustomize's Kustomization) are
//     skipped and counted, never an error; so are Helm hook Pods and Jobs,
//     which run to completion and are not part of the running mesh. Secrets are
//     skipped without their content being converted or decoded.
//   - Kustomizations are rendered in process (krusty); objects point at their
//     source documents. Remote bases are not fetched.
//
// It never writes anything.
package load

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Options says what to load.
type Options struct {
	// Files are -f arguments: files, directories (walked recursively for .yaml,
	// .yml and .json) or "-" for Stdin.
	Files []string
	// Kustomizations are -k arguments: directories rendered in process.
	Kustomizations []string
	Stdin          io.Reader
	// FS reads files; nil means the real file system.
	FS FileSystem
}

// FileSystem is the part of a file system the loader needs. Load calls
// ReadFile from several goroutines at once.
type FileSystem interface {
	ReadFile(name string) ([]byte, error)
	Stat(name string) (fs.FileInfo, error)
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	EvalSymlinks(name string) (string, error)
}

type osFS struct{}

func (osFS) ReadFile(n string) ([]byte, error)       { return os.ReadFile(n) }
func (osFS) Stat(n string) (fs.FileInfo, error)      { return os.Stat(n) }
func (osFS) Lstat(n string) (fs.FileInfo, error)     { return os.Lstat(n) }
func (osFS) ReadDir(n string) ([]fs.DirEntry, error) { return os.ReadDir(n) }
func (osFS) EvalSymlinks(n string) (string, error)   { return filepath.EvalSymlinks(n) }

// Load reads everything opts names. Problems with single documents or paths are
// collected in Result.Errors and the rest is still loaded; Load itself only
// fails when it cannot start.
func Load(opts Options) *Result {
	r := &Result{}
	fsys := opts.FS
	if fsys == nil {
		fsys = osFS{}
	}
	w := &walker{fsys: fsys, dirs: map[string]bool{}, files: map[string]bool{}}
	stdinUsed := false
	for _, p := range opts.Files {
		if p == "-" {
			if stdinUsed {
				continue
			}
			stdinUsed = true
			if opts.Stdin == nil {
				w.problem().errorf("<stdin>", 0, "", "no standard input")
				continue
			}
			data, err := io.ReadAll(opts.Stdin)
			if err != nil {
				w.problem().errorf("<stdin>", 0, "", "%s", err)
				continue
			}
			w.out = append(w.out, pending{name: "<stdin>", data: data, read: true})
			continue
		}
		w.path(p)
	}
	w.decode()
	for i := range w.out {
		r.merge(&w.out[i].r)
	}
	for _, k := range opts.Kustomizations {
		Kustomize(k, r)
	}
	return r
}

// IsManifest reports whether a file name is read when walking a directory.
func IsManifest(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// walker reads -f paths. It walks directories in lexical order and follows
// symbolic links to files and directories; a directory or file already read (a
// symlink loop, two links to one place, a file named twice) is read once.
type walker struct {
	fsys  FileSystem
	out   []pending       // what the walk found, in order
	dirs  map[string]bool // real paths of the directories walked
	files map[string]bool // real paths of the files read
}

// pending is a file to read and decode, or a problem met on the way; r is
// what it gave.
type pending struct {
	name string // a file to read; "" for a problem
	data []byte // the content, when read already (stdin)
	read bool   // data is the content
	r    Result
}

// problem returns a new Result, in walk order, for a problem with a path.
func (w *walker) problem() *Result {
	w.out = append(w.out, pending{})
	return &w.out[len(w.out)-1].r
}

// decode reads and decodes the files found, on every CPU; each into a
// Result of its own, merged in walk order by the caller.
func (w *walker) decode() {
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(w.out) {
				return
			}
			p := &w.out[i]
			if p.name == "" {
				continue
			}
			if !p.read {
				data, err := w.fsys.ReadFile(p.name)
				if err != nil {
					p.r.errorf(p.name, 0, "", "%s", pathError(err))
					continue
				}
				p.data = data
			}
			Decode(p.name, p.data, &p.r)
			p.data = nil
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(w.out))
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// path reads a file or walks a directory.
func (w *walker) path(p string) {
	fi, err := w.fsys.Stat(p)
	if err != nil {
		w.problem().errorf(p, 0, "", "%s", pathError(err))
		return
	}
	if fi.IsDir() {
		w.dir(p)
		return
	}
	w.file(p, "")
}

func (w *walker) dir(dir string) {
	real, err := w.fsys.EvalSymlinks(dir)
	if err != nil {
		w.problem().errorf(dir, 0, "", "%s", pathError(err))
		return
	}
	if w.dirs[real] {
		return
	}
	w.dirs[real] = true
	entries, err := w.fsys.ReadDir(dir)
	if err != nil {
		w.problem().errorf(dir, 0, "", "%s", pathError(err))
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // .git, editor swap files, ...
		}
		name := filepath.Join(dir, e.Name())
		t := e.Type()
		switch {
		case t&fs.ModeSymlink != 0:
			fi, err := w.fsys.Stat(name)
			if err != nil {
				if IsManifest(name) {
					w.problem().errorf(name, 0, "", "%s", pathError(err))
				}
				continue // a dangling link to something that is not a manifest: ignored
			}
			if fi.IsDir() {
				w.dir(name)
			} else if fi.Mode().IsRegular() && IsManifest(name) {
				w.file(name, "")
			}
		case e.IsDir():
			w.dir(name)
		case t.IsRegular() && IsManifest(name):
			w.file(name, filepath.Join(real, e.Name()))
		}
	}
}

// file reads one file; real is its path with no symbolic links, when known.
func (w *walker) file(name, real string) {
	if real == "" {
		var err error
		if real, err = w.fsys.EvalSymlinks(name); err != nil {
			real = name
		}
	}
	if w.files[real] {
		return
	}
	w.files[real] = true
	if isKustomizationFile(name) {
		pr := w.problem()
		pr.Warnings = append(pr.Warnings, Error{File: name, Msg: "a kustomization, not manifests: skipped (render it with -k " + filepath.Dir(name) + ")"})
		return
	}
	w.out = append(w.out, pending{name: name})
}

func pathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return fmt.Sprint(err)
}
