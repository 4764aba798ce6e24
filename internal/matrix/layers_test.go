package matrix

import (
	gobuild "go/build"
	"strings"
	"testing"
)

// TestLayers: the model never imports a driver or a renderer (STYLE.md:
// dependencies point down, cli -> matrix -> paths -> trace -> resolve).
func TestLayers(t *testing.T) {
	pkg, err := gobuild.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		for _, bad := range []string{"/internal/cli", "/internal/report", "/internal/check", "/internal/load", "/internal/kube"} {
			if strings.Contains(imp, bad) {
				t.Errorf("package matrix imports %s", imp)
			}
		}
		if imp == "os" || imp == "net/http" {
			t.Errorf("package matrix imports %s: it never touches files, the network or stdout", imp)
		}
	}
}
