package resolve

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"

	networking "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestConfigHostMatches(t *testing.T) {
	var objs []*objects.Object
	for _, s := range [][2]string{{"shop", "cart"}, {"shop", "pay"}, {"bank", "cart"}} {
		objs = append(objs, &objects.Object{APIVersion: "v1", Kind: "Service", Namespace: s[0], Name: s[1],
			Typed: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: s[0], Name: s[1]},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}})
	}
	x := mesh.Build(objs, mesh.Options{})
	x.ServiceEntries = []*mesh.ServiceEntry{{Config: mesh.Config{Namespace: "shop", Name: "ext", Obj: &objects.Object{}},
		Spec: &networking.ServiceEntry{Hosts: []string{"api.example.com"}}}}
	e := New(x)
	for _, c := range []struct {
		ns, host string
		svcs     int
		ses      int
	}{
		{"shop", "cart", 1, 0},                         // short name: the rule's namespace
		{"bank", "cart", 1, 0},                         // the other cart
		{"shop", "cart.shop", 0, 0},                    // a dotted name is taken as is (ResolveShortnameToFQDN)
		{"shop", "*.shop.svc.cluster.local", 2, 0},     // wildcard
		{"x", "*", 3, 1},                               // everything
		{"shop", "api.example.com", 0, 1},              // a ServiceEntry host
		{"shop", "carts", 0, 0},                        // nothing
		{"shop", "*.titanium.svc.cluster.local", 0, 0}, // nothing
	} {
		s, se := e.ConfigHostMatches(c.ns, c.host)
		if len(s) != c.svcs || len(se) != c.ses {
			t.Errorf("%s in %s: %d services, %d service entries; want %d, %d", c.host, c.ns, len(s), len(se), c.svcs, c.ses)
		}
	}
}

func TestVirtualServiceGateways(t *testing.T) {
	vs := &mesh.VirtualService{Config: mesh.Config{Namespace: "shop"}, Spec: &networking.VirtualService{}}
	if got := VirtualServiceGateways(vs); len(got) != 1 || got[0] != "mesh" {
		t.Errorf("no gateways: %v, want [mesh]", got)
	}
	vs.Spec.Gateways = []string{"gw", "istio-system/ingress", "./local", "mesh"}
	want := []string{"shop/gw", "istio-system/ingress", "shop/local", "mesh"}
	got := VirtualServiceGateways(vs)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("gateways = %v, want %v", got, want)
			break
		}
	}
}

func TestGatewayServesHost(t *testing.T) {
	for _, c := range []struct {
		hosts      []string
		vsNS, host string
		want       bool
	}{
		{[]string{"*"}, "shop", "shop.example.com", true},
		{[]string{"*.example.com"}, "shop", "shop.example.com", true},
		{[]string{"api.example.com"}, "shop", "shop.example.com", false},
		{[]string{"shop/*"}, "shop", "shop.example.com", true},
		{[]string{"bank/*"}, "shop", "shop.example.com", false},
		{[]string{"./*"}, "gw-ns", "x.example.com", true}, // the Gateway's own namespace
		{[]string{"./*"}, "shop", "x.example.com", false},
		{[]string{"*/shop.example.com"}, "any", "shop.example.com", true},
	} {
		if got := GatewayServesHost(c.hosts, "gw-ns", c.vsNS, c.host); got != c.want {
			t.Errorf("%v serves %s/%s = %v, want %v", c.hosts, c.vsNS, c.host, got, c.want)
		}
	}
}

func TestServicePortProtocol(t *testing.T) {
	for _, c := range []struct {
		sp   mesh.ServicePort
		want string
	}{
		{mesh.ServicePort{Name: "http-web"}, "http"},
		{mesh.ServicePort{Name: "tcp-web"}, "tcp"},
		{mesh.ServicePort{Name: "web"}, "auto"},
		{mesh.ServicePort{Name: "web", AppProtocol: "tcp"}, "tcp"},
		{mesh.ServicePort{Name: "tcp", AppProtocol: "http"}, "http"}, // appProtocol first
		// pkg/config/kube/conversion.go ConvertProtocol, case by case:
		{mesh.ServicePort{Name: "http-web", AppProtocol: "custom"}, "auto"},     // appProtocol set: the name is not read
		{mesh.ServicePort{Name: "web", AppProtocol: "HTTP-2"}, "http"},          // appProtocol cut at "-", any case
		{mesh.ServicePort{Name: "ws", AppProtocol: "kubernetes.io/ws"}, "http"}, // Kubernetes' standard names
		{mesh.ServicePort{Name: "w", AppProtocol: "kubernetes.io/wss"}, "tls"},
		{mesh.ServicePort{Name: "grpc-web-ui"}, "http"},
		{mesh.ServicePort{Name: "HTTP_PROXY"}, "http"},
		{mesh.ServicePort{Name: "h2c"}, "auto"},                 // not a name protocol.Parse knows
		{mesh.ServicePort{Name: "db", Port: 3306}, "tcp"},       // well-known ports: TCP, not sniffed
		{mesh.ServicePort{Name: "", Port: 53}, "tcp"},           //
		{mesh.ServicePort{Name: "http-db", Port: 3306}, "http"}, // a declared protocol wins
		{mesh.ServicePort{Name: "web", Port: 8080}, "auto"},
		{mesh.ServicePort{Name: "dns", Port: 53, Protocol: "UDP"}, "udp"},
	} {
		if got := ServicePortProtocol(&c.sp); got != c.want {
			t.Errorf("%+v: %s, want %s", c.sp, got, c.want)
		}
	}
	// What decided it, for messages.
	for _, c := range []struct {
		sp   mesh.ServicePort
		want string
	}{
		{mesh.ServicePort{Name: "tcp-web"}, ProtocolByName},
		{mesh.ServicePort{Name: "tcp-web", AppProtocol: "http"}, ProtocolByAppProtocol},
		{mesh.ServicePort{Name: "db", Port: 3306}, ProtocolByNumber},
		{mesh.ServicePort{Name: "dns", Port: 53, Protocol: "UDP"}, ProtocolByPortProtocol},
		{mesh.ServicePort{Name: "web", Port: 8080}, ""},
	} {
		if got := ServicePortProtocolBy(&c.sp); got != c.want {
			t.Errorf("%+v: decided by %q, want %q", c.sp, got, c.want)
		}
	}
}

// EndpointPort answers with EndpointSet: the selector picks the workload and
// a named targetPort resolves to its container port; a workload the Service
// does not select is no endpoint.
func TestEndpointPort(t *testing.T) {
	e := routingEngine(t, "ep.yaml", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: api}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
`)
	svc := e.X.Service("shop", "web")
	web, api := e.X.Workload("shop", "web", "Deployment"), e.X.Workload("shop", "api", "Deployment")
	if tp, ok := e.EndpointPort(svc, &svc.Ports[0], web); !ok || tp != 8080 {
		t.Errorf("web: %d %v, want 8080", tp, ok)
	}
	if _, ok := e.EndpointPort(svc, &svc.Ports[0], api); ok {
		t.Error("api is not selected by Service shop/web")
	}
}

// EndpointPort's shortcut (only a workload the selector picks is asked about)
// gives what scanning EndpointSet gives, for every Service port and workload
// of a generated mesh.
func TestEndpointPortAgreesWithEndpointSet(t *testing.T) {
	x, err := genmesh.Index(gen.Config{Seed: 3, Services: 150})
	if err != nil {
		t.Fatal(err)
	}
	e := New(x)
	checked := 0
	for _, svc := range e.X.Services {
		for i := range svc.Ports {
			sp := &svc.Ports[i]
			eps := e.EndpointSet(svc, sp, nil).Endpoints
			for _, w := range e.X.Workloads {
				var want int32
				found := false
				for _, ep := range eps {
					if ep.Workload == w {
						want, found = ep.TargetPort, true
					}
				}
				got, ok := e.EndpointPort(svc, sp, w)
				if ok != found || got != want {
					t.Fatalf("%s:%d on %s: EndpointPort = %d %v, EndpointSet says %d %v", svc.Key(), sp.Port, w.Key(), got, ok, want, found)
				}
				if found {
					checked++
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no endpoint in the generated mesh")
	}
}
