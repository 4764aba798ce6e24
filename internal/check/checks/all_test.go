package checks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"
)

func TestAllValid(t *testing.T) {
	if err := check.Validate(All()); err != nil {
		t.Fatal(err)
	}
}

// TestEveryPackageListed fails when a check package exists that All does not
// list (a check written but never run).
func TestEveryPackageListed(t *testing.T) {
	src, err := os.ReadFile("all.go")
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "testdata" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d.Name(), "testdata")); err != nil {
			t.Errorf("check package %s has no testdata folder", d.Name())
		}
		if !strings.Contains(string(src), "/checks/"+d.Name()+"\"") {
			t.Errorf("check package %s is not in All()", d.Name())
		}
	}
}
