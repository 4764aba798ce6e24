package cli

import (
	"encoding/json"
	"testing"
)

const (
	exampleOverlay   = "../../examples/titanium/k8s-manifests/overlays/gcp"
	exampleProposals = "../../examples/titanium/proposals/"
)

func TestWhatif(t *testing.T) {
	runGolden(t, []cliCase{
		{name: "whatif-authz-allow-gateway-only", args: []string{"whatif", "-k", exampleOverlay, "--change", exampleProposals + "05-authz-allow-gateway-only.yaml"}, code: 1},
		{name: "whatif-namespace-permissive", args: []string{"whatif", "-k", exampleOverlay, "--change", exampleProposals + "01-namespace-permissive.yaml"}, code: 0},
		{name: "whatif-per-port-permissive", args: []string{"whatif", "-k", exampleOverlay, "--change", exampleProposals + "02-per-port-permissive.yaml"}, code: 1},
		{name: "whatif-per-port-permissive-allow-weaker", args: []string{"whatif", "-k", exampleOverlay, "--change", exampleProposals + "02-per-port-permissive.yaml", "--allow-weaker", "--no-findings"}, code: 0},
		{name: "whatif-delete-missing", args: []string{"whatif", "-k", exampleOverlay, "--delete", "DestinationRule/titanium-prod/nope"}, code: 2},
		{name: "whatif-delete-bad", args: []string{"whatif", "-k", exampleOverlay, "--delete", "nope"}, code: 2},
		{name: "whatif-nothing", args: []string{"whatif", "-k", exampleOverlay}, code: 2},
	})
}

// Every output format obeys the exit status.
func TestWhatifExitStatusEveryFormat(t *testing.T) {
	for _, o := range []string{"text", "json", "yaml", "sarif"} {
		_, errOut, code := run(t, "", "whatif", "-o", o, "--no-findings", "-k", exampleOverlay, "--change", exampleProposals+"06-destinationrule-disable-replace.yaml")
		if code != 1 {
			t.Errorf("-o %s: exit %d, want 1 (%s)", o, code, errOut)
		}
		_, errOut, code = run(t, "", "whatif", "-o", o, "--no-findings", "-k", exampleOverlay, "--change", exampleProposals+"03-destinationrule-disable.yaml")
		if code != 0 {
			t.Errorf("-o %s: exit %d, want 0 (%s)", o, code, errOut)
		}
	}
}

func TestWhatifJSON(t *testing.T) {
	out, errOut, code := run(t, "", "whatif", "-o", "json", "--no-findings", "--trace", "-k", exampleOverlay, "--change", exampleProposals+"06-destinationrule-disable-replace.yaml")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		Summary struct {
			Broken int `json:"broken"`
		} `json:"summary"`
		Breaks  bool `json:"breaks"`
		Changes []struct {
			Category   string          `json:"category"`
			AfterTrace json.RawMessage `json:"after_trace"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Breaks || r.Summary.Broken == 0 || len(r.Changes) == 0 || len(r.Changes[0].AfterTrace) == 0 {
		t.Errorf("%s", out)
	}
}
