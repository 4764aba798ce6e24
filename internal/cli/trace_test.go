package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// traceMesh is the folder of the small mesh of one trace case; each file's
// header says what it sets up and what Istio does with it.
func traceMesh(name string) string { return "testdata/trace/" + name }

// TestTraceCauses pins one trace per cause code of SPEC.md, and the two
// healthy cases (mTLS, and plaintext into a PERMISSIVE server), each on a
// small mesh of its own. Exit status: 0 ok, 1 fail or denied, 2 when FROM or
// TO cannot be resolved.
func TestTraceCauses(t *testing.T) {
	runGolden(t, []cliCase{
		// Both sides have a sidecar; auto mTLS into a STRICT namespace.
		{name: "trace-ok-mtls", args: []string{"trace", "-f", traceMesh("ok-mtls"), "shop/frontend", "http://cart/items"}, code: 0},
		{name: "trace-ok-mtls-json", args: []string{"trace", "-f", traceMesh("ok-mtls"), "shop/frontend", "http://cart/items", "-o", "json"}, code: 0},
		// A client without sidecar into a PERMISSIVE server: plaintext, ok.
		{name: "trace-ok-plaintext", args: []string{"trace", "-f", traceMesh("ok-plaintext"), "shop/legacy", "http://cart/items"}, code: 0},
		// A client without sidecar into a STRICT server: the server's sidecar
		// resets the connection; the application sees no HTTP response.
		{name: "trace-plaintext-to-strict", args: []string{"trace", "-f", traceMesh("plaintext-to-strict"), "shop/legacy", "http://cart/items"}, code: 1},
		// A sidecar client whose DestinationRule says DISABLE: 503 UC.
		{name: "trace-plaintext-to-strict-dr-disable", args: []string{"trace", "-f", traceMesh("plaintext-to-strict-dr-disable"), "shop/frontend", "http://cart/items"}, code: 1},
		{name: "trace-plaintext-to-strict-dr-disable-json", args: []string{"trace", "-f", traceMesh("plaintext-to-strict-dr-disable"), "shop/frontend", "http://cart/items", "-o", "json"}, code: 1},
		// Auto mTLS reads only the namespace's policy: DISABLE there, STRICT on
		// the workload, and the sidecar sends plaintext.
		{name: "trace-plaintext-to-strict-auto-mtls", args: []string{"trace", "-f", traceMesh("plaintext-to-strict-auto-mtls"), "shop/frontend", "http://cart/items"}, code: 1},
		{name: "trace-mtls-to-non-mesh", args: []string{"trace", "-f", traceMesh("mtls-to-non-mesh"), "shop/frontend", "http://cache:8080/"}, code: 1},
		{name: "trace-san-mismatch", args: []string{"trace", "-f", traceMesh("san-mismatch"), "shop/frontend", "http://cart/items"}, code: 1},
		{name: "trace-authz-denied", args: []string{"trace", "-f", traceMesh("authz-denied"), "shop/frontend", "http://cart/items"}, code: 1},
		{name: "trace-authz-denied-json", args: []string{"trace", "-f", traceMesh("authz-denied"), "shop/frontend", "http://cart/items", "-o", "json"}, code: 1},
		{name: "trace-port-not-listening-loopback", args: []string{"trace", "-f", traceMesh("port-not-listening-loopback"), "shop/frontend", "http://cart/items"}, code: 1},
		{name: "trace-port-not-listening-targetport", args: []string{"trace", "-f", traceMesh("port-not-listening-targetport"), "shop/frontend", "http://cart/items"}, code: 1},
		{name: "trace-no-endpoints", args: []string{"trace", "-f", traceMesh("no-endpoints"), "shop/frontend", "http://cart/items"}, code: 1},
		{name: "trace-no-route", args: []string{"trace", "-f", traceMesh("no-route"), "istio-system/istio-ingressgateway", "http://shop.example.com/checkout/"}, code: 1},
		{name: "trace-no-route-json", args: []string{"trace", "-f", traceMesh("no-route"), "istio-system/istio-ingressgateway", "http://shop.example.com/checkout/", "-o", "json"}, code: 1},
		{name: "trace-unknown-subset", args: []string{"trace", "-f", traceMesh("unknown-subset"), "shop/frontend", "http://cart/items"}, code: 1},
		{name: "trace-unknown-host-registry-only", args: []string{"trace", "-f", traceMesh("unknown-host-registry-only"), "shop/frontend", "http://payments.example.com/pay"}, code: 1},
		{name: "trace-unknown-host-gateway", args: []string{"trace", "-f", traceMesh("unknown-host-gateway"), "istio-system/istio-ingressgateway", "http://shop.example.com/cart/"}, code: 1},
		// REGISTRY_ONLY with a ServiceEntry for the host: ok, plaintext.
		{name: "trace-ok-service-entry", args: []string{"trace", "-f", traceMesh("ok-service-entry"), "shop/frontend", "http://payments.example.com/pay"}, code: 0},
		// FROM and TO that do not resolve: exit 2, with close matches.
		{name: "trace-unknown-from", args: []string{"trace", "-f", traceMesh("ok-mtls"), "shop/frontnd", "http://cart/items"}, code: 2},
		{name: "trace-unknown-from-namespace", args: []string{"trace", "-f", traceMesh("ok-mtls"), "shop/web", "http://cart/items"}, code: 2},
		{name: "trace-bad-to", args: []string{"trace", "-f", traceMesh("ok-mtls"), "shop/frontend", "ftp://cart/items"}, code: 2},
	})
}

// TestTraceExampleIncident pins the bundled example: the incident's /blog/
// fails for its real reason (the application binds 127.0.0.1), from the
// gateway and from the exact URL the user called; /api/ is healthy over mTLS.
func TestTraceExampleIncident(t *testing.T) {
	k := "../../examples/titanium/k8s-manifests/overlays/gcp"
	runGolden(t, []cliCase{
		{name: "trace-example-blog", args: []string{"trace", "-k", k, "istio-system/istio-ingressgateway", "http://titanium.example.com/blog/"}, code: 1},
		{name: "trace-example-blog-json", args: []string{"trace", "-k", k, "istio-system/istio-ingressgateway", "http://titanium.example.com/blog/", "-o", "json"}, code: 1},
		{name: "trace-example-api", args: []string{"trace", "-k", k, "istio-system/istio-ingressgateway", "http://titanium.example.com/api/"}, code: 0},
		{name: "trace-example-external-blog", args: []string{"trace", "-k", k, "external", "https://34.64.171.141:30444/blog/"}, code: 1},
		{name: "trace-example-external-api", args: []string{"trace", "-k", k, "external", "https://34.64.171.141:30444/api/"}, code: 0},
		{name: "trace-example-service-to-service", args: []string{"trace", "-k", k, "titanium-prod/prod-api-gateway", "http://prod-blog-service:8005/blog/"}, code: 1},
	})
}

// TestTraceJSONContract checks, beyond the golden files, the field names and
// values SPEC.md fixes for the trace JSON, case by case: result, cause,
// security, the HTTP status and flags a caller sees, and that each failing
// hop names the object (file:line) that decided it.
func TestTraceJSONContract(t *testing.T) {
	type ref struct {
		Kind, Namespace, Name, File, Field string
		Line                               int
	}
	type out struct {
		From, To, Result, Security, Cause string
		HTTPStatus                        int `json:"http_status"`
		Envoy                             struct {
			ResponseFlags string `json:"response_flags"`
			Message       string
		}
		Hops []struct {
			Step, Status, Detail string
			Objects              []ref
		}
		Assumptions []string
		Fixes       []struct {
			Summary, Patch, Security string
			Verified                 bool
		}
	}
	cases := []struct {
		mesh, from, to                string
		result, cause, security       string
		status                        int
		flags, message                string
		failStep, failKind, failField string
		failLine                      int
		fixes                         int
	}{
		{"ok-mtls", "shop/frontend", "http://cart/items", "ok", "", "mtls", 0, "", "", "", "", "", 0, 0},
		{"ok-plaintext", "shop/legacy", "http://cart/items", "ok", "", "plaintext", 0, "", "", "", "", "", 0, 0},
		{"ok-service-entry", "shop/frontend", "http://payments.example.com/pay", "ok", "", "plaintext", 0, "", "", "", "", "", 0, 0},
		{"plaintext-to-strict", "shop/legacy", "http://cart/items", "fail", "PLAINTEXT_TO_STRICT", "plaintext", 0, "", "connection reset by peer", "server inbound", "PeerAuthentication", "spec.mtls.mode", 18, 2},
		{"plaintext-to-strict-dr-disable", "shop/frontend", "http://cart/items", "fail", "PLAINTEXT_TO_STRICT", "plaintext", 503, "UC", "reset reason: connection termination", "server inbound", "PeerAuthentication", "spec.mtls.mode", 19, 2},
		{"mtls-to-non-mesh", "shop/frontend", "http://cache:8080/", "fail", "MTLS_TO_NON_MESH", "mtls", 503, "UF,URX", "WRONG_VERSION_NUMBER", "server inbound", "Deployment", `spec.template.metadata.labels["sidecar.istio.io/inject"]`, 52, 2},
		{"san-mismatch", "shop/frontend", "http://cart/items", "fail", "SAN_MISMATCH", "mtls", 503, "UF,URX", "CERTIFICATE_VERIFY_FAILED", "server inbound", "DestinationRule", "spec.trafficPolicy.tls.subjectAltNames", 21, 1},
		{"authz-denied", "shop/frontend", "http://cart/items", "denied", "AUTHZ_DENIED", "mtls", 403, "", "RBAC: access denied", "authorization", "AuthorizationPolicy", "spec.rules[0].from[0].source.principals", 23, 1},
		{"port-not-listening-loopback", "shop/frontend", "http://cart/items", "fail", "PORT_NOT_LISTENING", "mtls", 503, "UF,URX", "delayed connect error: Connection refused", "application", "Deployment", "spec.template.spec.containers[0].args[1]", 55, 1},
		{"port-not-listening-targetport", "shop/frontend", "http://cart/items", "fail", "PORT_NOT_LISTENING", "mtls", 503, "UF,URX", "delayed connect error: Connection refused", "application", "Deployment", "spec.template.spec.containers", 52, 1},
		{"no-endpoints", "shop/frontend", "http://cart/items", "fail", "NO_ENDPOINTS", "", 503, "UH", "no healthy upstream", "endpoints", "Service", "spec.selector", 65, 0},
		{"no-route", "istio-system/istio-ingressgateway", "http://shop.example.com/checkout/", "fail", "NO_ROUTE", "", 404, "NR", "", "route", "VirtualService", "spec.http", 98, 0},
		{"unknown-subset", "shop/frontend", "http://cart/items", "fail", "UNKNOWN_SUBSET", "", 503, "NC", "", "destinationrule", "DestinationRule", "spec.subsets", 79, 0},
		{"unknown-host-registry-only", "shop/frontend", "http://payments.example.com/pay", "fail", "UNKNOWN_HOST", "", 502, "", "", "route", "ConfigMap", "data.mesh", 79, 1},
		{"unknown-host-gateway", "istio-system/istio-ingressgateway", "http://shop.example.com/cart/", "fail", "UNKNOWN_HOST", "", 503, "NC", "", "route", "VirtualService", "spec.http[0].route[0].destination.host", 103, 1},
	}
	for _, c := range cases {
		t.Run(c.mesh, func(t *testing.T) {
			stdout, stderr, code := run(t, "", "trace", "-f", traceMesh(c.mesh), c.from, c.to, "-o", "json")
			want := 1
			if c.result == "ok" {
				want = 0
			}
			if code != want {
				t.Fatalf("exit %d, want %d; stderr: %s", code, want, stderr)
			}
			var got out
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			if got.From != c.from || got.To != c.to {
				t.Errorf("from, to = %q, %q", got.From, got.To)
			}
			if got.Result != c.result || got.Cause != c.cause || got.Security != c.security {
				t.Errorf("result, cause, security = %q, %q, %q; want %q, %q, %q", got.Result, got.Cause, got.Security, c.result, c.cause, c.security)
			}
			if got.HTTPStatus != c.status || got.Envoy.ResponseFlags != c.flags || !strings.Contains(got.Envoy.Message, c.message) {
				t.Errorf("caller sees %d %q %q; want %d %q containing %q", got.HTTPStatus, got.Envoy.ResponseFlags, got.Envoy.Message, c.status, c.flags, c.message)
			}
			if c.message == "" && got.Envoy.Message != "" {
				t.Errorf("envoy message %q, want an empty body", got.Envoy.Message)
			}
			var fails []int
			for i, h := range got.Hops {
				if h.Status == "fail" {
					fails = append(fails, i)
				}
			}
			if c.result == "ok" {
				if len(fails) > 0 || len(got.Fixes) > 0 {
					t.Errorf("ok trace with failing hops %v or fixes %d", fails, len(got.Fixes))
				}
				return
			}
			if len(fails) != 1 || fails[0] != len(got.Hops)-1 {
				t.Fatalf("failing hops at %v of %d: want exactly the last one", fails, len(got.Hops))
			}
			h := got.Hops[fails[0]]
			if h.Step != c.failStep {
				t.Errorf("failing step %q, want %q", h.Step, c.failStep)
			}
			found := false
			for _, o := range h.Objects {
				if o.Kind == c.failKind && o.Field == c.failField {
					found = true
					if o.Line != c.failLine || o.File != "testdata/trace/"+c.mesh+"/mesh.yaml" {
						t.Errorf("%s %s at %s:%d, want line %d", o.Kind, o.Field, o.File, o.Line, c.failLine)
					}
				}
			}
			if !found {
				t.Errorf("failing hop names no %s %s: %+v", c.failKind, c.failField, h.Objects)
			}
			if len(got.Fixes) != c.fixes {
				t.Errorf("%d fixes, want %d: %+v", len(got.Fixes), c.fixes, got.Fixes)
			}
			for _, f := range got.Fixes {
				if !f.Verified || f.Patch == "" || f.Security == "" {
					t.Errorf("fix %q: verified=%v, patch %q, security %q", f.Summary, f.Verified, f.Patch, f.Security)
				}
			}
		})
	}
}
