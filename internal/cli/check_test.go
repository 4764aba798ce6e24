package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks"
	"github.com/meshdoctor/meshdoctor/internal/report"
)

const titaniumK = "../../examples/titanium/k8s-manifests/overlays/gcp"

// TestCheckExample pins check on the bundled incident: the loopback binding
// of the blog service is the one error; with the proposals added, what each
// of them does wrong.
func TestCheckExample(t *testing.T) {
	runGolden(t, []cliCase{
		{name: "check_example", args: []string{"check", "-k", titaniumK}, code: 1},
		{name: "check_example_proposals", args: []string{"check", "-k", titaniumK, "-f", "../../examples/titanium/proposals/"}, code: 1},
		{name: "check_example_sarif", args: []string{"check", "-k", titaniumK, "-o", "sarif"}, code: 1},
	})
	// Each proposal on its own over the overlay: what it does wrong.
	// 01: a second namespace-wide PeerAuthentication, which wins by name.
	// 02: nothing wrong in the configuration (it changes nothing the incident needs).
	// 03: its DISABLE is merged away; its subset selects everything.
	// 04: a PeerAuthentication on the gateway changes nothing.
	// 05: the ALLOW policy denies every service-to-service call.
	// 06: replaces the ISTIO_MUTUAL rule: plaintext towards STRICT servers.
	for _, p := range []string{"01-namespace-permissive", "02-per-port-permissive", "03-destinationrule-disable",
		"04-gateway-peerauthentication", "05-authz-allow-gateway-only", "06-destinationrule-disable-replace"} {
		runGolden(t, []cliCase{{name: "check_example_proposal_" + p[:2],
			args: []string{"check", "-k", titaniumK, "-f", "../../examples/titanium/proposals/" + p + ".yaml", "--no-fixes"}, code: 1}})
	}
}

// TestCheckExitStatus: --fail-on decides the exit status for every output
// format; suppressions are honoured and problems with them reported.
func TestCheckExitStatus(t *testing.T) {
	m := "testdata/check/suppress"
	runGolden(t, []cliCase{
		{name: "check_suppress", args: []string{"check", "-f", m}, code: 1},
		{name: "check_suppress_json", args: []string{"check", "-f", m, "-o", "json", "--no-fixes"}, code: 1},
		{name: "check_ignore_flag", args: []string{"check", "-f", m, "--ignore", "MD0501=Deployment shop/*", "--ignore", "MD0104", "--no-fixes"}, code: 1},
		{name: "check_bad_fail_on", args: []string{"check", "-f", m, "--fail-on", "fatal"}, code: 2},
		{name: "check_bad_ignore", args: []string{"check", "-f", m, "--ignore", "MD9999"}, code: 2},
	})
	for _, format := range report.Formats {
		for failOn, want := range map[string]int{"error": 1, "warning": 1, "info": 1, "none": 0} {
			_, errOut, code := run(t, "", "check", "-f", m, "-o", format, "--fail-on", failOn, "--no-fixes")
			if code != want {
				t.Errorf("-o %s --fail-on %s: exit %d, want %d (%s)", format, failOn, code, want, errOut)
			}
		}
		// Without the error (suppressed), only warnings remain: --fail-on error passes.
		_, _, code := run(t, "", "check", "-f", m, "-o", format, "--no-fixes", "--ignore", "MD0501", "--ignore", "MD0002", "--fail-on", "error")
		if code != 0 {
			t.Errorf("-o %s: exit %d with only warnings and --fail-on error, want 0", format, code)
		}
		_, _, code = run(t, "", "check", "-f", m, "-o", format, "--no-fixes", "--ignore", "MD0501", "--ignore", "MD0002", "--fail-on", "warning")
		if code != 1 {
			t.Errorf("-o %s: exit %d with warnings and --fail-on warning, want 1", format, code)
		}
	}
}

func TestCheckJSONFields(t *testing.T) {
	out, _, _ := run(t, "", "check", "-k", titaniumK, "-o", "json")
	var doc struct {
		Findings []struct {
			Code, Severity, Message string
			Object                  struct {
				Kind, File, Field string
				Line              int
			}
			Fixes []struct{ Summary, Patch string }
		}
		Summary struct{ Errors int }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Summary.Errors != 1 {
		t.Fatalf("errors = %d, want exactly the loopback binding", doc.Summary.Errors)
	}
	for _, f := range doc.Findings {
		if f.Severity == "Error" {
			if f.Code != "MD0501" || !strings.HasSuffix(f.Object.File, "blog-service.yaml") || f.Object.Line == 0 || len(f.Fixes) == 0 {
				t.Errorf("the error is not the blog service's loopback binding with a fix: %+v", f)
			}
		}
	}
}

func TestChecks(t *testing.T) {
	runGolden(t, []cliCase{
		{name: "checks_list", args: []string{"checks"}, code: 0},
		{name: "checks_explain", args: []string{"checks", "MD0501"}, code: 0},
		{name: "checks_unknown", args: []string{"checks", "MD9999"}, code: 2},
	})
}

// TestChecksDoc fails when docs/checks.md is not what the checks' docs
// generate (go test ./internal/cli -update rewrites it).
func TestChecksDoc(t *testing.T) {
	const path = "../../docs/checks.md"
	want := report.ChecksMarkdown(checks.All())
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("docs/checks.md is stale: run go test ./internal/cli -update")
	}
}
