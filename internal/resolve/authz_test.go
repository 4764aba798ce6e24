package resolve

import (
	"strings"
	"testing"
)

// azPrincipal computes a workload's principal the way Istio does
// (cluster.local/ns/<ns>/sa/<sa>), inline so the test does not depend on
// Identity.
func azPrincipal(ns, sa string) string { return "cluster.local/ns/" + ns + "/sa/" + sa }

const azWorkloads = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      serviceAccountName: api
      containers: [{name: api, image: api, ports: [{containerPort: 8080}, {containerPort: 5432}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: shop}
spec:
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers: [{name: o, image: o}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: billing, namespace: pay}
spec:
  selector: {matchLabels: {app: billing}}
  template:
    metadata: {labels: {app: billing}}
    spec:
      containers: [{name: b, image: b}]
`

func azEngine(t *testing.T, policies string) *Engine {
	t.Helper()
	return routingEngine(t, "authz.yaml", azWorkloads+"---\n"+policies)
}

func azHTTP(principal, method, path string) AuthzRequest {
	ns := ""
	if principal != "" {
		ns = strings.Split(principal, "/")[2]
	}
	return AuthzRequest{Principal: principal, Namespace: ns, Port: 8080, Host: "api.shop.svc.cluster.local", Method: method, Path: path, HTTP: true}
}

// No policy: allowed, no action decided (authorization_policy.proto: "If
// there are no ALLOW policies for the workload, allow the request").
func TestAuthorizeNoPolicy(t *testing.T) {
	e := azEngine(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
	d := e.Authorize(routingWorkload(t, e, "shop", "api"), azHTTP("", "GET", "/"))
	if !d.Allowed || d.Action != "" || d.Policy != nil {
		t.Errorf("%+v", d)
	}
}

// The incident's "ALLOW only the gateway" policy: any other caller matches no
// ALLOW rule and is denied (authorization_policy.proto, ALLOW semantics), a
// service-to-service call included; the gateway itself is allowed over mTLS
// but not in plaintext, since principals and namespaces need a peer
// certificate (generator.go principalAuthenticated).
func TestAuthorizeAllowOnlyGateway(t *testing.T) {
	e := routingFixture(t, "incident.yaml", "")
	blog := routingWorkload(t, e, "titanium-prod", "prod-blog-service")
	gwP := azPrincipal("istio-system", "istio-ingressgateway-service-account")
	req := func(p string) AuthzRequest {
		r := azHTTP(p, "GET", "/blog/")
		r.Port = 8005
		return r
	}
	d := e.Authorize(blog, req(azPrincipal("titanium-prod", "api-gateway-sa")))
	if d.Allowed || d.Action != AuthzAllow || d.Policy == nil || d.Policy.Name != "ingress-to-services" || d.Rule != -1 {
		t.Fatalf("service-to-service: %+v", d)
	}
	if !strings.Contains(d.Reason, "spec.rules[0].from[0].source") || len(d.By) == 0 || d.By[0].Kind != "AuthorizationPolicy" || !strings.HasPrefix(d.By[0].Field, "spec.rules[0].from[0].source.") {
		t.Errorf("service-to-service refs: %s %+v", d.Reason, d.By)
	}
	d = e.Authorize(blog, req(gwP))
	if !d.Allowed || d.Action != AuthzAllow || d.Rule != 0 || d.By[0].Field != "spec.rules[0]" || d.By[0].Line == 0 {
		t.Errorf("gateway over mTLS: %+v", d)
	}
	d = e.Authorize(blog, req(""))
	if d.Allowed || !strings.Contains(d.Reason, "plaintext") {
		t.Errorf("gateway in plaintext: %+v", d)
	}
}

// Principals never match plaintext: a DENY on principals lets plaintext
// through, the documented `notPrincipals: ["*"]` DENY rejects it.
func TestAuthorizePrincipalsPlaintext(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-bad, namespace: shop}
spec:
  action: DENY
  rules: [{from: [{source: {principals: ["cluster.local/ns/bad/sa/*"]}}]}]
`)
	api := routingWorkload(t, e, "shop", "api")
	if d := e.Authorize(api, azHTTP("", "GET", "/")); !d.Allowed {
		t.Errorf("plaintext vs principal DENY: %+v", d)
	}
	if d := e.Authorize(api, azHTTP(azPrincipal("bad", "x"), "GET", "/")); d.Allowed || d.Action != AuthzDeny || d.Rule != 0 {
		t.Errorf("bad principal: %+v", d)
	}
	e = azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-mtls, namespace: shop}
spec:
  action: DENY
  rules: [{from: [{source: {notPrincipals: ["*"]}}]}]
`)
	api = routingWorkload(t, e, "shop", "api")
	if d := e.Authorize(api, azHTTP("", "GET", "/")); d.Allowed || d.Action != AuthzDeny {
		t.Errorf("notPrincipals * vs plaintext: %+v", d)
	}
	if d := e.Authorize(api, azHTTP(azPrincipal("x", "y"), "GET", "/")); !d.Allowed {
		t.Errorf("notPrincipals * vs mTLS: %+v", d)
	}
}

// HTTP-only fields on a TCP port (model.go rule.checkError): an ALLOW rule
// using one is skipped (less is allowed); in a DENY rule the condition is
// dropped (the rule widens).
func TestAuthorizeHTTPFieldsOnTCP(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-get, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  rules:
  - to: [{operation: {methods: [GET]}}]
`)
	api := routingWorkload(t, e, "shop", "api")
	tcp := AuthzRequest{Principal: azPrincipal("shop", "other"), Port: 5432}
	if d := e.Authorize(api, tcp); d.Allowed || !routingHasAssumption(d.Decision, "HTTP-only") {
		t.Errorf("ALLOW methods on TCP: %+v", d)
	}
	if d := e.Authorize(api, azHTTP(azPrincipal("shop", "other"), "GET", "/")); !d.Allowed {
		t.Errorf("ALLOW methods on HTTP: %+v", d)
	}
	e = azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-post, namespace: shop}
spec:
  action: DENY
  rules:
  - from: [{source: {namespaces: [pay]}}]
    to: [{operation: {methods: [POST]}}]
`)
	api = routingWorkload(t, e, "shop", "api")
	if d := e.Authorize(api, AuthzRequest{Principal: azPrincipal("pay", "billing"), Port: 5432}); d.Allowed || d.Action != AuthzDeny || !routingHasAssumption(d.Decision, "drops that condition") {
		t.Errorf("DENY methods on TCP from pay: %+v", d)
	}
	if d := e.Authorize(api, AuthzRequest{Principal: azPrincipal("shop", "other"), Port: 5432}); !d.Allowed {
		t.Errorf("DENY on TCP from shop: %+v", d)
	}
	if d := e.Authorize(api, azHTTP(azPrincipal("pay", "billing"), "GET", "/")); !d.Allowed {
		t.Errorf("DENY methods on HTTP GET: %+v", d)
	}
}

// Root-namespace policies apply mesh-wide (authorization.go
// ListAuthorizationPolicies looks in the root namespace and the workload's);
// `spec: {}` is allow-nothing (builder.go rbacPolicyMatchNever); a selector
// in the root namespace selects in every namespace; a policy of another
// namespace does not apply.
func TestAuthorizeRootNamespace(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: istio-system}
spec: {}
`)
	for _, w := range []string{"shop/api", "pay/billing"} {
		ns, name, _ := strings.Cut(w, "/")
		d := e.Authorize(routingWorkload(t, e, ns, name), azHTTP(azPrincipal("x", "y"), "GET", "/"))
		if d.Allowed || d.Action != AuthzAllow || !strings.Contains(d.Reason, "allow-nothing") || d.By[0].Field != "spec" {
			t.Errorf("%s: %+v", w, d)
		}
	}
	e = azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-billing, namespace: istio-system}
spec:
  selector: {matchLabels: {app: billing}}
  action: DENY
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: shop-only, namespace: shop}
spec: {}
`)
	if d := e.Authorize(routingWorkload(t, e, "pay", "billing"), azHTTP("", "GET", "/")); d.Allowed || d.Action != AuthzDeny || !strings.Contains(d.Reason, "empty rule") {
		t.Errorf("root selector DENY: %+v", d)
	}
	if d := e.Authorize(routingWorkload(t, e, "pay", "billing"), azHTTP("", "GET", "/")); d.Policy.Namespace != "istio-system" {
		t.Errorf("policy %v", d.Policy)
	}
	if d := e.Authorize(routingWorkload(t, e, "shop", "api"), azHTTP("", "GET", "/")); d.Allowed {
		t.Errorf("shop allow-nothing: %+v", d)
	}
	// A policy of namespace shop does not apply in pay; the root one does not select api.
	e = azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: shop-only, namespace: shop}
spec: {}
`)
	if d := e.Authorize(routingWorkload(t, e, "pay", "billing"), azHTTP("", "GET", "/")); !d.Allowed {
		t.Errorf("other namespace: %+v", d)
	}
}

// Selection details (policyattachment.go ShouldAttachPolicy): a selector
// must be a subset of the pod labels; targetRef is ignored for sidecars;
// dry-run policies are not enforced (builder.go isDryRun); AUDIT never
// decides; `rules: [{}]` allows everything.
func TestAuthorizeSelection(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: for-other, namespace: shop}
spec:
  selector: {matchLabels: {app: other}}
  rules: [{from: [{source: {namespaces: [nobody]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: targeted, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]
  action: DENY
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: dry
  namespace: shop
  annotations: {istio.io/dry-run: "true"}
spec:
  action: DENY
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: shop}
spec:
  action: AUDIT
  rules: [{}]
`)
	api := routingWorkload(t, e, "shop", "api")
	d := e.Authorize(api, azHTTP("", "GET", "/"))
	if !d.Allowed || d.Action != "" || !routingHasAssumption(d.Decision, "targetRef") || !routingHasAssumption(d.Decision, "dry-run") {
		t.Errorf("api: %+v", d)
	}
	if d := e.Authorize(routingWorkload(t, e, "shop", "other"), azHTTP("", "GET", "/")); d.Allowed || d.Policy.Name != "for-other" {
		t.Errorf("other: %+v", d)
	}
	e = azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: shop}
spec:
  rules: [{}]
`)
	if d := e.Authorize(routingWorkload(t, e, "shop", "api"), azHTTP("", "GET", "/")); !d.Allowed || d.Action != AuthzAllow {
		t.Errorf("allow-all: %+v", d)
	}
}

// CUSTOM goes first to an external provider whose answer meshdoctor cannot
// know: assumed allow, said so; several providers on one workload become
// deny rules without PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS.
func TestAuthorizeCustom(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: shop}
spec:
  action: CUSTOM
  provider: {name: opa}
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
`)
	api := routingWorkload(t, e, "shop", "api")
	d := e.Authorize(api, azHTTP("", "GET", "/admin/x"))
	if !d.Allowed || !routingHasAssumption(d.Decision, "ext_authz provider \"opa\"") || len(d.By) == 0 {
		t.Errorf("custom match: %+v", d)
	}
	if d := e.Authorize(api, azHTTP("", "GET", "/public")); !d.Allowed || routingHasAssumption(d.Decision, "ext_authz provider") {
		t.Errorf("custom no match: %+v", d)
	}
	e = azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: shop}
spec:
  action: CUSTOM
  provider: {name: opa}
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext2, namespace: shop}
spec:
  action: CUSTOM
  provider: {name: oauth}
  rules: [{}]
`)
	if d := e.Authorize(routingWorkload(t, e, "shop", "api"), azHTTP("", "GET", "/admin/x")); d.Allowed || d.Action != AuthzCustom {
		t.Errorf("two providers: %+v", d)
	}
}

// Rule semantics (authorization_policy.proto, generator.go): values are exact,
// prefix "x*", suffix "*x" or presence "*"; hosts are case-insensitive; paths
// are matched without the query (and path templates {*}/{**}); namespaces and
// serviceAccounts are matched on the peer identity; a rule matches when one
// source, one operation and every condition match.
func TestAuthorizeRuleSemantics(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: rules, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {namespaces: ["team-*"]}}]
    to: [{operation: {paths: ["/public*"], notMethods: [DELETE]}}]
  - from: [{source: {serviceAccounts: [shop/frontend]}}]
    to: [{operation: {hosts: ["*.SHOP.svc.cluster.local"], paths: ["/api/{*}/items/{**}"]}}]
  - to: [{operation: {ports: ["9000"]}}]
  - when:
    - key: request.headers[x-token]
      values: ["*"]
    - key: source.namespace
      notValues: [banned]
  - from: [{source: {principals: ["*/sa/robot"]}}]
`)
	api := routingWorkload(t, e, "shop", "api")
	withH := func(r AuthzRequest, k, v string) AuthzRequest { r.Headers = map[string]string{k: v}; return r }
	cases := []struct {
		name string
		req  AuthzRequest
		rule int // -1: denied
	}{
		{"namespace prefix + path prefix", azHTTP(azPrincipal("team-a", "x"), "GET", "/public/x?y=1"), 0},
		{"notMethods", azHTTP(azPrincipal("team-a", "x"), "DELETE", "/public/x"), -1},
		{"namespace mismatch", azHTTP(azPrincipal("teamb", "x"), "GET", "/public"), -1},
		{"service account + host case + template", azHTTP(azPrincipal("shop", "frontend"), "GET", "/api/v1/items/a/b"), 1},
		{"template one segment", azHTTP(azPrincipal("shop", "frontend"), "GET", "/api/v1/x/items/a"), -1},
		{"service account name is exact", azHTTP(azPrincipal("shop", "frontend-x"), "GET", "/api/v1/items/a"), -1},
		{"port", func() AuthzRequest { r := azHTTP("", "GET", "/"); r.Port = 9000; return r }(), 2},
		{"header presence + notValues", withH(azHTTP(azPrincipal("shop", "x"), "GET", "/"), "X-Token", "abc"), 3},
		{"notValues source.namespace on plaintext matches", withH(azHTTP("", "GET", "/"), "x-token", "abc"), 3},
		{"banned namespace", withH(azHTTP(azPrincipal("banned", "x"), "GET", "/"), "x-token", "abc"), -1},
		{"principal suffix", azHTTP("cluster.local/ns/ops/sa/robot", "GET", "/"), 4},
	}
	for _, c := range cases {
		d := e.Authorize(api, c.req)
		if (c.rule < 0 && d.Allowed) || (c.rule >= 0 && (!d.Allowed || d.Rule != c.rule)) {
			t.Errorf("%s: allowed %v rule %d: %s", c.name, d.Allowed, d.Rule, d.Reason)
		}
	}
}

// `when` keys meshdoctor cannot evaluate (remote.ip, destination.ip, SNI,
// unknown source IP) are assumptions: an ALLOW rule is assumed to match, a
// DENY rule not to; an unknown key makes Istio skip the rule (model.go New).
func TestAuthorizeUnknownConditions(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-office, namespace: shop}
spec:
  rules:
  - when: [{key: remote.ip, values: [203.0.113.0/24]}]
  - when: [{key: no.such.key, values: [x]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-ip, namespace: shop}
spec:
  action: DENY
  rules:
  - from: [{source: {ipBlocks: [10.1.0.0/16]}}]
`)
	api := routingWorkload(t, e, "shop", "api")
	d := e.Authorize(api, azHTTP("", "GET", "/"))
	if !d.Allowed || d.Rule != 0 || !routingHasAssumption(d.Decision, "assumed to match") || !routingHasAssumption(d.Decision, "assumed not to match") {
		t.Errorf("unknowns: %+v", d)
	}
	r := azHTTP("", "GET", "/")
	r.SourceIP = "10.1.2.3"
	if d := e.Authorize(api, r); d.Allowed || d.Action != AuthzDeny {
		t.Errorf("known source IP: %+v", d)
	}
	e = azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: bad, namespace: shop}
spec:
  rules:
  - when: [{key: no.such.key, values: [x]}]
`)
	if d := e.Authorize(routingWorkload(t, e, "shop", "api"), azHTTP("", "GET", "/")); d.Allowed || !routingHasAssumption(d.Decision, "unknown attribute") {
		t.Errorf("unknown key: %+v", d)
	}
}

// A principal written with trust domain cluster.local stands for the mesh's
// trust domain (trustdomain/bundle.go ReplaceTrustDomainAliases).
func TestAuthorizeTrustDomain(t *testing.T) {
	e := azEngine(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    trustDomain: example.org
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: shop}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend"]}}]}]
`)
	api := routingWorkload(t, e, "shop", "api")
	if d := e.Authorize(api, azHTTP("example.org/ns/shop/sa/frontend", "GET", "/")); !d.Allowed {
		t.Errorf("alias: %+v", d)
	}
	if d := e.Authorize(api, azHTTP("other.org/ns/shop/sa/frontend", "GET", "/")); d.Allowed {
		t.Errorf("foreign trust domain: %+v", d)
	}
}

// The fast paths of namespace matching agree with Istio's regex
// ".*/ns/<glob>/.*" (generator.go srcNamespaceGenerator).
func TestAuthorizeNamespaceGlob(t *testing.T) {
	e := azEngine(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
	for _, v := range []string{"shop", "sh*", "*op", "s*p", "*", "ns", "ns*", "shop/sa"} {
		for _, p := range []string{"cluster.local/ns/shop/sa/a", "cluster.local/ns/ns/sa/shop", "td/ns/nsx/sa/ns", "cluster.local/ns/other/sa/x"} {
			ev := &azEval{e: e, req: AuthzRequest{Principal: p}}
			got := ev.matchNamespace(v) == azYes
			want := azRegexFull(".*/ns/"+azGlobRegex(v)+"/.*", "spiffe://"+p)
			if got != want {
				t.Errorf("namespace %q vs %q: %v, regex says %v", v, p, got, want)
			}
		}
	}
}

// A Kubernetes Gateway API gateway pod (label
// gateway.networking.k8s.io/gateway-name) takes policies whose targetRef
// names its Gateway in its namespace (policyattachment.go
// ShouldAttachPolicy), and selector policies too.
func TestAuthorizeGatewayAPITargetRef(t *testing.T) {
	e := routingEngine(t, "gwapi.yaml", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-gw-istio, namespace: edge}
spec:
  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: web-gw}}
  template:
    metadata: {labels: {gateway.networking.k8s.io/gateway-name: web-gw}}
    spec:
      containers: [{name: istio-proxy, image: proxyv2, ports: [{containerPort: 80}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: edge}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: web-gw}]
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: other-gw, namespace: edge}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: other}]
  action: DENY
  rules: [{}]
`)
	gw := routingWorkload(t, e, "edge", "web-gw-istio")
	if d := e.Authorize(gw, AuthzRequest{Port: 80, Path: "/admin/x", Method: "GET", HTTP: true}); d.Allowed || d.Policy.Name != "deny-admin" {
		t.Errorf("targetRef: %+v", d)
	}
	if d := e.Authorize(gw, AuthzRequest{Port: 80, Path: "/", Method: "GET", HTTP: true}); !d.Allowed {
		t.Errorf("other gateway's policy applied: %+v", d)
	}
}
