package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

const incidentText = "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused"

// TestExplain pins explain's output: the incident's text alone (PORT_NOT_LISTENING
// first, mTLS mismatches excluded), narrowed by the bundled example (the
// loopback binding, file:line), an access-log line whose request is traced
// without --to, curl errors, stdin, and bad usage.
func TestExplain(t *testing.T) {
	k := "../../examples/titanium/k8s-manifests/overlays/gcp"
	gwLog := `[2024-01-01T00:00:00.000Z] "GET /blog/ HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_Connection_refused} - "delayed_connect_error:_Connection_refused" 0 190 52 - "10.0.0.1" "curl/8.5.0" "7" "titanium.example.com" "10.4.2.7:8005" outbound|8005||prod-blog-service.titanium-prod.svc.cluster.local - 10.4.1.5:8080 10.0.0.1:51234 - -`
	runGolden(t, []cliCase{
		{name: "explain-incident", args: []string{"explain", incidentText}, code: 0},
		{name: "explain-incident-json", args: []string{"explain", incidentText, "-o", "json"}, code: 0},
		{name: "explain-incident-example", args: []string{"explain", "-k", k, "--from", "istio-system/istio-ingressgateway", "--to", "http://titanium.example.com/blog/", incidentText}, code: 1},
		{name: "explain-access-log-example", args: []string{"explain", "-k", k, "--from", "istio-system/istio-ingressgateway", gwLog}, code: 1},
		{name: "explain-rbac-log", args: []string{"explain", `[2025-07-22T17:55:49.074Z] "GET / HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "10.244.1.1" "curl/8.14.1" "ff387ab3" "172.18.10.10" "-" inbound|80|| - 10.244.1.9:80 10.244.1.1:0 outbound_.80_._.nginx-svc.default.svc.cluster.local default`}, code: 0},
		{name: "explain-curl-reset", args: []string{"explain", "curl: (56) Recv failure: Connection reset by peer"}, code: 0},
		{name: "explain-stdin", args: []string{"explain"}, stdin: "curl: (35) error:0A00010B:SSL routines::wrong version number\n", code: 0},
		{name: "explain-unknown-text", args: []string{"explain", "it does not work"}, code: 2},
		{name: "explain-from-without-manifests", args: []string{"explain", "--from", "shop/frontend", incidentText}, code: 2},
		{name: "explain-manifests-without-from", args: []string{"explain", "-k", k, incidentText}, code: 2},
		{name: "explain-no-target", args: []string{"explain", "-k", k, "--from", "istio-system/istio-ingressgateway", incidentText}, code: 2},
	})
}

// TestExplainJSONContract checks the field names SPEC.md fixes for the
// explain JSON, and that the narrowed trace names the loopback binding.
func TestExplainJSONContract(t *testing.T) {
	out, errOut, code := run(t, "", "explain", "-k", "../../examples/titanium/k8s-manifests/overlays/gcp", "--from", "istio-system/istio-ingressgateway", "--to", "http://titanium.example.com/blog/", incidentText, "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Input  string
		Parsed struct {
			FailureReason string `json:"failure_reason"`
		}
		Causes []struct{ Cause, Likelihood, Why, Check string }
		Trace  struct {
			Cause string
			Hops  []struct {
				Step, Status string
				Objects      []struct {
					File, Field string
					Line        int
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Input != incidentText || got.Parsed.FailureReason != "delayed connect error: Connection refused" {
		t.Errorf("input %q, failure reason %q", got.Input, got.Parsed.FailureReason)
	}
	if len(got.Causes) == 0 || got.Causes[0].Cause != "PORT_NOT_LISTENING" || got.Causes[0].Likelihood != "high" || !strings.Contains(got.Causes[0].Check, "blog-service.yaml:34") {
		t.Errorf("first cause %+v", got.Causes[0])
	}
	last := got.Trace.Hops[len(got.Trace.Hops)-1]
	if got.Trace.Cause != "PORT_NOT_LISTENING" || last.Status != "fail" || last.Objects[0].Line != 34 || last.Objects[0].Field != "spec.template.spec.containers[0].args[2]" {
		t.Errorf("trace %s, last hop %+v", got.Trace.Cause, last)
	}
}
