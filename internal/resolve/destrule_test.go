package resolve

import (
	"strings"
	"testing"
)

// secDRBase: client workload c in namespace client, service reviews (port
// 9080, two pods v1 and v2) in namespace shop, the implied ingress gateway
// in istio-system.
const secDRBase = `apiVersion: v1
kind: Namespace
metadata: {name: client, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: c, namespace: client}
spec:
  template:
    metadata: {labels: {app: c}}
    spec: {containers: [{name: c, image: c}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: shop}
spec:
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec:
      serviceAccountName: reviews
      containers: [{name: r, image: r, ports: [{containerPort: 9080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
`

const secReviews = "reviews.shop.svc.cluster.local"

func secDR(t *testing.T, drs, client string) DRDecision {
	t.Helper()
	e := secEngine(t, "dr.yaml", secDRBase+"---\n"+drs)
	return e.DestinationRule(secWorkload(t, e, client), secReviews)
}

func secDRNames(d DRDecision) string {
	if d.Rule == nil {
		return ""
	}
	return d.Rule.Name()
}

// push_context.go destinationRule: the client's namespace is consulted first,
// and its match shadows the service namespace's rule.
func TestDestinationRuleClientNamespaceFirst(t *testing.T) {
	drs := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: in-shop, namespace: shop}
spec: {host: reviews, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: in-client, namespace: client}
spec: {host: "*.local", trafficPolicy: {tls: {mode: DISABLE}}}
`
	d := secDR(t, drs, "client/c")
	if secDRNames(d) != "client/in-client" || !strings.Contains(d.Reason, "client's namespace client") || !strings.Contains(d.Reason, "shadows DestinationRule shop/in-shop") {
		t.Errorf("%s: %s", secDRNames(d), secDump(d.Decision))
	}
	// The short host "reviews" is relative to the rule's namespace (shop).
	if d := secDR(t, drs, "shop/reviews-v1"); secDRNames(d) != "shop/in-shop" || d.Rule.Host != secReviews {
		t.Errorf("%s", secDump(d.Decision))
	}
}

// ResolveShortnameToFQDN: a host with a dot is taken as is, so
// "reviews.shop" never matches reviews.shop.svc.cluster.local.
func TestDestinationRuleDottedHostNotExpanded(t *testing.T) {
	d := secDR(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dotted, namespace: shop}
spec: {host: reviews.shop, trafficPolicy: {tls: {mode: DISABLE}}}
`, "client/c")
	if d.Rule != nil {
		t.Errorf("%s", secDump(d.Decision))
	}
}

// setDestinationRules: exportTo ["."] keeps a rule private to its namespace.
func TestDestinationRuleExportToDot(t *testing.T) {
	drs := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: private, namespace: shop}
spec: {host: reviews, exportTo: ["."], trafficPolicy: {tls: {mode: DISABLE}}}
`
	if d := secDR(t, drs, "client/c"); d.Rule != nil {
		t.Errorf("visible to client: %s", secDump(d.Decision))
	}
	if d := secDR(t, drs, "shop/reviews-v1"); secDRNames(d) != "shop/private" {
		t.Errorf("not visible in its namespace: %s", secDump(d.Decision))
	}
	// Exported by name to the client's namespace.
	if d := secDR(t, strings.Replace(drs, `["."]`, `[client]`, 1), "client/c"); secDRNames(d) != "shop/private" {
		t.Errorf("exportTo [client]: %s", secDump(d.Decision))
	}
}

// MostSpecificHostMatch (config.go) with host.MoreSpecific: an exact host beats
// wildcards, a longer wildcard beats a shorter one.
func TestDestinationRuleMostSpecificHost(t *testing.T) {
	drs := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: all, namespace: shop}
spec: {host: "*.svc.cluster.local"}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ns, namespace: shop}
spec: {host: "*.shop.svc.cluster.local"}
`
	if d := secDR(t, drs, "client/c"); secDRNames(d) != "shop/ns" {
		t.Errorf("longer wildcard: %s", secDump(d.Decision))
	}
	exact := drs + `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: exact, namespace: shop}
spec: {host: reviews.shop.svc.cluster.local}
`
	if d := secDR(t, exact, "client/c"); secDRNames(d) != "shop/exact" {
		t.Errorf("exact: %s", secDump(d.Decision))
	}
}

// getExportedDestinationRuleFromNamespace: when the most specific match is not
// exported to the client, the namespace yields nothing (no less specific
// retry) and the lookup falls through to the root namespace.
func TestDestinationRuleMostSpecificNotExported(t *testing.T) {
	drs := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: exact-other, namespace: shop}
spec: {host: reviews, exportTo: [other], trafficPolicy: {tls: {mode: DISABLE}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: wildcard, namespace: shop}
spec: {host: "*.shop.svc.cluster.local", trafficPolicy: {tls: {mode: SIMPLE}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mesh, namespace: istio-system}
spec: {host: "*.local", trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
`
	d := secDR(t, drs, "client/c")
	if secDRNames(d) != "istio-system/mesh" || !strings.Contains(d.Reason, "not exported to namespace client") ||
		!secHasRef(d.Decision, "DestinationRule", "shop/exact-other", "spec.exportTo") {
		t.Errorf("%s: %s", secDRNames(d), secDump(d.Decision))
	}
}

// mergeDestinationRule (destination_rule.go): rules with the same host in one
// namespace are merged: subsets unioned (first wins), the first top-level
// trafficPolicy kept whole.
func TestDestinationRuleMerge(t *testing.T) {
	drs := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a, namespace: shop}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: DISABLE}}
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: b, namespace: shop}
spec:
  host: reviews.shop.svc.cluster.local
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets: [{name: v1, labels: {version: other}}, {name: v2, labels: {version: v2}}]
`
	d := secDR(t, drs, "client/c")
	m := d.Rule
	if m == nil || len(m.Rules) != 2 || m.PolicyFrom.Name != "a" || len(m.Subsets) != 2 || m.Subsets[0].Labels["version"] != "v1" || m.Subsets[1].Name != "v2" {
		t.Fatalf("%+v\n%s", m, secDump(d.Decision))
	}
	if tls := m.TLS(9080, ""); tls.Mode() != "DISABLE" || tls.From.Name != "a" {
		t.Errorf("tls %+v", tls)
	}
	if !strings.Contains(d.Reason, `subset "v1" of DestinationRule shop/b is ignored`) || !strings.Contains(d.Reason, "trafficPolicy of DestinationRule shop/b is ignored") ||
		!secHasAssumption(d.Decision, "Istio 1.24") || !secHasAssumption(d.Decision, "shop/a is taken as older than shop/b") {
		t.Errorf("%s", secDump(d.Decision))
	}
	if labels, ok := d.Subset("v2"); !ok || labels["version"] != "v2" {
		t.Errorf("subset v2: %v %v", labels, ok)
	}
}

// ENABLE_ENHANCED_DESTINATIONRULE_MERGE (1.24+, commit "Donot merge DR with
// different exportTo"): rules with different exportTo stay apart, and the
// last selector-less entry wins (sidecar.go DestinationRule catchAllDr).
func TestDestinationRuleMergeExportToDiffers(t *testing.T) {
	d := secDR(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a, namespace: shop}
spec: {host: reviews, exportTo: ["*"], trafficPolicy: {tls: {mode: DISABLE}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: b, namespace: shop}
spec: {host: reviews, exportTo: [client, shop], trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
`, "client/c")
	if secDRNames(d) != "shop/b" || !secHasAssumption(d.Decision, "Istio 1.24") {
		t.Errorf("%s: %s", secDRNames(d), secDump(d.Decision))
	}
}

// sidecar.go SidecarScope.DestinationRule: a workloadSelector rule applies
// only to proxies of its namespace that it selects; the others get the last
// rule without a selector, and when there is none no rule applies (the lookup
// stopped at that namespace).
func TestDestinationRuleWorkloadSelector(t *testing.T) {
	drs := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: for-c, namespace: client}
spec:
  host: reviews.shop.svc.cluster.local
  workloadSelector: {matchLabels: {app: c}}
  trafficPolicy: {tls: {mode: DISABLE}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: client}
spec:
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: c, image: c}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: in-shop, namespace: shop}
spec: {host: reviews, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
`
	if d := secDR(t, drs, "client/c"); secDRNames(d) != "client/for-c" || !strings.Contains(d.Reason, "selects the client") {
		t.Errorf("selected: %s", secDump(d.Decision))
	}
	d := secDR(t, drs, "client/other")
	if d.Rule != nil || !strings.Contains(d.Reason, "does not select the client") {
		t.Errorf("not selected: %s: %s", secDRNames(d), secDump(d.Decision))
	}
	// Workload selectors do not cross namespaces: the rule is private.
	if d := secDR(t, drs, "shop/reviews-v1"); secDRNames(d) != "shop/in-shop" {
		t.Errorf("other namespace: %s", secDump(d.Decision))
	}
	// With a selector-less rule in the same namespace, that one is the fallback.
	d = secDR(t, drs+`---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: all-client, namespace: client}
spec: {host: reviews.shop.svc.cluster.local, trafficPolicy: {tls: {mode: SIMPLE}}}
`, "client/other")
	if secDRNames(d) != "client/all-client" {
		t.Errorf("fallback: %s", secDump(d.Decision))
	}
}

// push_context.go destinationRule, the root-namespace "hack": a gateway in
// istio-system consults the root namespace's private rules, then the
// service's namespace, and only then the root namespace's exported rules.
func TestDestinationRuleGatewayInRootNamespace(t *testing.T) {
	drs := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mesh-wide, namespace: istio-system}
spec: {host: "*.local", trafficPolicy: {tls: {mode: DISABLE}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: in-shop, namespace: shop}
spec: {host: reviews, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
`
	if d := secDR(t, drs, "istio-system/istio-ingressgateway"); secDRNames(d) != "shop/in-shop" {
		t.Errorf("gateway: %s", secDump(d.Decision))
	}
	// A sidecar elsewhere sees the same order here (nothing in its namespace).
	if d := secDR(t, drs, "client/c"); secDRNames(d) != "shop/in-shop" {
		t.Errorf("client: %s", secDump(d.Decision))
	}
	// Without a service-namespace rule, the root namespace's exported rule applies.
	if d := secDR(t, strings.SplitN(drs, "---", 2)[0], "istio-system/istio-ingressgateway"); secDRNames(d) != "istio-system/mesh-wide" {
		t.Errorf("root exported: %s", secDump(d.Decision))
	}
	// A private root rule comes first for the gateway, and is invisible elsewhere.
	private := drs + `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: gw-private, namespace: istio-system}
spec: {host: "*.shop.svc.cluster.local", exportTo: ["."], trafficPolicy: {tls: {mode: SIMPLE}}}
`
	if d := secDR(t, private, "istio-system/istio-ingressgateway"); secDRNames(d) != "istio-system/gw-private" {
		t.Errorf("private root: %s", secDump(d.Decision))
	}
	if d := secDR(t, private, "client/c"); secDRNames(d) != "shop/in-shop" {
		t.Errorf("private root for a sidecar: %s", secDump(d.Decision))
	}
}

// util.GetPortLevelTrafficPolicy: portLevelSettings match the SERVICE port and
// replace the whole policy; MergeSubsetTrafficPolicy: a subset's tls overrides.
func TestDestinationRuleTLSPortAndSubset(t *testing.T) {
	d := secDR(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r, namespace: shop}
spec:
  host: reviews
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: ROUND_ROBIN}
    - port: {number: 9443}
      tls: {mode: SIMPLE}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {tls: {mode: DISABLE}}
  - name: v2
    labels: {version: v2}
`, "client/c")
	m := d.Rule
	if m == nil {
		t.Fatal(secDump(d.Decision))
	}
	cases := []struct {
		port   int32
		subset string
		mode   string
		path   string
	}{
		{9080, "", "", "spec.trafficPolicy.portLevelSettings[0]"},
		{9443, "", "SIMPLE", "spec.trafficPolicy.portLevelSettings[1].tls"},
		{8080, "", "ISTIO_MUTUAL", "spec.trafficPolicy.tls"},
		{8080, "v1", "DISABLE", "spec.subsets[0].trafficPolicy.tls"},
		{9443, "v1", "DISABLE", "spec.subsets[0].trafficPolicy.tls"},
		{8080, "v2", "ISTIO_MUTUAL", "spec.trafficPolicy.tls"},
	}
	for _, c := range cases {
		tls := m.TLS(c.port, c.subset)
		if tls.Mode() != c.mode || tls.Path != c.path || tls.Ref().Line == 0 {
			t.Errorf("port %d subset %q: %q at %s (line %d), want %q at %s: %s", c.port, c.subset, tls.Mode(), tls.Path, tls.Ref().Line, c.mode, c.path, tls.Reason)
		}
	}
	// The EDS checker reads the same rule differently: a port-level entry
	// without tls keeps the top-level mode (mtls_checker.go trafficPolicyTLSModeForPort).
	if mode, _ := m.endpointTLSMode(9080, ""); mode == nil || mode.String() != "ISTIO_MUTUAL" {
		t.Errorf("eds mode %v", mode)
	}
}

// meshConfig.defaultDestinationRuleExportTo: ["."] makes rules without
// exportTo private (setDestinationRules: "We only honor . and *").
func TestDestinationRuleMeshDefaultExportTo(t *testing.T) {
	drs := `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultDestinationRuleExportTo: ["."]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: in-shop, namespace: shop}
spec: {host: reviews, trafficPolicy: {tls: {mode: DISABLE}}}
`
	if d := secDR(t, drs, "client/c"); d.Rule != nil {
		t.Errorf("private by default: %s", secDump(d.Decision))
	}
	if d := secDR(t, drs, "shop/reviews-v1"); secDRNames(d) != "shop/in-shop" {
		t.Errorf("own namespace: %s", secDump(d.Decision))
	}
}

// mergeDestinationRule with ENABLE_ENHANCED_DESTINATIONRULE_MERGE: a
// selector-less rule with exportTo ["."] has the same exportTo as a
// workloadSelector rule (forced to "."), so it is merged INTO the selector
// entry and not kept as its own entry; proxies the selector does not pick get
// no rule at all. (destination_rule.go: Equals sets appendSeparately=false,
// and neither selector branch resets it.)
func TestDestinationRuleSelectorAbsorbsPrivateRule(t *testing.T) {
	drs := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a-for-c, namespace: client}
spec:
  host: reviews.shop.svc.cluster.local
  workloadSelector: {matchLabels: {app: c}}
  trafficPolicy: {tls: {mode: DISABLE}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: b-private, namespace: client}
spec:
  host: reviews.shop.svc.cluster.local
  exportTo: ["."]
  trafficPolicy: {tls: {mode: SIMPLE}}
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: client}
spec:
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: c, image: c}]}
`
	d := secDR(t, drs, "client/c")
	if secDRNames(d) != "client/a-for-c + client/b-private" || d.Rule.TLS(9080, "").Mode() != "DISABLE" || len(d.Rule.Subsets) != 1 {
		t.Errorf("selected: %s", secDump(d.Decision))
	}
	if d := secDR(t, drs, "client/other"); d.Rule != nil {
		t.Errorf("not selected: %s", secDump(d.Decision))
	}
	// With no exportTo the selector-less rule is not merged (exportTo differs)
	// and stays the catch-all.
	d = secDR(t, strings.Replace(drs, `  exportTo: ["."]`+"\n", "", 1), "client/other")
	if secDRNames(d) != "client/b-private" {
		t.Errorf("catch-all: %s", secDump(d.Decision))
	}
}

// Istio's own TestSetDestinationRuleWithWorkloadSelector
// (pilot/pkg/model/push_context_test.go): selector rules are processed first;
// the two with the same selector merge; the selector-less rule, whose exportTo
// [".", test2] is a superset of the selector rules' forced ".", is merged into
// each of them and also kept as its own entry; only it is exported to test2.
func TestDestinationRuleIstioWorkloadSelectorCase(t *testing.T) {
	rule := func(name, ts, sel, export string) string {
		s := "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: " + name + ", namespace: test, creationTimestamp: \"" + ts + "\"}\nspec:\n  host: httpbin.org\n"
		if sel != "" {
			s += "  workloadSelector: {matchLabels: {app: " + sel + "}}\n"
		}
		if export != "" {
			s += "  exportTo: " + export + "\n"
		}
		return s + "  trafficPolicy: {tls: {mode: SIMPLE}}\n"
	}
	e := secEngine(t, "istio.yaml", rule("nsRule1", "2024-01-01T00:00:10Z", "app1", `[test2, "."]`)+"---\n"+
		rule("nsRule2", "2024-01-01T00:00:11Z", "app2", `[test2, "."]`)+"---\n"+
		rule("nsRule3", "2024-01-01T00:00:11Z", "app2", `[test2, "."]`)+"---\n"+
		rule("nsRule4", "2024-01-01T00:00:09Z", "", `[".", test2]`))
	idx := e.drIndex()
	var got []string
	for _, m := range idx.nsLocal["test"].specific["httpbin.org"] {
		got = append(got, m.Name())
	}
	want := []string{"test/nsRule1 + test/nsRule4", "test/nsRule2 + test/nsRule3 + test/nsRule4", "test/nsRule4"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("namespaceLocal: %q, want %q", got, want)
	}
	var exported []string
	for _, m := range idx.exported["test"].specific["httpbin.org"] {
		exported = append(exported, m.Name())
	}
	if strings.Join(exported, "; ") != "test/nsRule4" {
		t.Errorf("exported: %q", exported)
	}
}
