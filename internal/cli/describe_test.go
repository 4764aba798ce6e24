package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const titaniumGCP = "../../examples/titanium/k8s-manifests/overlays/gcp"

// TestDescribeExample pins describe on the bundled incident: the ingress
// gateway (PeerAuthentication does not apply to its listeners; the Gateway
// servers that select it), prod-blog-service (STRICT, a sidecar, and an
// application bound to 127.0.0.1), prod-postgres (no sidecar, port-level
// DISABLE) and the prod-blog-service Service as JSON.
func TestDescribeExample(t *testing.T) {
	runGolden(t, []cliCase{
		{name: "describe-workload-gateway", args: []string{"describe", "workload", "istio-system/istio-ingressgateway", "-k", titaniumGCP}, code: 0},
		{name: "describe-workload-blog", args: []string{"describe", "workload", "titanium-prod/prod-blog-service", "-k", titaniumGCP}, code: 0},
		{name: "describe-workload-postgres", args: []string{"describe", "workload", "titanium-prod/prod-postgres", "-k", titaniumGCP}, code: 0},
		{name: "describe-service-blog-json", args: []string{"describe", "service", "prod-blog-service.titanium-prod", "-k", titaniumGCP, "-o", "json"}, code: 0},
		{name: "describe-service-blog", args: []string{"describe", "svc", "titanium-prod/prod-blog-service", "-k", titaniumGCP}, code: 0},
	})
}

// TestDescribeSmallMeshes pins the parts the example does not show: an ALLOW
// policy that selects the workload, a port only a Service targets, and a
// Service without endpoints.
func TestDescribeSmallMeshes(t *testing.T) {
	runGolden(t, []cliCase{
		{name: "describe-workload-authz", args: []string{"describe", "workload", "shop/cart", "-f", traceMesh("authz-denied")}, code: 0},
		{name: "describe-workload-undeclared-port", args: []string{"describe", "workload", "cart", "-n", "shop", "-f", traceMesh("port-not-listening-targetport")}, code: 0},
		{name: "describe-service-no-endpoints", args: []string{"describe", "service", "cart.shop.svc.cluster.local", "-f", traceMesh("no-endpoints")}, code: 0},
	})
}

// TestDescribeUsage pins exit 2 for what cannot be described, with close
// matches.
func TestDescribeUsage(t *testing.T) {
	runGolden(t, []cliCase{
		{name: "describe-unknown-workload", args: []string{"describe", "workload", "titanium-prod/prod-blog", "-k", titaniumGCP}, code: 2},
		{name: "describe-unknown-service", args: []string{"describe", "service", "prod-blog.titanium-prod", "-k", titaniumGCP}, code: 2},
		{name: "describe-bad-workload-arg", args: []string{"describe", "workload", "a/b/c/d", "-k", titaniumGCP}, code: 2},
		{name: "describe-no-kind", args: []string{"describe", "-k", titaniumGCP}, code: 2},
	})
}

// TestDescribeJSONShape checks that -o json and yaml are the same data, with
// stable field names, and that no absolute path leaks into the output.
func TestDescribeJSONShape(t *testing.T) {
	abs, err := filepath.Abs(titaniumGCP)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "describe", "workload", "titanium-prod/prod-postgres", "-k", titaniumGCP, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, abs) {
		t.Errorf("output contains the absolute path %s", abs)
	}
	var d struct {
		Proxy struct {
			Kind string `json:"kind"`
		} `json:"proxy"`
		Ports []struct {
			Port int32 `json:"port"`
			MTLS struct {
				Mode string `json:"mode"`
				By   []struct {
					File  string `json:"file"`
					Line  int    `json:"line"`
					Field string `json:"field"`
				} `json:"by"`
			} `json:"mtls"`
		} `json:"ports"`
		Outbound struct {
			Proxy bool `json:"proxy"`
		} `json:"outbound"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Proxy.Kind != "none" || d.Outbound.Proxy {
		t.Errorf("prod-postgres: proxy %q, outbound proxy %v; want none, false", d.Proxy.Kind, d.Outbound.Proxy)
	}
	if len(d.Ports) != 1 || d.Ports[0].Port != 5432 || d.Ports[0].MTLS.Mode != "DISABLE" {
		t.Fatalf("prod-postgres ports = %+v, want 5432 DISABLE", d.Ports)
	}
	first := d.Ports[0].MTLS.By[0]
	if first.Field != "spec.portLevelMtls.5432.mode" || first.Line == 0 || !strings.HasSuffix(first.File, "peer-authentication-databases.yaml") {
		t.Errorf("the deciding field is %+v, want the portLevelMtls entry of prod-postgres-mtls", first)
	}
	yout, _, code := run(t, "", "describe", "workload", "titanium-prod/prod-postgres", "-k", titaniumGCP, "-o", "yaml")
	if code != 0 || !strings.Contains(yout, "mode: DISABLE") || !strings.Contains(yout, "field: spec.portLevelMtls.5432.mode") {
		t.Errorf("yaml output lacks the DISABLE decision:\n%s", yout)
	}
}

func TestServiceArg(t *testing.T) {
	a := &app{}
	a.g.namespace = "shop"
	for in, want := range map[string]string{
		"cart.web":                    "web/cart",
		"web/cart":                    "web/cart",
		"cart":                        "shop/cart",
		"cart.web.svc":                "web/cart",
		"cart.web.svc.cluster.local":  "web/cart",
		"Cart.Web.svc.cluster.local.": "web/cart",
		"svcfoo.web":                  "web/svcfoo",
		"cart.web.svcfoo":             "",
		"/cart":                       "",
		"web/":                        "",
		"a/b/c":                       "",
		".web":                        "",
	} {
		ns, name, err := a.serviceArg(in)
		got := ns + "/" + name
		if err != nil {
			got = ""
		}
		if got != want {
			t.Errorf("serviceArg(%q) = %q (err %v), want %q", in, got, err, want)
		}
	}
}
