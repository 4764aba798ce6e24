package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// run runs meshdoctor in process.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// golden compares got with testdata/golden/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", name, got, want)
	}
}

type cliCase struct {
	name  string
	args  []string
	stdin string
	code  int
}

func runGolden(t *testing.T, cases []cliCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := run(t, c.stdin, c.args...)
			if code != c.code {
				t.Errorf("exit status %d, want %d\nstderr: %s", code, c.code, errOut)
			}
			golden(t, c.name+".txt", "$ meshdoctor "+strings.Join(c.args, " ")+"\n"+out+"--- stderr\n"+errOut+"--- exit "+itoa(code)+"\n")
		})
	}
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

func TestInventory(t *testing.T) {
	runGolden(t, []cliCase{
		// A folder with valid manifests, one broken document and one unknown
		// CRD: every valid object, one file:line error, the skipped count, exit 2.
		{name: "inventory-mixed", args: []string{"inventory", "-f", "testdata/mixed"}, code: 2},
		{name: "inventory-mixed-json", args: []string{"inventory", "-f", "testdata/mixed", "-o", "json"}, code: 2},
		{name: "inventory-namespace", args: []string{"inventory", "-f", "testdata/mixed/app.yaml", "-n", "shop"}, code: 0},
		{name: "inventory-stdin", args: []string{"inventory", "-f", "-"}, stdin: "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\nspec: {ports: [{port: 80}]}\n", code: 0},
	})
}

func TestUsage(t *testing.T) {
	runGolden(t, []cliCase{
		{name: "no-input", args: []string{"inventory"}, code: 2},
		{name: "bad-output", args: []string{"inventory", "-f", "testdata/mixed/app.yaml", "-o", "xml"}, code: 2},
		{name: "unknown-command", args: []string{"frobnicate"}, code: 2},
		{name: "missing-path", args: []string{"inventory", "-f", "testdata/does-not-exist"}, code: 2},
		{name: "version", args: []string{"version"}, code: 0},
	})
}
