package trace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// The bundled example (examples/titanium): the incident of SPEC.md, and the
// team's proposals applied on top of it. These tests pin what Istio really
// does, hop by hop, with the Istio source that says so.

const (
	titaniumOverlay   = "../../examples/titanium/k8s-manifests/overlays/gcp"
	titaniumProposals = "../../examples/titanium/proposals"
	titaniumBase      = "../../examples/titanium/k8s-manifests/base/"
	titaniumIstio     = titaniumOverlay + "/istio/"

	ingress  = "istio-system/istio-ingressgateway"
	blogURL  = "http://titanium.example.com/blog/"
	apiURL   = "http://titanium.example.com/api/"
	incident = "https://34.64.171.141:30444/blog/" // the exact URL of the report
)

// applyProposal decodes one proposal file into r, the Result the overlay was
// loaded into, and applies it as kubectl apply would: an object with the
// kind, namespace and name of an existing one REPLACES it (in its place), any
// other is added. With newer, the proposal's objects get a creationTimestamp
// later than the base's (which has none, as files have none), as they would
// when applied to a running cluster; Istio's oldest-wins rules then see the
// base's objects as older. Without it every object has the zero timestamp, as
// when base and proposal are loaded together from files, and Istio falls back
// to name order (pilot/pkg/model/config.go configCompareByCreationTime).
func applyProposal(t testing.TB, r *load.Result, file string, newer bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(titaniumProposals, file))
	if err != nil {
		t.Fatal(err)
	}
	n := len(r.Objects)
	load.Decode(file, data, r)
	if len(r.Errors) > 0 || len(r.Objects) == n {
		t.Fatalf("%s: %d objects, errors %v", file, len(r.Objects)-n, r.Errors)
	}
	base := r.Objects[:n:n]
	for _, o := range r.Objects[n:] {
		if newer {
			o.Created = time.Date(2026, 1, 24, 9, 0, 0, 0, time.UTC)
		}
		replaced := false
		for i, b := range base {
			if b.Key() == o.Key() {
				o.Seq = b.Seq
				base[i] = o
				replaced = true
			}
		}
		if !replaced {
			o.Seq = len(base)
			base = append(base, o)
		}
	}
	r.Objects = base
}

// titanium returns an engine over the example with the proposals applied, in
// order, as newer objects.
func titanium(t testing.TB, proposals ...string) *resolve.Engine {
	t.Helper()
	return titaniumEngine(t, true, proposals...)
}

func titaniumEngine(t testing.TB, newer bool, proposals ...string) *resolve.Engine {
	t.Helper()
	var r load.Result
	load.Kustomize(titaniumOverlay, &r)
	if len(r.Errors) > 0 {
		t.Fatalf("example: %v", r.Errors)
	}
	for _, p := range proposals {
		applyProposal(t, &r, p, newer)
	}
	return resolve.New(mesh.Build(r.Objects, mesh.Options{}))
}

func mustTrace(t *testing.T, e *resolve.Engine, from, to string) *Trace {
	t.Helper()
	tr, err := Run(e, from, to, Options{})
	if err != nil {
		t.Fatalf("trace %s %s: %v", from, to, err)
	}
	return tr
}

func findHop(t *testing.T, tr *Trace, step string) Hop {
	t.Helper()
	for _, h := range tr.Hops {
		if h.Step == step {
			return h
		}
	}
	t.Fatalf("%s -> %s: no %q hop in %+v", tr.From, tr.To, step, tr.Hops)
	return Hop{}
}

// refAt finds the hop's reference to a field of an object.
func refAt(t *testing.T, h Hop, kind, name, field string) objects.Ref {
	t.Helper()
	for _, o := range h.Objects {
		if o.Kind == kind && o.Name == name && o.Field == field {
			return o
		}
	}
	t.Fatalf("hop %q names no %s %s %s: %+v", h.Step, kind, name, field, h.Objects)
	return objects.Ref{}
}

func wantRef(t *testing.T, r objects.Ref, file string, line int) {
	t.Helper()
	if r.File != file || r.Line != line {
		t.Errorf("%s %s %s at %s:%d, want %s:%d", r.Kind, r.Name, r.Field, r.File, r.Line, file, line)
	}
}

type verdict struct {
	result, cause, security string
	status                  int
	flags                   string
}

func wantVerdict(t *testing.T, tr *Trace, v verdict) {
	t.Helper()
	got := verdict{tr.Result, tr.Cause, tr.Security, tr.HTTPStatus, tr.Envoy.ResponseFlags}
	if got != v {
		t.Errorf("%s -> %s = %+v, want %+v (%s)", tr.From, tr.To, got, v, tr.Summary)
	}
}

var (
	blogRefused = verdict{ResultFail, CausePortNotListening, "mtls", 503, "UF,URX"}
	okMTLS      = verdict{ResultOK, "", "mtls", 0, ""}
	// PLAINTEXT_TO_STRICT from a proxy: the server sidecar closes the
	// connection after the request was sent (ISTIO-SEMANTICS.md §5.4).
	plainToStrict = verdict{ResultFail, CausePlaintextToStrict, "plaintext", 503, "UC"}
)

// The incident: /blog/ through the gateway fails with "Connection refused"
// because the blog application binds 127.0.0.1:8005; since Istio 1.10 the
// sidecar forwards inbound traffic to the pod IP (cluster_builder.go
// buildInboundCluster: ORIGINAL_DST). The mTLS hops are consistent: the
// gateway originates ISTIO_MUTUAL (DestinationRule prod-default-mtls) and the
// STRICT sidecar accepts it. The same holds for the exact URL of the report,
// HTTPS on the gateway's node port.
func TestIncidentBlogRefused(t *testing.T) {
	e := titanium(t)
	for _, c := range []struct{ from, to string }{{ingress, blogURL}, {External, incident}} {
		t.Run(c.to, func(t *testing.T) {
			tr := mustTrace(t, e, c.from, c.to)
			wantVerdict(t, tr, blogRefused)
			if !strings.Contains(tr.Envoy.Message, "delayed connect error: Connection refused") || !strings.HasPrefix(tr.Envoy.Message, "upstream connect error or disconnect/reset before headers. retried and the latest") {
				t.Errorf("envoy message %q is not the report's", tr.Envoy.Message)
			}

			route := findHop(t, tr, "route")
			server := 0
			if c.from == External {
				server = 1 // the HTTPS server on 443
			}
			wantRef(t, refAt(t, route, "Gateway", "titanium-gateway", "spec.servers["+string(rune('0'+server))+"]"), titaniumIstio+"gateway.yaml", []int{12, 18}[server])
			wantRef(t, refAt(t, route, "VirtualService", "titanium-routes", "spec.http[0].match[0]"), titaniumIstio+"virtualservice.yaml", 14)

			ctls := findHop(t, tr, "client tls")
			if !strings.Contains(ctls.Detail, "ISTIO_MUTUAL") {
				t.Errorf("client tls: %s", ctls.Detail)
			}
			wantRef(t, refAt(t, ctls, "DestinationRule", "prod-default-mtls", "spec.trafficPolicy.tls.mode"), titaniumIstio+"destination-rules.yaml", 11)

			in := findHop(t, tr, "server inbound")
			if in.Status != HopOK || !strings.Contains(in.Detail, "STRICT") {
				t.Errorf("server inbound: %s %s, want ok under STRICT", in.Status, in.Detail)
			}
			wantRef(t, refAt(t, in, "PeerAuthentication", "prod-default-mtls", "spec.mtls.mode"), titaniumIstio+"peer-authentication.yaml", 9)

			if az := findHop(t, tr, "authorization"); az.Status != HopOK {
				t.Errorf("authorization: %s", az.Detail)
			}
			app := findHop(t, tr, "application")
			if app.Status != HopFail || !strings.Contains(app.Detail, "127.0.0.1") {
				t.Errorf("application: %s %s", app.Status, app.Detail)
			}
			// The loopback bind, args: ["app.main:app", "--host", "127.0.0.1", ...], is line 34.
			bind := refAt(t, app, "Deployment", "prod-blog-service", "spec.template.spec.containers[0].args[2]")
			wantRef(t, bind, titaniumBase+"blog-service.yaml", 34)
			if app.Objects[0] != bind {
				t.Errorf("the application hop names %+v first, want the bind", app.Objects[0])
			}

			if len(tr.Fixes) == 0 {
				t.Fatal("no fix")
			}
			f := tr.Fixes[0]
			if !f.Verified || f.Security != "none" || !strings.Contains(f.Patch, "- 0.0.0.0") || f.Target.Name != "prod-blog-service" || !strings.Contains(f.Summary, "blog-service.yaml:34") {
				t.Errorf("first fix = %+v, want the verified bind-address fix", f)
			}
			for _, f := range tr.Fixes {
				if strings.Contains(f.Patch, "PERMISSIVE") || strings.Contains(f.Patch, "DISABLE") {
					t.Errorf("fix %q weakens mTLS, which is not the problem", f.Summary)
				}
			}
		})
	}
}

// The bind-address fix, applied to the mesh, makes /blog/ healthy over mTLS
// from the gateway, from outside and from a sidecar.
func TestIncidentFixApplied(t *testing.T) {
	e := titanium(t)
	blog := e.X.Workload("titanium-prod", "prod-blog-service", "")
	if l := e.Listening(blog, 8005); !l.Loopback || l.Listening != resolve.ListenNo {
		t.Fatalf("listening: %+v", l)
	}
	nw, ok := editString(blog.Obj, "spec.template.spec.containers[0].args[2]", func(s string) string {
		if s != "127.0.0.1" {
			t.Errorf("args[2] = %q", s)
		}
		return "0.0.0.0"
	})
	if !ok {
		t.Fatal("cannot edit the bind address")
	}
	e2 := resolve.New(Rebuild(e.X, Apply(e.X.Objects, []Change{{Old: blog.Obj, New: nw}})))
	for _, c := range []struct{ from, to string }{{ingress, blogURL}, {External, incident}, {"titanium-prod/prod-api-gateway", "http://prod-blog-service:8005/blog/"}} {
		wantVerdict(t, mustTrace(t, e2, c.from, c.to), okMTLS)
	}
}

// /api/ shares every mTLS setting with /blog/ and is healthy: mTLS is not the
// problem.
func TestIncidentAPIHealthy(t *testing.T) {
	e := titanium(t)
	for _, c := range []struct{ from, to string }{
		{ingress, apiURL},
		{External, "https://34.64.171.141:30444/api/"},
		{ingress, "http://titanium.example.com/users/"},
		{ingress, "http://titanium.example.com/auth/"},
		{"titanium-prod/prod-api-gateway", "http://prod-user-service:8001/users/"},
	} {
		tr := mustTrace(t, e, c.from, c.to)
		wantVerdict(t, tr, okMTLS)
		if len(tr.Fixes) != 0 {
			t.Errorf("%s: fixes on a healthy path: %+v", c.to, tr.Fixes)
		}
	}
	// Service to service, /blog/ fails the same way.
	wantVerdict(t, mustTrace(t, e, "titanium-prod/prod-api-gateway", "http://prod-blog-service:8005/blog/"), blogRefused)
}

// Proposal 01 adds a second namespace-wide PeerAuthentication (default-mtls,
// PERMISSIVE) next to prod-default-mtls (STRICT). Istio keeps only the oldest
// namespace-wide policy (pilot/pkg/model/authentication.go
// addPeerAuthentication, after sortConfigByCreationTime: "Namespace/mesh-level
// PeerAuthentication is already defined ... Ignore"). Applied to a running
// cluster the proposal is newer, so STRICT stays and the proposal does nothing.
// Loaded together from files (no timestamps), Istio orders by name
// (configCompareByCreationTime) and "default-mtls" < "prod-default-mtls": then
// PERMISSIVE wins, and the result says it rests on that order. Either way the
// gateway's ISTIO_MUTUAL is accepted (PERMISSIVE takes mTLS too), so /blog/
// fails for its real reason.
func TestProposal01NamespacePermissive(t *testing.T) {
	const p = "01-namespace-permissive.yaml"
	e := titanium(t, p)
	blog := e.X.Workload("titanium-prod", "prod-blog-service", "")
	if m := e.ServerMTLS(blog, 8005); m.Mode != resolve.ModeStrict || m.By[0].Name != "prod-default-mtls" {
		t.Errorf("applied later: mode %s by %+v, want STRICT by prod-default-mtls", m.Mode, m.By)
	}
	wantVerdict(t, mustTrace(t, e, ingress, blogURL), blogRefused)
	wantVerdict(t, mustTrace(t, e, ingress, apiURL), okMTLS)
	// The proposal's intent (accept plaintext) is not met: a client without a
	// sidecar (prod-redis opts out of injection) is still refused.
	wantVerdict(t, mustTrace(t, e, "titanium-prod/prod-redis", "http://prod-api-gateway:8000/api/"), verdict{ResultFail, CausePlaintextToStrict, "plaintext", 0, ""})

	files := titaniumEngine(t, false, p)
	blog = files.X.Workload("titanium-prod", "prod-blog-service", "")
	m := files.ServerMTLS(blog, 8005)
	if m.Mode != resolve.ModePermissive || m.By[0].Name != "default-mtls" {
		t.Errorf("no timestamps: mode %s by %+v, want PERMISSIVE by default-mtls (name order)", m.Mode, m.By)
	}
	tr := mustTrace(t, files, ingress, blogURL)
	wantVerdict(t, tr, blogRefused)
	if !containsAny(tr.Assumptions, "default-mtls") {
		t.Errorf("the verdict rests on creation order but no assumption says so: %q", tr.Assumptions)
	}
	wantVerdict(t, mustTrace(t, files, "titanium-prod/prod-redis", "http://prod-api-gateway:8000/api/"), verdict{ResultOK, "", "plaintext", 0, ""})
}

// Proposal 02: a workload PeerAuthentication for version=v1 (the four
// application pods), PERMISSIVE with portLevelMtls 8005/8000/8001/8002.
// portLevelMtls is keyed by the workload's (container) port
// (listener_inbound.go: authnBuilder.ForPort(cc.port.TargetPort)); here the
// container ports are those numbers, so they apply. PERMISSIVE accepts the
// gateway's ISTIO_MUTUAL (filterchain_options.go: the mTLS ALPN chain), so
// /blog/ still fails for its real reason; what changes is that every
// application port now also accepts plaintext from outside the mesh.
func TestProposal02PerPortPermissive(t *testing.T) {
	e := titanium(t, "02-per-port-permissive.yaml")
	for _, w := range []struct {
		name string
		port int32
	}{{"prod-blog-service", 8005}, {"prod-api-gateway", 8000}, {"prod-user-service", 8001}, {"prod-auth-service", 8002}} {
		m := e.ServerMTLS(e.X.Workload("titanium-prod", w.name, ""), w.port)
		field := "spec.portLevelMtls." + itoa(int(w.port)) + ".mode"
		if m.Mode != resolve.ModePermissive || len(m.By) == 0 || m.By[0].Name != "ingress-permissive" || m.By[0].Field != field {
			t.Errorf("%s:%d = %s by %+v, want PERMISSIVE by ingress-permissive %s", w.name, w.port, m.Mode, m.By, field)
		}
	}
	// The databases do not carry version=v1: their own selector policies stay.
	if m := e.ServerMTLS(e.X.Workload("titanium-prod", "prod-redis", ""), 6379); m.Mode != resolve.ModeDisable {
		t.Errorf("prod-redis:6379 = %s, want DISABLE from prod-redis-mtls", m.Mode)
	}
	tr := mustTrace(t, e, ingress, blogURL)
	wantVerdict(t, tr, blogRefused)
	if in := findHop(t, tr, "server inbound"); !strings.Contains(in.Detail, "PERMISSIVE") {
		t.Errorf("server inbound: %s", in.Detail)
	}
	wantVerdict(t, mustTrace(t, e, ingress, apiURL), okMTLS)
	wantVerdict(t, mustTrace(t, e, "titanium-prod/prod-redis", "http://prod-api-gateway:8000/api/"), verdict{ResultOK, "", "plaintext", 0, ""})
}

// Proposal 03: a second DestinationRule (prod-from-gateway, DISABLE) for the
// same host *.titanium-prod.svc.cluster.local in the same namespace. Istio
// merges DestinationRules with the same host, namespace and exportTo into the
// first in sortConfigBySelectorAndCreationTime order (push_context.go), and
// mergeDestinationRule (pilot/pkg/model/destination_rule.go) adopts the
// incoming top-level trafficPolicy only "when the merged rule does not have
// one yet": prod-default-mtls is older (and also first by name), so its
// ISTIO_MUTUAL stays for every client, and the DISABLE rule only contributes
// its unused subset from-ingress. Nothing changes on any path.
func TestProposal03SecondDestinationRule(t *testing.T) {
	for _, newer := range []bool{true, false} {
		e := titaniumEngine(t, newer, "03-destinationrule-disable.yaml")
		tr := mustTrace(t, e, ingress, blogURL)
		wantVerdict(t, tr, blogRefused)
		ctls := findHop(t, tr, "client tls")
		wantRef(t, refAt(t, ctls, "DestinationRule", "prod-default-mtls", "spec.trafficPolicy.tls.mode"), titaniumIstio+"destination-rules.yaml", 11)
		drd := e.DestinationRule(e.X.Workload("istio-system", "istio-ingressgateway", ""), "prod-blog-service.titanium-prod.svc.cluster.local")
		if drd.Rule == nil || len(drd.Rule.Rules) != 2 || drd.Rule.PolicyFrom.Name != "prod-default-mtls" {
			t.Fatalf("newer=%v: merged rule %+v, want prod-default-mtls + prod-from-gateway with the former's policy", newer, drd.Rule)
		}
		if _, ok := drd.Subset("from-ingress"); !ok {
			t.Errorf("newer=%v: the merged rule lacks the subset from-ingress", newer)
		}
		wantVerdict(t, mustTrace(t, e, ingress, apiURL), okMTLS)
		wantVerdict(t, mustTrace(t, e, "titanium-prod/prod-api-gateway", "http://prod-user-service:8001/users/"), okMTLS)
	}
}

// Proposal 04: a STRICT PeerAuthentication with a selector in istio-system,
// for the gateway pods. Gateways are Router proxies: BuildListeners calls
// buildGatewayListeners, and only sidecar inbound listeners consult
// PeerAuthentication (listener_inbound.go authnBuilder.ForPort); besides, a
// selector policy in the root namespace is ignored (policy_applier.go
// ComposePeerAuthentication). The gateway's inbound TLS is its Gateway
// servers', its outbound TLS the DestinationRule's: nothing changes.
func TestProposal04GatewayPeerAuthentication(t *testing.T) {
	e := titanium(t, "04-gateway-peerauthentication.yaml")
	gw := e.X.Workload("istio-system", "istio-ingressgateway", "")
	if m := e.ServerMTLS(gw, 8080); m.Mode != "" || !strings.Contains(m.Reason, "does not apply to gateway listeners") {
		t.Errorf("gateway mode %q (%s), want none: PeerAuthentication does not apply", m.Mode, m.Reason)
	}
	wantVerdict(t, mustTrace(t, e, ingress, blogURL), blogRefused)
	wantVerdict(t, mustTrace(t, e, External, incident), blogRefused)
	wantVerdict(t, mustTrace(t, e, ingress, apiURL), okMTLS)
	wantVerdict(t, mustTrace(t, e, External, "https://34.64.171.141:30444/api/"), okMTLS)
}

// Proposal 05: a namespace-wide ALLOW policy whose only rule names the
// gateway (namespace istio-system and its principal). The gateway's mTLS
// carries that principal, so /blog/ is allowed and still fails for its real
// reason. But once a workload has an ALLOW policy, a request no rule matches
// is denied (authorization_policy.proto: "If there are any ALLOW policies ...
// deny the request"): every service-to-service call becomes AUTHZ_DENIED, 403.
func TestProposal05AllowOnlyGateway(t *testing.T) {
	e := titanium(t, "05-authz-allow-gateway-only.yaml")
	tr := mustTrace(t, e, ingress, blogURL)
	wantVerdict(t, tr, blogRefused)
	if az := findHop(t, tr, "authorization"); az.Status != HopOK || len(az.Objects) == 0 || az.Objects[0].Name != "ingress-to-services" {
		t.Errorf("authorization: %s %+v, want allowed by ingress-to-services", az.Detail, az.Objects)
	}
	wantVerdict(t, mustTrace(t, e, ingress, apiURL), okMTLS)

	denied := mustTrace(t, e, "titanium-prod/prod-api-gateway", "http://prod-user-service:8001/users/")
	wantVerdict(t, denied, verdict{ResultDenied, CauseAuthzDenied, "mtls", 403, ""})
	if denied.Envoy.Message != "RBAC: access denied" {
		t.Errorf("envoy message %q", denied.Envoy.Message)
	}
	az := findHop(t, denied, "authorization")
	// The rule that does not match: principals, line 15 of the proposal.
	wantRef(t, refAt(t, az, "AuthorizationPolicy", "ingress-to-services", "spec.rules[0].from[0].source.principals"), "05-authz-allow-gateway-only.yaml", 15)
	if len(denied.Fixes) == 0 || !strings.Contains(denied.Fixes[0].Patch, "cluster.local/ns/titanium-prod/sa/prod-api-gateway-sa") {
		t.Errorf("fixes = %+v, want the caller's principal added", denied.Fixes)
	}
	// The blog service calls auth-service too (AUTH_SERVICE_URL): denied as well.
	wantVerdict(t, mustTrace(t, e, "titanium-prod/prod-blog-service", "http://prod-auth-service:8002/auth/"), verdict{ResultDenied, CauseAuthzDenied, "mtls", 403, ""})
}

// Proposal 06 (ours): the DISABLE rule under the name prod-default-mtls,
// replacing the ISTIO_MUTUAL one. The gateway and every sidecar now send
// plaintext to the titanium-prod services (cluster_tls.go
// buildUpstreamTLSSettings uses DISABLE as given, no auto mTLS), and the
// STRICT sidecars have no filter chain for plaintext
// (filterchain_options.go): the healthy /api/ breaks with 503 UC. /blog/ now
// fails earlier, for this new reason: the server's sidecar closes the
// plaintext connection before it ever connects to the loopback-bound
// application, so the cause changes from PORT_NOT_LISTENING to
// PLAINTEXT_TO_STRICT.
func TestProposal06DisableReplacesMTLS(t *testing.T) {
	e := titanium(t, "06-destinationrule-disable-replace.yaml")
	var drs []string
	for _, dr := range e.X.DestinationRules {
		if dr.Name == "prod-default-mtls" {
			drs = append(drs, dr.Obj.Pos.File+" "+dr.Spec.GetTrafficPolicy().GetTls().GetMode().String())
		}
	}
	if len(drs) != 1 || drs[0] != "06-destinationrule-disable-replace.yaml DISABLE" {
		t.Fatalf("prod-default-mtls rules after the replacement: %q", drs)
	}
	api := mustTrace(t, e, ingress, apiURL)
	wantVerdict(t, api, plainToStrict)
	if api.Envoy.Message != "upstream connect error or disconnect/reset before headers. reset reason: connection termination" {
		t.Errorf("envoy message %q", api.Envoy.Message)
	}
	in := findHop(t, api, "server inbound")
	wantRef(t, refAt(t, in, "PeerAuthentication", "prod-default-mtls", "spec.mtls.mode"), titaniumIstio+"peer-authentication.yaml", 9)
	refAt(t, in, "DestinationRule", "prod-default-mtls", "spec.trafficPolicy.tls.mode")
	// The fixes: back to ISTIO_MUTUAL first; weakening the server comes last.
	if len(api.Fixes) == 0 || !strings.Contains(api.Fixes[0].Patch, "ISTIO_MUTUAL") || api.Fixes[0].Security != "none" {
		t.Errorf("fixes = %+v", api.Fixes)
	}

	wantVerdict(t, mustTrace(t, e, ingress, blogURL), plainToStrict)
	wantVerdict(t, mustTrace(t, e, External, incident), plainToStrict)
	wantVerdict(t, mustTrace(t, e, "titanium-prod/prod-api-gateway", "http://prod-user-service:8001/users/"), plainToStrict)
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
