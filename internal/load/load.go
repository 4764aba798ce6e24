// Package load reads manifests (files, directories, stdin, kustomizations) into
// positioned objects. It never writes anything and never reads Secrets: a Secret
// document is skipped like any kind meshdoctor does not read.
package load

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
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

// FileSystem is the part of a file system the loader needs.
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
	stdinUsed := false
	for _, p := range opts.Files {
		if p == "-" {
			if stdinUsed {
				continue
			}
			stdinUsed = true
			if opts.Stdin == nil {
				r.Errors = append(r.Errors, Error{File: "<stdin>", Msg: "no standard input"})
				continue
			}
			data, err := io.ReadAll(opts.Stdin)
			if err != nil {
				r.Errors = append(r.Errors, Error{File: "<stdin>", Msg: err.Error()})
				continue
			}
			Decode("<stdin>", data, r)
			continue
		}
		loadPath(fsys, p, r)
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

func loadPath(fsys FileSystem, p string, r *Result) {
	fi, err := fsys.Stat(p)
	if err != nil {
		r.Errors = append(r.Errors, Error{File: p, Msg: pathError(err)})
		return
	}
	if !fi.IsDir() {
		loadFile(fsys, p, r)
		return
	}
	visited := map[string]bool{}
	walkDir(fsys, p, visited, r)
}

// walkDir walks a directory in lexical order. Symbolic links to files and
// directories are followed; a directory already visited (a symlink loop, or two
// links to one place) is read once.
func walkDir(fsys FileSystem, dir string, visited map[string]bool, r *Result) {
	real, err := fsys.EvalSymlinks(dir)
	if err != nil {
		r.Errors = append(r.Errors, Error{File: dir, Msg: pathError(err)})
		return
	}
	if visited[real] {
		return
	}
	visited[real] = true
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		r.Errors = append(r.Errors, Error{File: dir, Msg: pathError(err)})
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			continue // .git, editor swap files, ...
		}
		t := e.Type()
		if t&fs.ModeSymlink != 0 {
			fi, err := fsys.Stat(name)
			if err != nil {
				r.Errors = append(r.Errors, Error{File: name, Msg: pathError(err)})
				continue
			}
			if fi.IsDir() {
				walkDir(fsys, name, visited, r)
			} else if fi.Mode().IsRegular() && IsManifest(name) {
				loadFile(fsys, name, r)
			}
			continue
		}
		if e.IsDir() {
			walkDir(fsys, name, visited, r)
			continue
		}
		if t.IsRegular() && IsManifest(name) {
			loadFile(fsys, name, r)
		}
	}
}

func loadFile(fsys FileSystem, name string, r *Result) {
	data, err := fsys.ReadFile(name)
	if err != nil {
		r.Errors = append(r.Errors, Error{File: name, Msg: pathError(err)})
		return
	}
	Decode(name, data, r)
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
