package resolve

import (
	"reflect"
	"testing"
)

// AuthorizationPolicies lists exactly the policies Authorize evaluates (root
// namespace and the workload's namespace, selector a subset of the pod
// labels), in evaluation order, plus the dry-run and AUDIT ones it skips.
func TestAuthorizationPoliciesSelection(t *testing.T) {
	e := azEngine(t, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-deny, namespace: istio-system}
spec: {action: DENY, rules: [{to: [{operation: {paths: ["/admin"]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-allow, namespace: shop}
spec: {selector: {matchLabels: {app: api}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: other-allow, namespace: shop}
spec: {selector: {matchLabels: {app: other}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: pay-allow, namespace: pay}
spec: {rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: dry, namespace: shop, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: shop}
spec: {action: AUDIT, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: by-ref, namespace: shop}
spec: {targetRef: {kind: Service, group: "", name: api}, rules: [{}]}
`)
	api := e.X.Workload("shop", "api", "")
	pols, note := e.AuthorizationPolicies(api)
	var got []string
	for _, p := range pols {
		s := p.Action + " " + p.Policy.Namespace + "/" + p.Policy.Name
		if !p.Enforced {
			s += " (not enforced)"
		}
		if len(p.By) == 0 || p.By[0].Line == 0 {
			t.Errorf("%s: no line for the deciding field: %+v", s, p.By)
		}
		got = append(got, s)
	}
	want := []string{"DENY istio-system/mesh-deny", "DENY shop/dry (not enforced)", "ALLOW shop/api-allow", "AUDIT shop/audit (not enforced)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("policies of shop/api:\n got %q\nwant %q", got, want)
	}
	if note.Reason == "" || len(note.By) == 0 {
		t.Errorf("the ignored targetRef policy is not noted: %+v", note)
	}

	// The enforced ones are what Authorize evaluates.
	set := e.azPolicies(api)
	var evaluated []string
	for _, p := range append(append(set.custom[:len(set.custom):len(set.custom)], set.deny...), set.allow...) {
		evaluated = append(evaluated, p.Namespace+"/"+p.Name)
	}
	var enforced []string
	for _, p := range pols {
		if p.Enforced {
			enforced = append(enforced, p.Policy.Namespace+"/"+p.Policy.Name)
		}
	}
	if !reflect.DeepEqual(enforced, evaluated) {
		t.Errorf("enforced %q, Authorize evaluates %q", enforced, evaluated)
	}
}

// RoutesTo finds http, tcp and delegated routes whose destination resolves to
// the service, short names resolving in the namespace the route is written in.
func TestRoutesTo(t *testing.T) {
	e := routingEngine(t, "routes.yaml", `
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, ports: [{name: http, port: 80}, {name: tcp-db, port: 5432}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: front, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [public]
  http:
  - route: [{destination: {host: cart, port: {number: 80}}, weight: 90}, {destination: {host: cart.web.svc.cluster.local}, weight: 10}]
  - delegate: {name: cart-routes}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart-routes, namespace: shop}
spec:
  http:
  - route: [{destination: {host: cart.shop.svc.cluster.local, subset: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: elsewhere, namespace: web}
spec:
  hosts: [cart.shop.svc.cluster.local]
  tcp:
  - route: [{destination: {host: cart.shop.svc.cluster.local, port: {number: 5432}}}]
  http:
  - route: [{destination: {host: cart}}]
`)
	svc := e.X.Service("shop", "cart")
	var got []string
	for _, r := range e.RoutesTo(svc) {
		s := r.VirtualService.Namespace + "/" + r.VirtualService.Name + " " + r.Kind + " " + r.Route
		if r.Delegate != nil {
			s += " via " + r.Delegate.Name
		}
		if r.Subset != "" {
			s += " subset " + r.Subset
		}
		got = append(got, s)
		if len(r.By) == 0 || r.By[0].Line == 0 {
			t.Errorf("%s: no line: %+v", s, r.By)
		}
	}
	// Creation order (by name without timestamps); web/elsewhere's http route
	// names "cart", which is cart.web there; the delegate's route path is in
	// the delegate.
	want := []string{
		"web/elsewhere tcp spec.tcp[0].route[0]",
		"shop/front http spec.http[0].route[0]",
		"shop/front http spec.http[0].route[0] via cart-routes subset v2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RoutesTo(shop/cart):\n got %q\nwant %q", got, want)
	}
}

// GatewayServers lists the servers of the Gateways that select the gateway,
// with the implicit gateway's Service ports mapped to its pod ports.
func TestGatewayServers(t *testing.T) {
	e := routingEngine(t, "gw.yaml", `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}
  - {port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: SIMPLE, credentialName: c}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress, namespace: shop}
spec:
  selector: {istio: egressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}
`)
	gw := e.X.Workload("istio-system", "istio-ingressgateway", "")
	got := e.GatewayServers(gw)
	if len(got) != 2 {
		t.Fatalf("GatewayServers = %+v, want the 2 servers of shop/public", got)
	}
	if got[0].Gateway.Name != "public" || got[0].Port != 80 || got[0].ListenPort != 8080 || got[1].ListenPort != 8443 || got[1].TLSMode != "SIMPLE" {
		t.Errorf("servers = %+v %+v", got[0], got[1])
	}
	if len(got[0].Assumptions) == 0 {
		t.Errorf("the implicit gateway's assumptions are missing: %+v", got[0].Decision)
	}
	if s := e.GatewayServers(e.X.Workload("shop", "nope", "")); s != nil {
		t.Errorf("GatewayServers(nil) = %+v", s)
	}
}
