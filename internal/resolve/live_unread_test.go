package resolve

import (
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// In live mode a kind the user may not list (mesh.Options.Unread) is assumed
// absent, and every decision that reads it says so, in the index's wording
// ("<Kind> objects could not be read from the cluster (...)"); without
// --kube nothing is said.
func TestUnreadKindsAreAssumedByTheirDecisions(t *testing.T) {
	var res load.Result
	load.Decode("mesh.yaml", []byte(secTLSBase), &res)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	unread := map[string]string{}
	for _, k := range []string{"PeerAuthentication", "DestinationRule", "VirtualService", "Gateway", "ServiceEntry"} {
		unread[k] = "forbidden: cannot list"
	}
	for _, live := range []bool{true, false} {
		opts := mesh.Options{}
		if live {
			opts.Unread = unread
		}
		e := New(mesh.Build(res.Objects, opts))
		web, c := secWorkload(t, e, "shop/web"), secWorkload(t, e, "client/c")
		gw := e.X.Workload("istio-system", "istio-ingressgateway", "")
		req := Request{Scheme: "http", Host: "web.shop.svc.cluster.local", Port: 80, Path: "/"}
		for _, c := range []struct {
			kind string
			d    Decision
		}{
			{"PeerAuthentication", e.ServerMTLS(web, 8080).Decision},
			{"PeerAuthentication", e.NamespaceMTLS("shop").Decision},
			{"DestinationRule", e.DestinationRule(c, "web.shop.svc.cluster.local").Decision},
			{"VirtualService", e.RouteFromSidecar(c, req).Decision},
			{"ServiceEntry", e.RouteFromSidecar(c, req).Decision},
			{"Gateway", e.RouteFromGateway(gw, req).Decision},
			{"VirtualService", e.RouteFromGateway(gw, req).Decision},
		} {
			got := routingHasAssumption(c.d, c.kind+" objects could not be read from the cluster (forbidden: cannot list): assumed there are none")
			if got != live {
				t.Errorf("live=%v: %s assumption present=%v in %q", live, c.kind, got, strings.Join(c.d.Assumptions, "; "))
			}
		}
		// A gateway does not read PeerAuthentication (§4): no assumption.
		if routingHasAssumption(e.ServerMTLS(gw, 8080).Decision, "PeerAuthentication objects") {
			t.Errorf("gateway ServerMTLS assumes unread PeerAuthentications")
		}
	}
}
