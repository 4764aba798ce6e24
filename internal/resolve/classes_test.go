package resolve

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// AnyRequest: an ALLOW rule limited to some paths allows "some request", a
// DENY rule limited to some paths does not deny every request, and identity
// conditions are still evaluated exactly (authorization_policy.proto: a rule
// matches when all its fields match; meshdoctor cannot know the request).
func TestAuthorizeAnyRequest(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-paths, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/default"]}}]
    to: [{operation: {paths: ["/api/*"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin"]}}]
`)
	api := routingWorkload(t, e, "shop", "api")
	any := func(p string) AuthzRequest {
		r := azHTTP(p, "", "")
		r.AnyRequest = true
		return r
	}
	if d := e.Authorize(api, azHTTP(azPrincipal("shop", "default"), "GET", "/")); d.Allowed {
		t.Errorf("GET / is outside /api/*: %+v", d)
	}
	d := e.Authorize(api, any(azPrincipal("shop", "default")))
	if !d.Allowed || d.Policy == nil || d.Policy.Name != "api-paths" {
		t.Fatalf("any request of the named principal: %+v", d)
	}
	if !strings.Contains(strings.Join(d.Assumptions, "\n"), "paths") {
		t.Errorf("the assumption must name the unknown field: %q", d.Assumptions)
	}
	if d := e.Authorize(api, any(azPrincipal("pay", "default"))); d.Allowed {
		t.Errorf("another principal matches no rule whatever the request: %+v", d)
	}
}

func TestOutboundClass(t *testing.T) {
	e := routingEngine(t, "classes.yaml", azWorkloads+`
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api-only, namespace: shop}
spec:
  host: billing.pay.svc.cluster.local
  workloadSelector: {matchLabels: {app: api}}
  trafficPolicy: {tls: {mode: DISABLE}}
`)
	api, other, billing := routingWorkload(t, e, "shop", "api"), routingWorkload(t, e, "shop", "other"), routingWorkload(t, e, "pay", "billing")
	if a, o := e.OutboundClass(api), e.OutboundClass(other); a == o {
		t.Errorf("a workloadSelector DestinationRule selects api and not other, yet both are class %q", a)
	}
	if !strings.HasPrefix(e.OutboundClass(api), ProxySidecar) || !strings.HasPrefix(e.OutboundClass(billing), ProxyNone) {
		t.Errorf("proxy kinds: %q %q", e.OutboundClass(api), e.OutboundClass(billing))
	}
}

// HostViews: the root namespace, the service's own, namespaces owning a
// DestinationRule/VirtualService/ServiceEntry for the host (exact, short or
// wildcard) and namespaces such objects are exported to by name.
func TestHostViews(t *testing.T) {
	e := routingEngine(t, "views.yaml", `
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: billing, namespace: pay, annotations: {networking.istio.io/exportTo: "., audit"}}
spec: {selector: {app: billing}, ports: [{port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: short, namespace: shop}
spec: {host: api}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: wild, namespace: ops}
spec: {host: "*.pay.svc.cluster.local", exportTo: [".", "finance"]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: web}
spec: {hosts: [api.shop.svc.cluster.local], http: [{route: [{destination: {host: api.shop.svc.cluster.local}}]}]}
`)
	api, billing := e.X.Service("shop", "api"), e.X.Service("pay", "billing")
	if got, want := e.HostViews(api), []string{"istio-system", "shop", "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("api: %v, want %v", got, want)
	}
	if got, want := e.HostViews(billing), []string{"audit", "finance", "istio-system", "ops", "pay"}; !reflect.DeepEqual(got, want) {
		t.Errorf("billing: %v, want %v", got, want)
	}
}

func TestAuthzIdentityTerms(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/pay/sa/billing"], notNamespaces: ["dev"]}}]
  - from: [{source: {serviceAccounts: ["worker"]}}]
    when: [{key: source.namespace, values: ["ops"]}]
`)
	terms := e.AuthzIdentityTerms(routingWorkload(t, e, "shop", "api"))
	var got []string
	for _, t := range terms {
		got = append(got, t.Kind+"="+t.Value)
	}
	want := []string{"principal=cluster.local/ns/pay/sa/billing", "namespace=dev", "serviceAccount=worker", "namespace=ops"}
	if !reflect.DeepEqual(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("terms %v, want %v", got, want)
	}
	if len(e.AuthzIdentityTerms(routingWorkload(t, e, "shop", "other"))) != 0 {
		t.Errorf("no policy selects other")
	}
}
