package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/report/sariftest"
)

func sample() Input {
	return Input{
		Checks:  checks.All(),
		Version: "test",
		BaseDir: "/repo",
		Result: &check.Result{Suppressed: 1, Findings: []check.Finding{
			{Code: "MD0501", Check: "loopback-bind", Severity: check.Error, Message: "bound to loopback",
				Object:  objects.Ref{Kind: "Deployment", Namespace: "shop", Name: "cart", File: "/repo/k8s/cart.yaml", Line: 23, Field: "spec.template.spec.containers[0].args[2]"},
				Related: []objects.Ref{{Kind: "Service", Namespace: "shop", Name: "cart", File: "k8s/cart.yaml", Line: 40}},
				Fixes:   []check.Fix{{Summary: "bind to 0.0.0.0", Patch: "spec: {}\n"}}},
			{Code: "MD0103", Check: "peerauthentication-no-effect", Severity: check.Info, Message: "no effect",
				Object: objects.Ref{Kind: "PeerAuthentication", Namespace: "istio-system", Name: "gw"}},
			{Code: "MD0003", Check: "unused-suppression", Severity: check.Warning, Message: "unused",
				Object: objects.Ref{Kind: "Flag", Name: "--ignore=MD0201"}},
		}},
	}
}

// TestSARIFSchema validates the SARIF output against the OASIS SARIF 2.1.0
// schema (package sariftest), with and without findings.
func TestSARIFSchema(t *testing.T) {
	for name, in := range map[string]Input{"findings": sample(), "empty": {Checks: checks.All(), Result: &check.Result{}}} {
		var b bytes.Buffer
		if err := SARIF(&b, in); err != nil {
			t.Fatal(err)
		}
		sariftest.Validate(t, name, b.Bytes())
	}
	// The schema must catch a broken log, or this test proves nothing.
	if sariftest.Check([]byte(`{"version": "2.1.0", "runs": [{"results": []}]}`)) == nil {
		t.Error("a run without tool validated: the schema check is not effective")
	}
}

func TestSARIFContent(t *testing.T) {
	var b bytes.Buffer
	if err := SARIF(&b, sample()); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	rs := log.Runs[0].Results
	if len(rs) != 3 {
		t.Fatalf("got %d results", len(rs))
	}
	loc := rs[0].Locations[0].PhysicalLocation
	if loc.ArtifactLocation.URI != "k8s/cart.yaml" || loc.Region.StartLine != 23 {
		t.Errorf("location = %+v, want the file relative to the base dir and line 23", loc)
	}
	if rs[0].Level != "error" || rs[1].Level != "note" || rs[2].Level != "warning" {
		t.Errorf("levels = %s %s %s", rs[0].Level, rs[1].Level, rs[2].Level)
	}
	if len(rs[1].Locations) != 0 {
		t.Error("an object without a file must have no location")
	}
	rules := log.Runs[0].Tool.Driver.Rules
	if rules[rs[0].RuleIndex].ID != "MD0501" {
		t.Errorf("ruleIndex points at %s", rules[rs[0].RuleIndex].ID)
	}
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, sample()); err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(b.String(), "\n", 2)[0]
	want := "Error [MD0501] (Deployment shop/cart /repo/k8s/cart.yaml:23) bound to loopback"
	if first != want {
		t.Errorf("first line\n got %q\nwant %q", first, want)
	}
	if !strings.Contains(b.String(), "1 errors, 1 warnings, 1 info, 1 suppressed") {
		t.Errorf("no summary:\n%s", b.String())
	}
	b.Reset()
	if err := Text(&b, Input{Result: &check.Result{}}); err != nil || b.String() != "✔ No issues found.\n" {
		t.Errorf("empty: %q %v", b.String(), err)
	}
}
