package resolve

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"

	networking "istio.io/api/networking/v1alpha3"
)

func TestConfigHostMatches(t *testing.T) {
	x := &mesh.Index{
		Services: []*mesh.Service{
			{Namespace: "shop", Name: "cart", Host: "cart.shop.svc.cluster.local"},
			{Namespace: "shop", Name: "pay", Host: "pay.shop.svc.cluster.local"},
			{Namespace: "bank", Name: "cart", Host: "cart.bank.svc.cluster.local"},
		},
		ServiceEntries: []*mesh.ServiceEntry{{Config: mesh.Config{Namespace: "shop", Name: "ext", Obj: &objects.Object{}},
			Spec: &networking.ServiceEntry{Hosts: []string{"api.example.com"}}}},
	}
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
