package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/gen"
)

func TestWritesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-services", "30", "-seed", "4", "-o", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := gen.Generate(gen.Config{Seed: 4, Services: 30})
	for _, f := range want {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Name)))
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Fatalf("%s: %v", f.Name, err)
		}
	}
	if !strings.Contains(stderr.String(), "wrote 3") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

func TestWritesSingle(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-services", "10", "-single", "-"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := gen.Join(gen.Generate(gen.Config{Seed: 1, Services: 10})); !bytes.Equal(stdout.Bytes(), want) {
		t.Error("-single - does not print the joined mesh")
	}
}

func TestBench(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-bench", "-services", "50", "-cpuprofile", prof}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"decode", "index", "objects/s", "peak RSS"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("cpu profile: %v", err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-o", "x", "-bench"},
		{"-services", "-1", "-bench"},
		{"-json", "-o", "x"},
		{"-bench", "extra"},
		{"-nosuchflag"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
