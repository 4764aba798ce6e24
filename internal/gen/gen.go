// Package gen generates large, realistic meshes (Kubernetes and Istio manifests)
// from a seed, for benchmarks and scale tests. The same Config always produces the
// same files, byte for byte: every random choice comes from one PCG stream
// (math/rand/v2) seeded by Config.Seed, drawn in a fixed order, and nothing
// iterates over a map.
//
// A mesh of N services has about N/25 application namespaces and about 4N
// documents:
//
//   - istio-system/00-mesh.yaml: the istio-system Namespace, the mesh-wide
//     PeerAuthentication, the Gateway istio-system/public-gateway, the ingress
//     gateway's Service and, for some seeds, a mesh-wide DestinationRule "*.local".
//   - NS/00-namespace.yaml: the Namespace (most with istio-injection: enabled,
//     about 10% not injected, a few with istio.io/rev), and for some namespaces a
//     namespace-wide PeerAuthentication (STRICT, PERMISSIVE or DISABLE), a wildcard
//     DestinationRule, a namespace-wide AuthorizationPolicy and a "portal"
//     VirtualService that routes /SERVICE/ prefixes of NS.example.com through the
//     public gateway.
//   - NS/SERVICE.yaml, one per service: ServiceAccount, Deployment, Service, and
//     sometimes a workload PeerAuthentication (portLevelMtls), a DestinationRule
//     (exact or short host, ISTIO_MUTUAL, DISABLE or no TLS, subsets, exportTo), a
//     VirtualService bound to the gateway, a mesh VirtualService (subsets, weights)
//     and AuthorizationPolicies (ALLOW from principals or namespaces, a few DENY).
//   - NS/dr-SERVICE-SERVICENS.yaml: a client-side DestinationRule that a namespace
//     keeps for a service of another namespace.
//
// A small, fixed share of services carries the mistakes operators make (an
// application bound to 127.0.0.1, a targetPort that no container declares, a
// selector that matches no pod, a route to a subset no DestinationRule defines,
// an AuthorizationPolicy that forgets the gateway), so that a checker has
// something to find at every scale.
package gen

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Config says what to generate.
type Config struct {
	// Seed selects the mesh; the same seed always gives the same files.
	Seed uint64
	// Services is the number of application services (each one a Deployment, a
	// Service and a ServiceAccount, plus Istio config).
	Services int
	// Namespaces is the number of application namespaces; 0 means about
	// Services/25 (at least 1 when there are services).
	Namespaces int
}

// File is one generated manifest file.
type File struct {
	// Name is a slash-separated relative path, e.g. "ns-012/blog-3.yaml".
	Name string
	// Data is the file's content: one or more YAML documents separated by "---".
	Data []byte
	// Docs is the number of documents in Data.
	Docs int
}

// Generate returns the files of the mesh cfg describes, sorted by Name (the order
// in which the loader walks a directory written by WriteDir).
func Generate(cfg Config) []File {
	g := newGenerator(cfg)
	g.plan()
	files := g.render()
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files
}

// Documents returns the number of documents in files.
func Documents(files []File) int {
	n := 0
	for _, f := range files {
		n += f.Docs
	}
	return n
}

// Join concatenates files into one multi-document YAML stream, in order, each
// file's documents preceded by a comment naming the file.
func Join(files []File) []byte {
	size := 0
	for _, f := range files {
		size += len(f.Data) + len(f.Name) + 16
	}
	out := make([]byte, 0, size)
	for i, f := range files {
		if i > 0 {
			out = append(out, "---\n"...)
		}
		out = append(out, "# "+f.Name+"\n"...)
		out = append(out, f.Data...)
	}
	return out
}

// WriteDir generates the mesh cfg describes and writes its files under dir,
// which must not exist or be empty (stale files of a previous, larger mesh would
// silently become part of this one).
func WriteDir(dir string, cfg Config) error {
	return WriteFiles(dir, Generate(cfg))
}

// WriteFiles writes files under dir, which must not exist or be empty.
func WriteFiles(dir string, files []File) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s: directory is not empty", dir)
	}
	made := map[string]bool{}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		d := filepath.Dir(p)
		if !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			made[d] = true
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Equal reports whether two generations are identical (names, bytes, counts).
func Equal(a, b []File) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Docs != b[i].Docs || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}
