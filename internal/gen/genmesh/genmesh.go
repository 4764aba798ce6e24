// Package genmesh decodes and indexes generated meshes, for the tests and
// benchmarks of every package that measures meshdoctor at scale (and the
// benchmark command), so that each does it the same way.
package genmesh

import (
	"fmt"
	"sync"

	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// Decode decodes every file with load.Decode, as loading them from a
// directory would (without the file system).
func Decode(files []gen.File) *load.Result {
	r := &load.Result{}
	for _, f := range files {
		load.Decode(f.Name, f.Data, r)
	}
	return r
}

// Load generates and decodes the mesh of cfg; a generated mesh that does not
// decode cleanly is an error.
func Load(cfg gen.Config) (*load.Result, error) {
	r := Decode(gen.Generate(cfg))
	if len(r.Errors) > 0 {
		return nil, fmt.Errorf("generated mesh (seed %d, %d services): %d errors, first: %v", cfg.Seed, cfg.Services, len(r.Errors), r.Errors[0])
	}
	return r, nil
}

// Index generates, decodes and indexes the mesh of cfg.
func Index(cfg gen.Config) (*mesh.Index, error) {
	r, err := Load(cfg)
	if err != nil {
		return nil, err
	}
	return mesh.Build(r.Objects, mesh.Options{}), nil
}

// Mesh10k is the 10,000-service mesh of seed 1, decoded and indexed once per
// process (about 7 s: for benchmarks, never plain tests). The objects and the
// index are shared: callers must not modify them.
var Mesh10k = sync.OnceValues(func() (*Mesh, error) {
	r, err := Load(gen.Config{Seed: 1, Services: 10000})
	if err != nil {
		return nil, err
	}
	return &Mesh{Load: r, Index: mesh.Build(r.Objects, mesh.Options{})}, nil
})

// Mesh is a decoded and indexed generated mesh.
type Mesh struct {
	Load  *load.Result
	Index *mesh.Index
}
