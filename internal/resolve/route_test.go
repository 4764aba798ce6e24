package resolve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// routingEngine builds an engine over a small YAML mesh.
func routingEngine(t *testing.T, name, data string) *Engine {
	t.Helper()
	var res load.Result
	load.Decode(name, []byte(data), &res)
	if len(res.Errors) > 0 {
		t.Fatalf("%s: %v", name, res.Errors)
	}
	return New(mesh.Build(res.Objects, mesh.Options{}))
}

// routingFixture builds an engine over testdata/routing/<file> plus extra
// documents.
func routingFixture(t *testing.T, file, extra string) *Engine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "routing", file))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if extra != "" {
		s += "\n---\n" + extra
	}
	return routingEngine(t, file, s)
}

func routingWorkload(t *testing.T, e *Engine, ns, name string) *mesh.Workload {
	t.Helper()
	w := e.X.Workload(ns, name, "")
	if w == nil {
		t.Fatalf("no workload %s/%s", ns, name)
	}
	return w
}

func routingHasAssumption(d Decision, sub string) bool {
	for _, a := range d.Assumptions {
		if strings.Contains(a, sub) {
			return true
		}
	}
	return false
}

const routingBase = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: shop}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client, version: v1}}
    spec:
      containers: [{name: c, image: c}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews, version: v1}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec:
      containers: [{name: r, image: r, ports: [{name: http, containerPort: 9080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v2, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews, version: v2}}
  template:
    metadata: {labels: {app: reviews, version: v2}}
    spec:
      containers: [{name: r, image: r, ports: [{name: http, containerPort: 9080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  clusterIP: 10.0.0.12
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec:
  selector: {app: db}
  ports: [{name: tcp-pg, port: 5432}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: shop}
spec:
  hosts: [api.example.com, "*.wild.example.com"]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS
`

// Host names resolve through the pod's DNS search path
// (<ns>.svc.cluster.local, svc.cluster.local, cluster.local): a short name
// only in the caller's namespace; Istio's sidecar virtual-host domains are the
// same names (httproute.go generateVirtualHostDomains).
func TestResolveHost(t *testing.T) {
	e := routingEngine(t, "base.yaml", routingBase)
	cases := []struct {
		from, host string
		svc        string // "" for none
		fqdn       string
	}{
		{"shop", "reviews", "shop/reviews", "reviews.shop.svc.cluster.local"},
		{"shop", "reviews:9080", "shop/reviews", "reviews.shop.svc.cluster.local"},
		{"other", "reviews", "", "reviews"},
		{"other", "reviews.shop", "shop/reviews", "reviews.shop.svc.cluster.local"},
		{"other", "reviews.shop.svc", "shop/reviews", "reviews.shop.svc.cluster.local"},
		{"other", "reviews.shop.svc.cluster.local", "shop/reviews", "reviews.shop.svc.cluster.local"},
		{"other", "Reviews.Shop.svc.cluster.local.", "shop/reviews", "reviews.shop.svc.cluster.local"},
		{"other", "10.0.0.12", "shop/reviews", "reviews.shop.svc.cluster.local"},
		{"shop", "api.example.com", "", "api.example.com"},
		{"shop", "x.wild.example.com", "", "x.wild.example.com"},
		{"shop", "nowhere.example.org", "", "nowhere.example.org"},
	}
	for _, c := range cases {
		svc, fqdn, d := e.ResolveHost(c.from, c.host)
		got := ""
		if svc != nil {
			got = svc.Key()
		}
		if got != c.svc || fqdn != c.fqdn {
			t.Errorf("ResolveHost(%s, %s) = %q, %q; want %q, %q (%s)", c.from, c.host, got, fqdn, c.svc, c.fqdn, d.Reason)
		}
		if d.Reason == "" {
			t.Errorf("ResolveHost(%s, %s): no reason", c.from, c.host)
		}
	}
	// ServiceEntry hosts are ServiceEntry hosts, with a ref to the SE.
	_, _, d := e.ResolveHost("shop", "api.example.com")
	if len(d.By) == 0 || d.By[0].Kind != "ServiceEntry" {
		t.Errorf("SE host: refs %v", d.By)
	}
}

// The incident: an external client calls https://34.64.171.141:30444/blog/
// through the default ingress gateway. Without the gateway's Service in the
// input the port is matched by scheme (https -> the HTTPS server); the
// Gateway in titanium-prod applies to the gateway pods in istio-system
// (PILOT_SCOPE_GATEWAY_TO_NAMESPACE off, push_context.go mergeGateways); its
// `hosts: ["*"]` accepts an IP; the VirtualService bound to it routes /blog/
// to prod-blog-service:8005 (gateway.go buildGatewayHTTPRouteConfig).
func TestGatewayIncidentBlog(t *testing.T) {
	e := routingFixture(t, "incident.yaml", "")
	gw := routingWorkload(t, e, "istio-system", "istio-ingressgateway")
	d := e.RouteFromGateway(gw, Request{Scheme: "https", Host: "34.64.171.141", Port: 30444, Path: "/blog/"})
	if !d.Matched {
		t.Fatalf("not matched: %s %s", d.NoRouteReason, d.Reason)
	}
	if d.Gateway == nil || d.Gateway.Name != "titanium-gateway" || d.Server != 1 {
		t.Errorf("gateway %v server %d, want titanium-gateway server 1", d.Gateway, d.Server)
	}
	if d.VirtualService == nil || d.VirtualService.Name != "titanium-vs" || d.HTTPRoute != 0 || d.HTTPMatch != 0 {
		t.Errorf("vs %v route %d match %d", d.VirtualService, d.HTTPRoute, d.HTTPMatch)
	}
	if len(d.Destinations) != 1 || d.Destinations[0].Host != "prod-blog-service.titanium-prod.svc.cluster.local" || d.Destinations[0].Port != 8005 || d.Destinations[0].Weight != 100 {
		t.Errorf("destinations %+v", d.Destinations)
	}
	if d.Service == nil || d.Service.Key() != "titanium-prod/prod-blog-service" || !d.HTTP || d.ListenPort != 8443 {
		t.Errorf("service %v http %v listen %d", d.Service, d.HTTP, d.ListenPort)
	}
	if !routingHasAssumption(d.Decision, "by scheme") || !routingHasAssumption(d.Decision, "PILOT_SCOPE_GATEWAY_TO_NAMESPACE") || !routingHasAssumption(d.Decision, "titanium-tls") {
		t.Errorf("assumptions %q", d.Assumptions)
	}
	if len(d.By) == 0 || d.By[0].Kind != "VirtualService" || d.By[0].Field != "spec.http[0].match[0]" || d.By[0].Line == 0 {
		t.Errorf("refs %+v", d.By)
	}

	// Port 80 of the implicit gateway is its target port 8080 (Istio's
	// gateways/istio-ingress chart), served by the HTTP server.
	d = e.RouteFromGateway(gw, Request{Scheme: "http", Host: "blog.example.com", Port: 80, Path: "/api/users"})
	if !d.Matched || d.Server != 0 || d.HTTPRoute != 1 || d.ListenPort != 8080 || d.Service.Name != "api-gateway" {
		t.Errorf("http /api/: matched %v server %d route %d listen %d: %s", d.Matched, d.Server, d.HTTPRoute, d.ListenPort, d.Reason)
	}

	// No route for /other: 404 NR.
	d = e.RouteFromGateway(gw, Request{Scheme: "http", Host: "blog.example.com", Port: 80, Path: "/other"})
	if d.Matched || d.NoRouteReason != NoRouteNoMatch || d.Status != 404 {
		t.Errorf("/other: %v %s %d %s", d.Matched, d.NoRouteReason, d.Status, d.Reason)
	}
	// Prefix /blog/ does not match /blog (no trailing slash).
	d = e.RouteFromGateway(gw, Request{Scheme: "http", Port: 80, Host: "x", Path: "/blog"})
	if d.Matched {
		t.Errorf("/blog matched prefix /blog/")
	}
	// TLS to the plaintext port fails.
	d = e.RouteFromGateway(gw, Request{Scheme: "https", Port: 80, Host: "x", Path: "/blog/"})
	if d.Matched || d.NoRouteReason != NoRouteNoServer {
		t.Errorf("https to port 80: %v %s", d.Matched, d.Reason)
	}
}

// With the gateway's Service in the input, the request port maps through its
// port or nodePort to the targetPort, and a Gateway server port is the
// Service port translated to its targetPort (model/gateway.go resolvePorts).
func TestGatewayServicePorts(t *testing.T) {
	e := routingFixture(t, "incident.yaml", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata: {labels: {istio: ingressgateway, app: istio-ingressgateway}}
    spec:
      serviceAccountName: istio-ingressgateway-service-account
      containers:
      - name: istio-proxy
        image: proxyv2
        ports: [{containerPort: 8080}, {containerPort: 8443}]
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  type: NodePort
  selector: {istio: ingressgateway}
  ports:
  - {name: http2, port: 80, targetPort: 8080, nodePort: 30080}
  - {name: https, port: 443, targetPort: 8443, nodePort: 30444}
`)
	gw := routingWorkload(t, e, "istio-system", "istio-ingressgateway")
	if gw.Implicit {
		t.Fatal("gateway is implicit")
	}
	for _, c := range []struct {
		scheme string
		port   int32
		server int
		listen int32
	}{
		{"https", 30444, 1, 8443}, {"https", 443, 1, 8443}, {"https", 8443, 1, 8443},
		{"http", 30080, 0, 8080}, {"http", 80, 0, 8080}, {"http", 0, 0, 8080},
	} {
		d := e.RouteFromGateway(gw, Request{Scheme: c.scheme, Host: "34.64.171.141", Port: c.port, Path: "/blog/x"})
		if !d.Matched || d.Server != c.server || d.ListenPort != c.listen {
			t.Errorf("%s:%d: matched %v server %d listen %d: %s", c.scheme, c.port, d.Matched, d.Server, d.ListenPort, d.Reason)
		}
	}
	// A port the gateway's Service does not have: nothing listens.
	d := e.RouteFromGateway(gw, Request{Scheme: "http", Host: "x", Port: 31999, Path: "/blog/"})
	if d.Matched || d.NoRouteReason != NoRouteNoServer {
		t.Errorf("unknown port: %v %s", d.Matched, d.Reason)
	}
}

const gatewayHostsMesh = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["app/*.example.com", "other/admin.internal"]
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: cert}
    hosts: ["app/shop.example.com"]
  - port: {number: 15443, name: tls, protocol: TLS}
    tls: {mode: PASSTHROUGH}
    hosts: ["*.secure.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: app}
spec:
  hosts: ["shop.example.com", "admin.internal", "*.wild.example.com"]
  gateways: [istio-system/gw]
  http:
  - match: [{uri: {exact: /health}}]
    directResponse: {status: 200}
  - route: [{destination: {host: web}}]
  tls:
  - match: [{port: 15443, sniHosts: [db.secure.example.com]}]
    route: [{destination: {host: web, port: {number: 80}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: secure, namespace: app}
spec:
  hosts: ["*.secure.example.com"]
  gateways: [istio-system/gw]
  tls:
  - match: [{port: 15443, sniHosts: [db.secure.example.com]}]
    route: [{destination: {host: web, port: {number: 80}}}]
`

// Gateway server hosts: "ns/host" only binds VirtualServices of that
// namespace (host.NamesForNamespace); the virtual host is the intersection
// of server and VirtualService hosts (Names.Intersection); Envoy picks the
// exact domain, then wildcards; a host no virtual host covers gets 404 NR.
func TestGatewayHosts(t *testing.T) {
	e := routingEngine(t, "hosts.yaml", gatewayHostsMesh)
	gw := routingWorkload(t, e, "istio-system", "istio-ingressgateway")
	cases := []struct {
		req     Request
		matched bool
		reason  string
		action  string
	}{
		{Request{Scheme: "http", Host: "shop.example.com", Port: 80, Path: "/"}, true, "", ActionRoute},
		{Request{Scheme: "http", Host: "shop.example.com:80", Port: 80, Path: "/health"}, true, "", ActionDirectResponse},
		{Request{Scheme: "http", Host: "a.wild.example.com", Port: 80, Path: "/"}, true, "", ActionRoute},
		// admin.internal is only accepted for VirtualServices of namespace "other".
		{Request{Scheme: "http", Host: "admin.internal", Port: 80, Path: "/"}, false, NoRouteNoVirtualHost, ""},
		{Request{Scheme: "http", Host: "34.64.171.141", Port: 80, Path: "/"}, false, NoRouteNoVirtualHost, ""},
		{Request{Scheme: "https", Host: "shop.example.com", Port: 443, Path: "/"}, true, "", ActionRoute},
		// An IP sends no SNI: the HTTPS server lists a specific host only.
		{Request{Scheme: "https", Host: "34.64.171.141", Port: 443, Path: "/"}, false, NoRouteNoServer, ""},
		{Request{Scheme: "https", Host: "db.secure.example.com", Port: 15443}, true, "", ActionRoute},
		{Request{Scheme: "https", Host: "www.secure.example.com", Port: 15443}, false, NoRouteNoMatch, ""},
	}
	for _, c := range cases {
		d := e.RouteFromGateway(gw, c.req)
		if d.Matched != c.matched || d.NoRouteReason != c.reason || (c.action != "" && d.Action != c.action) {
			t.Errorf("%s://%s:%d%s: matched %v %s action %s: %s", c.req.Scheme, c.req.Host, c.req.Port, c.req.Path, d.Matched, d.NoRouteReason, d.Action, d.Reason)
		}
	}
	d := e.RouteFromGateway(gw, Request{Scheme: "https", Host: "db.secure.example.com", Port: 15443})
	// VirtualService "secure" comes first (creation order, then name); "web"
	// has no host the passthrough server accepts (pickMatchingGatewayHosts).
	if d.HTTP || d.TLSRoute != 0 || d.VirtualService.Name != "secure" || d.Destinations[0].Port != 80 {
		t.Errorf("passthrough: %+v", d)
	}
}

// A VirtualService that names a Gateway that does not exist is bound to
// nothing: the gateway's route configuration for its Gateway has no virtual
// host and Envoy answers 404 NR (gateway.go: "no vhosts; Setting up a default
// 404 vhost"). With no Gateway selecting the pods at all, there is no listener.
func TestGatewayMissingBinding(t *testing.T) {
	const vs = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: app}
spec:
  hosts: ["*"]
  gateways: [missing-gw]
  http: [{route: [{destination: {host: web}}]}]
`
	e := routingEngine(t, "missing.yaml", vs)
	gw := routingWorkload(t, e, "istio-system", "istio-ingressgateway")
	d := e.RouteFromGateway(gw, Request{Scheme: "http", Host: "x", Port: 80, Path: "/"})
	if d.Matched || d.NoRouteReason != NoRouteNoGateway {
		t.Errorf("no gateway: %v %s %s", d.Matched, d.NoRouteReason, d.Reason)
	}
	e = routingEngine(t, "missing.yaml", vs+`
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`)
	d = e.RouteFromGateway(gw, Request{Scheme: "http", Host: "x", Port: 80, Path: "/"})
	if d.Matched || d.NoRouteReason != NoRouteNoVirtualHost || d.Status != 404 || !strings.Contains(d.Reason, "no VirtualService names this Gateway") {
		t.Errorf("VS bound to a missing gateway: %v %s %d %s", d.Matched, d.NoRouteReason, d.Status, d.Reason)
	}
	if d.Gateway == nil || d.Gateway.Name != "gw" {
		t.Errorf("gateway %v", d.Gateway)
	}
}

// VirtualService exportTo is checked against the gateway proxy's namespace
// (push_context.go VirtualServicesForGateway(proxy.ConfigNamespace, ...)): a
// VirtualService exported only to its own namespace is invisible to the
// ingress gateway in istio-system.
func TestGatewayVirtualServiceExportTo(t *testing.T) {
	e := routingFixture(t, "incident.yaml", "")
	gw := routingWorkload(t, e, "istio-system", "istio-ingressgateway")
	data, _ := os.ReadFile(filepath.Join("testdata", "routing", "incident.yaml"))
	private := strings.Replace(string(data), "  gateways: [titanium-gateway]\n", "  gateways: [titanium-gateway]\n  exportTo: [\".\"]\n", 1)
	e2 := routingEngine(t, "private.yaml", private)
	gw2 := routingWorkload(t, e2, "istio-system", "istio-ingressgateway")
	req := Request{Scheme: "http", Host: "x", Port: 80, Path: "/blog/"}
	if d := e.RouteFromGateway(gw, req); !d.Matched {
		t.Fatalf("public: %s", d.Reason)
	}
	if d := e2.RouteFromGateway(gw2, req); d.Matched || d.NoRouteReason != NoRouteNoVirtualHost {
		t.Errorf("exportTo .: %v %s", d.Matched, d.Reason)
	}
}

const sidecarMesh = routingBase + `
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers: {end-user: {exact: jason}}
      uri: {regex: "/api/v[0-9]+/.*"}
    route: [{destination: {host: reviews, subset: v2}}]
  - match:
    - method: {exact: POST}
      sourceLabels: {version: v1}
    route: [{destination: {host: reviews, subset: unknown-subset}}]
  - match:
    - uri: {prefix: /Admin}
      ignoreUriCase: true
    - authority: {prefix: reviews.shop}
      queryParams: {debug: {exact: "1"}}
    redirect: {uri: /login}
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 80
    - destination: {host: reviews, subset: v2}
      weight: 20
    - destination: {host: reviews, subset: v3}
      weight: 0
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-gw-only, namespace: shop}
spec:
  hosts: [reviews.shop.svc.cluster.local]
  gateways: [istio-system/gw]
  http: [{route: [{destination: {host: db.data.svc.cluster.local}}]}]
`

// Sidecar routing: the mesh VirtualService for the host (first matching http
// route: uri exact/prefix/regex (RE2, whole path), method, headers,
// authority, query params, sourceLabels; a route without match is the
// default), subsets returned as written (an unknown subset is the caller's
// 503 NC), weights (0 ignored: route.go applyHTTPRouteDestination); a
// VirtualService bound only to a gateway does not apply to sidecars.
func TestSidecarVirtualService(t *testing.T) {
	e := routingEngine(t, "sidecar.yaml", sidecarMesh)
	client := routingWorkload(t, e, "shop", "client")
	cases := []struct {
		name  string
		req   Request
		route int
		match int
		check func(d RouteDecision) bool
	}{
		{"header+regex", Request{Scheme: "http", Host: "reviews", Port: 9080, Path: "/api/v2/x", Headers: map[string]string{"End-User": "jason"}}, 0, 0,
			func(d RouteDecision) bool { return d.Destinations[0].Subset == "v2" }},
		{"regex is a whole-path match", Request{Scheme: "http", Host: "reviews", Port: 9080, Path: "/x/api/v2/x", Headers: map[string]string{"end-user": "jason"}}, 3, -1, nil},
		{"unknown subset returned as is", Request{Scheme: "http", Host: "reviews.shop", Port: 9080, Method: "POST"}, 1, 0,
			func(d RouteDecision) bool { return d.Destinations[0].Subset == "unknown-subset" && d.Service != nil }},
		{"ignoreUriCase", Request{Scheme: "http", Host: "reviews", Port: 9080, Path: "/admin/x"}, 2, 0,
			func(d RouteDecision) bool { return d.Action == ActionRedirect && d.Status == 301 }},
		{"authority+query", Request{Scheme: "http", Host: "reviews.shop.svc.cluster.local", Port: 9080, Path: "/x?debug=1"}, 2, 1, nil},
		{"weights", Request{Scheme: "http", Host: "reviews", Port: 9080, Path: "/"}, 3, -1,
			func(d RouteDecision) bool {
				return len(d.Destinations) == 2 && d.Destinations[0].Weight == 80 && d.Destinations[1].Subset == "v2" && d.Destinations[1].Weight == 20
			}},
	}
	for _, c := range cases {
		d := e.RouteFromSidecar(client, c.req)
		if !d.Matched || d.VirtualService == nil || d.VirtualService.Name != "reviews" || d.HTTPRoute != c.route || d.HTTPMatch != c.match {
			t.Errorf("%s: matched %v vs %v route %d match %d: %s", c.name, d.Matched, d.VirtualService, d.HTTPRoute, d.HTTPMatch, d.Reason)
			continue
		}
		if c.check != nil && !c.check(d) {
			t.Errorf("%s: %+v", c.name, d)
		}
	}
	// sourceLabels: a client without version=v1 skips route 1.
	other := routingEngine(t, "sidecar.yaml", strings.Replace(sidecarMesh, "labels: {app: client, version: v1}", "labels: {app: client, version: v9}", 1))
	d := other.RouteFromSidecar(routingWorkload(t, other, "shop", "client"), Request{Scheme: "http", Host: "reviews", Port: 9080, Method: "POST"})
	if d.HTTPRoute != 3 {
		t.Errorf("sourceLabels: route %d", d.HTTPRoute)
	}
}

// Without a mesh VirtualService the sidecar sends the request straight to the
// service (route.go buildSidecarVirtualHostForService); the VirtualService of
// another namespace exported nowhere, or bound to a gateway, does not apply.
func TestSidecarDefaultRoute(t *testing.T) {
	e := routingEngine(t, "base.yaml", routingBase+`
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: data}
spec:
  hosts: [db]
  exportTo: ["."]
  tcp: [{route: [{destination: {host: db, port: {number: 5432}}}]}]
`)
	client := routingWorkload(t, e, "shop", "client")
	d := e.RouteFromSidecar(client, Request{Scheme: "tcp", Host: "db.data", Port: 5432})
	if !d.Matched || d.VirtualService != nil || d.HTTPRoute != -1 || d.HTTP || d.Service == nil || d.Service.Name != "db" {
		t.Errorf("default tcp route: %+v", d)
	}
	d = e.RouteFromSidecar(client, Request{Scheme: "http", Host: "reviews", Path: "/"})
	if !d.Matched || d.ListenPort != 9080 || d.Destinations[0].Port != 9080 || !d.HTTP {
		t.Errorf("default http route: %+v", d)
	}
	d = e.RouteFromSidecar(client, Request{Scheme: "http", Host: "reviews", Port: 9999})
	if d.Matched || d.NoRouteReason != NoRouteNoServicePort {
		t.Errorf("missing port: %v %s", d.Matched, d.Reason)
	}
	// In namespace data the private VS applies (tcp route).
	dbc := routingEngine(t, "base.yaml", strings.Replace(routingBase, "metadata: {name: client, namespace: shop}", "metadata: {name: client, namespace: data}", 1)+`
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: data}
spec:
  hosts: [db]
  exportTo: ["."]
  tcp: [{route: [{destination: {host: db, port: {number: 5432}}}]}]
`)
	d = dbc.RouteFromSidecar(routingWorkload(t, dbc, "data", "client"), Request{Scheme: "tcp", Host: "db", Port: 5432})
	if !d.Matched || d.VirtualService == nil || d.TCPRoute != 0 {
		t.Errorf("private tcp VS: %+v", d)
	}
}

// A host outside the registry: under ALLOW_ANY the sidecar forwards it to
// PassthroughCluster; under REGISTRY_ONLY it answers 502 (BlackHoleCluster).
func TestSidecarUnknownHost(t *testing.T) {
	e := routingEngine(t, "base.yaml", routingBase)
	client := routingWorkload(t, e, "shop", "client")
	d := e.RouteFromSidecar(client, Request{Scheme: "http", Host: "www.google.com", Port: 80, Path: "/"})
	if d.Matched || !d.UnknownHost || d.Action != ActionPassthrough || !routingHasAssumption(d.Decision, "ALLOW_ANY") {
		t.Errorf("ALLOW_ANY: %+v", d)
	}
	e = routingEngine(t, "base.yaml", routingBase+`
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
`)
	client = routingWorkload(t, e, "shop", "client")
	d = e.RouteFromSidecar(client, Request{Scheme: "http", Host: "www.google.com", Port: 80, Path: "/"})
	if d.Matched || !d.UnknownHost || d.Action != ActionBlackhole || d.Status != 502 || len(d.By) == 0 || d.By[0].Kind != "ConfigMap" {
		t.Errorf("REGISTRY_ONLY: %+v", d)
	}
	// A ServiceEntry host is known.
	d = e.RouteFromSidecar(client, Request{Scheme: "https", Host: "api.example.com", Port: 443})
	if !d.Matched || d.ServiceEntry == nil || d.HTTP {
		t.Errorf("SE: %+v", d)
	}
}

// Delegate VirtualServices: a root route with `delegate` is replaced by the
// delegate's routes, each match merged with the root's
// (virtualservice.go MergeHTTPRoutes); a delegate match outside the root's
// prefix conflicts and is dropped; destination hosts resolve in the
// delegate's namespace.
func TestDelegateVirtualService(t *testing.T) {
	e := routingEngine(t, "delegate.yaml", `
apiVersion: v1
kind: Service
metadata: {name: books, namespace: team}
spec:
  selector: {app: books}
  ports: [{name: http, port: 80}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root, namespace: istio-system}
spec:
  hosts: ["shop.example.com"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /books}}]
    delegate: {name: books, namespace: team}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: books, namespace: team}
spec:
  http:
  - match: [{uri: {prefix: /other}}]
    route: [{destination: {host: books, subset: wrong}}]
  - match: [{uri: {prefix: /books/v2}}]
    route: [{destination: {host: books, subset: v2}}]
  - route: [{destination: {host: books}}]
`)
	gw := routingWorkload(t, e, "istio-system", "istio-ingressgateway")
	d := e.RouteFromGateway(gw, Request{Scheme: "http", Host: "shop.example.com", Port: 80, Path: "/books/v2/1"})
	if !d.Matched || d.Delegate == nil || d.Delegate.Name != "books" || d.Destinations[0].Subset != "v2" || d.Destinations[0].Host != "books.team.svc.cluster.local" || d.Service == nil {
		t.Errorf("delegate v2: %+v", d)
	}
	d = e.RouteFromGateway(gw, Request{Scheme: "http", Host: "shop.example.com", Port: 80, Path: "/books/1"})
	if !d.Matched || d.Destinations[0].Subset != "" || d.HTTPMatch != -1 {
		t.Errorf("delegate default: %+v", d)
	}
	d = e.RouteFromGateway(gw, Request{Scheme: "http", Host: "shop.example.com", Port: 80, Path: "/other"})
	if d.Matched {
		t.Errorf("conflicting delegate route used: %+v", d)
	}
}

// Destination hosts written "name.ns" are taken literally (config.go
// ResolveShortnameToFQDN only expands names without a dot), so they name no
// Service: Envoy has no cluster and answers 503 NC.
func TestDestinationHostWithDot(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join("testdata", "routing", "incident.yaml"))
	s := strings.Replace(string(data), "host: prod-blog-service\n", "host: prod-blog-service.titanium-prod\n", 1)
	e := routingEngine(t, "dot.yaml", s)
	gw := routingWorkload(t, e, "istio-system", "istio-ingressgateway")
	d := e.RouteFromGateway(gw, Request{Scheme: "http", Host: "x", Port: 80, Path: "/blog/"})
	if !d.Matched || !d.UnknownHost || d.Service != nil || !strings.Contains(d.Reason, "503 NC") {
		t.Errorf("%+v", d)
	}
}

// Indexes are built once: repeated routing does not rebuild them.
func TestRoutingStateCaches(t *testing.T) {
	e := routingFixture(t, "incident.yaml", "")
	gw := routingWorkload(t, e, "istio-system", "istio-ingressgateway")
	e.RouteFromGateway(gw, Request{Scheme: "http", Host: "x", Port: 80, Path: "/blog/"})
	ix, view := e.rt.vs, e.rt.gwViews[gw]
	e.RouteFromGateway(gw, Request{Scheme: "http", Host: "x", Port: 80, Path: "/api/"})
	if e.rt.vs != ix || e.rt.gwViews[gw] != view || ix == nil || view == nil {
		t.Error("indexes rebuilt")
	}
}

// routingGenMesh generates nsN namespaces of svcPerNS Services, each with a
// Deployment, a VirtualService for every tenth, and one ALLOW policy per
// namespace.
func routingGenMesh(nsN, svcPerNS int) string {
	var b strings.Builder
	for n := 0; n < nsN; n++ {
		for s := 0; s < svcPerNS; s++ {
			fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: w%d, namespace: ns%d}
spec:
  selector: {matchLabels: {app: w%d}}
  template:
    metadata: {labels: {app: w%d, version: v1}}
    spec:
      containers: [{name: c, image: c, args: ["--port", "8080"], ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: w%d, namespace: ns%d}
spec:
  selector: {app: w%d}
  ports: [{name: http, port: 80, targetPort: http}]
`, s, n, s, s, s, n, s)
			if s%10 == 0 {
				fmt.Fprintf(&b, `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: w%d, namespace: ns%d}
spec:
  hosts: [w%d]
  http:
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: w%d, subset: v1}}]
  - route: [{destination: {host: w%d}}]
`, s, n, s, s, s)
			}
		}
		fmt.Fprintf(&b, `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: ns%d}
spec:
  rules: [{from: [{source: {namespaces: ["ns*"]}}], to: [{operation: {methods: [GET]}}]}]
`, n)
	}
	return b.String()
}

// BenchmarkRoutingAllPairs resolves, for 20 clients and each of 10,000
// services: the route, the endpoints, and per endpoint the target port,
// authorization and the application's listening.
func BenchmarkRoutingAllPairs(b *testing.B) {
	var res load.Result
	load.Decode("gen.yaml", []byte(routingGenMesh(20, 500)), &res)
	x := mesh.Build(res.Objects, mesh.Options{})
	clients := x.Workloads[:20]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := New(x)
		for _, c := range clients {
			for _, s := range x.Services {
				d := e.RouteFromSidecar(c, Request{Scheme: "http", Host: s.Host, Port: 80, Path: "/api/x"})
				if d.Service == nil {
					b.Fatalf("%s: %s", s.Host, d.Reason)
				}
				sp := &d.Service.Ports[0]
				for _, ep := range e.Endpoints(d.Service, sp, nil) {
					e.TargetPort(d.Service, sp, ep.Workload)
					e.Authorize(ep.Workload, AuthzRequest{Principal: "cluster.local/ns/" + c.Namespace + "/sa/default", Port: ep.TargetPort, HTTP: true, Method: "GET", Path: "/api/x"})
					e.Listening(ep.Workload, ep.TargetPort)
				}
			}
		}
	}
}

// A Gateway applies only to gateway pods whose labels contain its selector
// (push_context.go mergeGateways).
func TestGatewaySelector(t *testing.T) {
	e := routingEngine(t, "sel.yaml", `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: internal, namespace: istio-system}
spec:
  selector: {istio: internal-gateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`)
	gw := routingWorkload(t, e, "istio-system", "istio-ingressgateway")
	d := e.RouteFromGateway(gw, Request{Scheme: "http", Host: "x", Port: 80, Path: "/"})
	if d.Matched || d.NoRouteReason != NoRouteNoGateway || !strings.Contains(d.Reason, "istio=ingressgateway") {
		t.Errorf("%+v", d)
	}
}
