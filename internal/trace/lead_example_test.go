package trace

import (
	"os"
	"testing"
	"time"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

const exampleOverlay = "../../examples/titanium/k8s-manifests/overlays/gcp"

// exampleEngine loads the bundled example, plus proposals that add objects or
// replace the object of the same kind, namespace and name. The proposals are
// newer than the base, as they would be when applied to the cluster.
func exampleEngine(t *testing.T, proposals ...string) *resolve.Engine {
	t.Helper()
	var r load.Result
	load.Kustomize(exampleOverlay, &r)
	if len(r.Errors) > 0 {
		t.Fatalf("example: %v", r.Errors)
	}
	objs := r.Objects
	later := time.Date(2026, 1, 24, 0, 0, 0, 0, time.UTC)
	for _, p := range proposals {
		data, err := os.ReadFile("../../examples/titanium/proposals/" + p)
		if err != nil {
			t.Fatal(err)
		}
		var pr load.Result
		load.Decode(p, data, &pr)
		if len(pr.Errors) > 0 {
			t.Fatalf("%s: %v", p, pr.Errors)
		}
		var changes []Change
		for _, n := range pr.Objects {
			n.Created = later
			var old *objects.Object
			for _, o := range objs {
				if o.Key() == n.Key() {
					old = o
				}
			}
			changes = append(changes, Change{Old: old, New: n})
		}
		objs = Apply(objs, changes)
	}
	return resolve.New(mesh.Build(objs, mesh.Options{}))
}

func hopNamed(tr *Trace, step string) *Hop {
	for i := range tr.Hops {
		if tr.Hops[i].Step == step {
			return &tr.Hops[i]
		}
	}
	return nil
}

// The incident: the gateway's /blog/ requests fail with "Connection refused"
// because the blog server binds 127.0.0.1:8005 (since Istio 1.10 the sidecar
// forwards inbound traffic to the pod IP). The mTLS hops are consistent:
// ISTIO_MUTUAL from the gateway, STRICT accepted.
func TestExampleBlogFailsForItsRealReason(t *testing.T) {
	e := exampleEngine(t)
	for _, from := range []struct{ from, to string }{
		{"istio-system/istio-ingressgateway", "http://titanium.example.com/blog/"},
		{External, "https://34.64.171.141:30444/blog/"},
	} {
		tr, err := Run(e, from.from, from.to, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Result != ResultFail || tr.Cause != CausePortNotListening || tr.Security != "mtls" {
			t.Fatalf("%s: result=%s cause=%s security=%s, want fail PORT_NOT_LISTENING mtls", from.to, tr.Result, tr.Cause, tr.Security)
		}
		if tr.HTTPStatus != 503 || tr.Envoy.ResponseFlags != "UF,URX" {
			t.Errorf("envoy = %d %+v", tr.HTTPStatus, tr.Envoy)
		}
		if h := hopNamed(tr, "server inbound"); h == nil || h.Status != HopOK {
			t.Errorf("server inbound hop = %+v, want ok (STRICT accepts the gateway's mTLS)", h)
		}
		app := hopNamed(tr, "application")
		if app == nil || app.Status != HopFail || len(app.Objects) == 0 {
			t.Fatalf("application hop = %+v", app)
		}
		ref := app.Objects[0]
		if ref.File != "../../examples/titanium/k8s-manifests/base/blog-service.yaml" || ref.Field != "spec.template.spec.containers[0].args[2]" {
			t.Errorf("loopback evidence = %+v", ref)
		}
		if len(tr.Fixes) == 0 || !tr.Fixes[0].Verified || tr.Fixes[0].Security != "none" {
			t.Errorf("fixes = %+v, want the verified bind-address fix first", tr.Fixes)
		}
	}
}

func TestExampleAPIIsHealthyOverMTLS(t *testing.T) {
	tr, err := Run(exampleEngine(t), "istio-system/istio-ingressgateway", "http://titanium.example.com/api/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Result != ResultOK || tr.Security != "mtls" || tr.Cause != "" {
		t.Errorf("result=%s security=%s cause=%s, want ok over mtls", tr.Result, tr.Security, tr.Cause)
	}
}

// A DestinationRule with tls.mode DISABLE that replaces prod-default-mtls makes
// the gateway send plaintext to STRICT servers: the healthy /api/ path breaks
// (cluster_tls.go buildUpstreamTLSSettings uses DISABLE as given).
func TestExampleDisableReplacingBreaksAPI(t *testing.T) {
	e := exampleEngine(t, "06-destinationrule-disable-replace.yaml")
	tr, err := Run(e, "istio-system/istio-ingressgateway", "http://titanium.example.com/api/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Result != ResultFail || tr.Cause != CausePlaintextToStrict || tr.HTTPStatus != 503 || tr.Envoy.ResponseFlags != "UC" {
		t.Errorf("result=%s cause=%s status=%d flags=%s, want fail PLAINTEXT_TO_STRICT 503 UC", tr.Result, tr.Cause, tr.HTTPStatus, tr.Envoy.ResponseFlags)
	}
}

// A second DestinationRule for the same host in the same namespace is merged
// into the older one, whose trafficPolicy wins (pilot/pkg/model/destination_rule.go
// mergeDestinationRule): ISTIO_MUTUAL stays, and /blog/ still fails for its real reason.
func TestExampleProposalsKeepBlogFailing(t *testing.T) {
	for _, p := range []string{"01-namespace-permissive.yaml", "02-per-port-permissive.yaml", "03-destinationrule-disable.yaml", "04-gateway-peerauthentication.yaml", "05-authz-allow-gateway-only.yaml"} {
		tr, err := Run(exampleEngine(t, p), "istio-system/istio-ingressgateway", "http://titanium.example.com/blog/", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Cause != CausePortNotListening || tr.Security != "mtls" {
			t.Errorf("%s: cause=%s security=%s, want PORT_NOT_LISTENING over mtls", p, tr.Cause, tr.Security)
		}
	}
}

// The ALLOW policy naming only the gateway denies service-to-service calls
// (authorization_policy.proto: ALLOW present and none matched = deny).
func TestExampleAllowOnlyGatewayDeniesServices(t *testing.T) {
	tr, err := Run(exampleEngine(t, "05-authz-allow-gateway-only.yaml"), "titanium-prod/prod-api-gateway", "http://prod-user-service:8001/users/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Result != ResultDenied || tr.Cause != CauseAuthzDenied || tr.HTTPStatus != 403 {
		t.Errorf("result=%s cause=%s status=%d, want denied AUTHZ_DENIED 403", tr.Result, tr.Cause, tr.HTTPStatus)
	}
}
