package cli

import (
	"strings"
	"testing"
)

func TestMatrix(t *testing.T) {
	runGolden(t, []cliCase{
		// The incident: the blog Service fails for every caller (bound to
		// 127.0.0.1), clients without a sidecar fail against STRICT ports.
		{name: "matrix_example", args: []string{"matrix", "-k", titaniumK}, code: 1},
		{name: "matrix_example_json", args: []string{"matrix", "-k", titaniumK, "-o", "json"}, code: 1},
		{name: "matrix_example_by_namespace", args: []string{"matrix", "-k", titaniumK, "--by-namespace"}, code: 1},
		// Filters: the routes entering through the gateway; one client; one port.
		{name: "matrix_from_external", args: []string{"matrix", "-k", titaniumK, "--from", "external"}, code: 1},
		{name: "matrix_from_workload", args: []string{"matrix", "-k", titaniumK, "--from", "titanium-prod/prod-redis"}, code: 1},
		{name: "matrix_to_port_json", args: []string{"matrix", "-k", titaniumK, "--to", "prod-redis.titanium-prod:6379", "-o", "json"}, code: 0},
		// -n keeps paths whose client or Service is in the namespace: none here.
		{name: "matrix_namespace_empty", args: []string{"matrix", "-k", titaniumK, "-n", "istio-system"}, code: 0},
		{name: "matrix_bad_from", args: []string{"matrix", "-k", titaniumK, "--from", "titanium-prod/prod-blog"}, code: 2},
		{name: "matrix_bad_to_port", args: []string{"matrix", "-k", titaniumK, "--to", "titanium-prod/prod-blog-service:99"}, code: 2},
		{name: "matrix_bad_output", args: []string{"matrix", "-k", titaniumK, "-o", "sarif"}, code: 2},
		{name: "matrix_no_input", args: []string{"matrix"}, code: 2},
		// No Service: every list is [] (never null), exit 0.
		{name: "matrix_empty_json", args: []string{"matrix", "-f", "-", "-o", "json"}, stdin: "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", code: 0},
		{name: "matrix_fail_on_none_yaml", args: []string{"matrix", "-k", titaniumK, "--to", "titanium-prod/prod-blog-service", "--from", "titanium-prod/prod-redis", "-o", "yaml", "--fail-on", "none"}, code: 0},
		{name: "matrix_bad_fail_on", args: []string{"matrix", "-k", titaniumK, "--fail-on", "warning"}, code: 2},
	})
}

// TestMatrixHTML checks the page's frame; internal/report/html tests the page
// itself, in a browser too.
func TestMatrixHTML(t *testing.T) {
	out, errOut, code := run(t, "", "matrix", "-k", titaniumK, "-o", "html")
	if code != 1 {
		t.Errorf("exit status %d, want 1 (failing paths)\n%s", code, errOut)
	}
	for _, want := range []string{
		"<!DOCTYPE html>", `data-from="external via istio-system/istio-ingressgateway" data-to="titanium-prod/prod-blog-service"`,
		"Findings of check", "PORT_NOT_LISTENING", `"verified":true`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(out, "http://") && strings.Contains(out, `src="http`) {
		t.Errorf("the page loads something from the network")
	}
}
