package gen_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// small is the mesh plain tests decode: big enough to hold every feature, small
// enough to keep `go test ./...` fast.
var small = gen.Config{Seed: 1, Services: 200}

func digest(files []gen.File) string {
	return fmt.Sprintf("%x", sha256.Sum256(gen.Join(files)))[:16]
}

func TestSameSeedSameBytes(t *testing.T) {
	a, b := gen.Generate(small), gen.Generate(small)
	if !gen.Equal(a, b) {
		t.Fatal("two generations with the same config differ")
	}
	c := gen.Generate(gen.Config{Seed: 2, Services: small.Services})
	if gen.Equal(a, c) || digest(a) == digest(c) {
		t.Fatal("seeds 1 and 2 gave the same mesh")
	}
}

// TestPinned pins the output of one seed: benchmark figures compare across
// commits only while the mesh they run on stays the same. When a change to the
// generator is intended, update the values below (and say so in the commit).
func TestPinned(t *testing.T) {
	files := gen.Generate(small)
	got := fmt.Sprintf("files=%d docs=%d sha256=%s", len(files), gen.Documents(files), digest(files))
	const want = "files=218 docs=820 sha256=221465a959ddda79"
	if got != want {
		t.Errorf("seed 1, 200 services:\n got  %s\n want %s", got, want)
	}
}

func TestLoadsCleanly(t *testing.T) {
	files := gen.Generate(small)
	r := &load.Result{}
	for _, f := range files {
		if !strings.HasSuffix(f.Name, ".yaml") || strings.HasPrefix(f.Name, "/") {
			t.Errorf("file name %q: want a relative .yaml path", f.Name)
		}
		before := len(r.Objects)
		load.Decode(f.Name, f.Data, r)
		if got := len(r.Objects) - before; got != f.Docs {
			t.Errorf("%s: Docs=%d, decoded %d objects", f.Name, f.Docs, got)
		}
	}
	for _, e := range r.Errors {
		t.Errorf("error: %s", e.Error())
	}
	for _, e := range r.Warnings {
		t.Errorf("warning: %s", e.Error())
	}
	if len(r.Skipped) > 0 {
		t.Errorf("skipped kinds: %v", r.Skipped)
	}
	if r.Documents != gen.Documents(files) || len(r.Objects) != r.Documents {
		t.Errorf("documents %d, objects %d, generator says %d", r.Documents, len(r.Objects), gen.Documents(files))
	}
	seen := map[objects.Key]string{}
	for _, o := range r.Objects {
		if prev, dup := seen[o.Key()]; dup {
			t.Errorf("%s in %s and %s", o.Key(), prev, o.Pos)
		}
		seen[o.Key()] = o.Pos.String()
	}

	x := mesh.Build(r.Objects, mesh.Options{})
	if _, ok := x.Assumed[mesh.AssumeDefaultNS]; ok {
		t.Error("an object has no namespace")
	}
	// 200 services and the ingress gateway's.
	if got := len(x.Services); got != small.Services+1 {
		t.Errorf("%d services, want %d", got, small.Services+1)
	}
	// 200/25 application namespaces and istio-system, none implied.
	if got := len(x.Namespaces); got != 9 {
		t.Errorf("%d namespaces, want 9", got)
	}
	for _, ns := range x.Namespaces {
		if ns.Implicit() {
			t.Errorf("namespace %s is referenced but not generated", ns.Name)
		}
	}
	for _, s := range x.Services {
		if s.Namespace == "istio-system" {
			continue
		}
		if len(x.Select(s.Namespace, s.Selector)) == 0 && s.Selector["version"] != "v0" {
			t.Errorf("service %s selects no workload", s.Key())
		}
	}
}

// TestShape checks the 10,000-service mesh the benchmarks use without decoding
// it: counts, and that every feature the brief asks for is present.
func TestShape(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 10,000 services")
	}
	files := gen.Generate(gen.Config{Seed: 1, Services: 10000})
	docs := gen.Documents(files)
	if docs < 38000 || docs > 42000 {
		t.Errorf("%d documents for 10,000 services, want about 40,000", docs)
	}
	all := gen.Join(files)
	count := func(s string) int { return bytes.Count(all, []byte(s)) }
	kinds := map[string]int{}
	for line := range bytes.Lines(all) {
		if k, ok := bytes.CutPrefix(line, []byte("kind: ")); ok {
			kinds[string(bytes.TrimSpace(k))]++
		}
	}
	if kinds["Service"] != 10001 || kinds["ServiceAccount"] != 10000 {
		t.Errorf("kinds: %v", kinds)
	}
	if d := kinds["Deployment"]; d < 10000 || d > 11500 {
		t.Errorf("%d Deployments", d)
	}
	namespaces := kinds["Namespace"] - 1
	if namespaces != 400 {
		t.Errorf("%d application namespaces, want 400", namespaces)
	}
	notInjected := namespaces - count("\n    istio-injection: enabled\n") - count("\n    istio.io/rev: ")
	if notInjected < 20 || notInjected > 60 {
		t.Errorf("%d of %d namespaces not injected, want about 10%%", notInjected, namespaces)
	}
	for _, feature := range []string{
		"istio.io/rev: ", "istio-injection: disabled",
		"mode: STRICT", "mode: PERMISSIVE", "mode: DISABLE", "mode: ISTIO_MUTUAL", "portLevelMtls:",
		`host: "*.ns-`, `exportTo: ["."]`, `exportTo: ["*"]`, "subsets:",
		"- istio-system/public-gateway", "prefix: /", "subset: v2", "subset: v3",
		"action: ALLOW", "action: DENY", "principals:", "namespaces: [",
		"127.0.0.1", `sidecar.istio.io/inject: "false"`, "targetPort: http\n", "targetPort: grpc\n",
		"apiVersion: networking.istio.io/v1alpha3", "apiVersion: security.istio.io/v1beta1",
	} {
		if count(feature) == 0 {
			t.Errorf("no %q in the 10,000-service mesh", feature)
		}
	}
}

func TestWriteDirLoadsLikeMemory(t *testing.T) {
	cfg := gen.Config{Seed: 7, Services: 60}
	dir := filepath.Join(t.TempDir(), "mesh")
	if err := gen.WriteDir(dir, cfg); err != nil {
		t.Fatal(err)
	}
	fromDir := load.Load(load.Options{Files: []string{dir}})
	mem := &load.Result{}
	for _, f := range gen.Generate(cfg) {
		load.Decode(filepath.Join(dir, filepath.FromSlash(f.Name)), f.Data, mem)
	}
	if len(fromDir.Errors) > 0 || len(fromDir.Objects) != len(mem.Objects) {
		t.Fatalf("from the directory: %d objects, errors %v; from memory: %d objects", len(fromDir.Objects), fromDir.Errors, len(mem.Objects))
	}
	for i := range mem.Objects {
		a, b := fromDir.Objects[i], mem.Objects[i]
		if a.Key() != b.Key() || a.Pos != b.Pos {
			t.Fatalf("object %d: %s at %s from the directory, %s at %s from memory", i, a.Key(), a.Pos, b.Key(), b.Pos)
		}
	}

	single := &load.Result{}
	load.Decode("all.yaml", gen.Join(gen.Generate(cfg)), single)
	if len(single.Errors) > 0 || len(single.Objects) != len(mem.Objects) {
		t.Errorf("joined: %d objects, errors %v; want %d", len(single.Objects), single.Errors, len(mem.Objects))
	}

	if err := gen.WriteDir(dir, cfg); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("writing into a non-empty directory: err = %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "istio-system", "00-mesh.yaml"))
	if err != nil || !bytes.HasPrefix(b, []byte("apiVersion: v1\nkind: Namespace\n")) {
		t.Errorf("istio-system/00-mesh.yaml: %q, %v", b[:min(len(b), 40)], err)
	}
}

func TestNoServices(t *testing.T) {
	files := gen.Generate(gen.Config{Seed: 1})
	if len(files) != 1 || files[0].Name != "istio-system/00-mesh.yaml" {
		t.Errorf("0 services: %d files", len(files))
	}
	r := &load.Result{}
	load.Decode(files[0].Name, files[0].Data, r)
	if len(r.Errors) > 0 {
		t.Errorf("errors: %v", r.Errors)
	}
}

func TestNamespacesOverride(t *testing.T) {
	files := gen.Generate(gen.Config{Seed: 3, Services: 30, Namespaces: 3})
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[strings.SplitN(f.Name, "/", 2)[0]] = true
	}
	if len(dirs) != 4 || !dirs["ns-000"] || !dirs["ns-002"] {
		t.Errorf("directories %v, want istio-system and ns-000..ns-002", dirs)
	}
}

func BenchmarkGenerate10k(b *testing.B) {
	cfg := gen.Config{Seed: 1, Services: 10000}
	b.ReportAllocs()
	docs := 0
	for b.Loop() {
		docs = gen.Documents(gen.Generate(cfg))
	}
	b.ReportMetric(float64(docs)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}
