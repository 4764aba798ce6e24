package explain

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

const incident = "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused"

func likelihoods(r *Report) map[string]string {
	m := map[string]string{}
	for _, c := range r.Causes {
		m[c.Cause] = c.Likelihood
	}
	return m
}

func mustExplain(t *testing.T, text string) *Report {
	t.Helper()
	r, err := Explain(text)
	if err != nil {
		t.Fatalf("Explain(%q): %v", text, err)
	}
	if len(r.Causes) != len(Causes) {
		t.Fatalf("%d causes ranked, want %d", len(r.Causes), len(Causes))
	}
	return r
}

// TestTableWellFormed: each row has a unique id, a known field, a meaning, a
// source and an example, and names only ranked causes.
func TestTableWellFormed(t *testing.T) {
	fields := map[Field]bool{FieldBody: true, FieldRetried: true, FieldReset: true, FieldTransport: true, FieldStatus: true, FieldFlag: true, FieldDetails: true, FieldTermination: true, FieldCluster: true, FieldCurl: true}
	seen := map[string]bool{}
	for _, r := range Table {
		if seen[r.ID] {
			t.Errorf("duplicate row id %s", r.ID)
		}
		seen[r.ID] = true
		if !fields[r.Field] || r.Match == nil || r.Meaning == "" || r.Source == "" || r.Example == "" {
			t.Errorf("row %s is incomplete: %+v", r.ID, r)
		}
		for _, e := range r.Effects {
			if !contains(Causes, e.Cause) || e.Why == "" || e.Level < Weak || e.Level > Exclude {
				t.Errorf("row %s: bad effect %+v", r.ID, e)
			}
		}
	}
}

// TestEveryRow: each row's example is parsed into a part the row matches, and
// the ranking of the example honours each of the row's effects (an exclusion
// excludes; a support gives at least its level, and is not excluded).
func TestEveryRow(t *testing.T) {
	want := map[Level][]string{Weak: {High, MediumL, Low}, Medium: {High, MediumL}, Strong: {High}, Exclude: {Excluded}}
	for _, row := range Table {
		t.Run(row.ID, func(t *testing.T) {
			r := mustExplain(t, row.Example)
			found := false
			for _, p := range r.Parsed.Parts {
				for _, id := range p.Rows {
					found = found || id == row.ID
				}
			}
			if !found {
				t.Fatalf("example %q: no part matches row %s; parts %+v", row.Example, row.ID, r.Parsed.Parts)
			}
			got := likelihoods(r)
			for _, e := range row.Effects {
				if !contains(want[e.Level], got[e.Cause]) {
					t.Errorf("%s is %s, want one of %v (effect %q)", e.Cause, got[e.Cause], want[e.Level], e.Why)
				}
			}
		})
	}
}

// TestIncident: the incident's exact text ranks PORT_NOT_LISTENING first and
// says why no mTLS mismatch produces it.
func TestIncident(t *testing.T) {
	r := mustExplain(t, incident)
	if c := r.Causes[0]; c.Cause != trace.CausePortNotListening || c.Likelihood != High {
		t.Fatalf("first cause %+v, want PORT_NOT_LISTENING high", c)
	}
	got := likelihoods(r)
	for _, c := range tlsFamily {
		if got[c] != Excluded {
			t.Errorf("%s is %s, want excluded", c, got[c])
		}
	}
	for _, c := range r.Causes {
		if c.Cause == trace.CauseMTLSToNonMesh && !strings.Contains(c.Why, "TCP refusal") {
			t.Errorf("MTLS_TO_NON_MESH excluded because %q, want the TCP refusal", c.Why)
		}
	}
	if !strings.Contains(r.Summary, "No mTLS mismatch fits") {
		t.Errorf("summary %q does not say that mTLS mismatches are excluded", r.Summary)
	}
	p := r.Parsed
	if p.Format != FormatEnvoyBody || !p.Retried || p.ResetReason != "remote connection failure" || p.FailureReason != "delayed connect error: Connection refused" {
		t.Errorf("parsed %+v", p)
	}
}

// TestRefusalWordings: Envoy's older (errno) and newer (strerror) wordings,
// in bodies and access logs, rank the same.
func TestRefusalWordings(t *testing.T) {
	inputs := []string{
		incident,
		"upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111",
		`[2024-05-12T01:56:17.634Z] "GET /ip HTTP/1.1" 503 UF upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_111} - "delayed_connect_error:_111" 0 152 0 - "10.244.0.1" "curl/7.81.0" "ca692bb6" "httpbin.aegle.info" "10.244.0.11:80" inbound|80|| - 10.244.0.11:80 10.244.0.1:0 outbound_.8000_._.httpbin.httpbin.svc.cluster.local default`,
		`[2024-01-01T00:00:00.000Z] "GET /blog/ HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_Connection_refused} - "delayed_connect_error:_Connection_refused" 0 190 52 - "10.0.0.1" "curl/8.5.0" "7" "titanium.example.com" "10.4.2.7:8005" outbound|8005||prod-blog-service.titanium-prod.svc.cluster.local - 10.4.1.5:8080 10.0.0.1:51234 - -`,
	}
	var first map[string]string
	for _, in := range inputs {
		r := mustExplain(t, in)
		got := likelihoods(r)
		if r.Causes[0].Cause != trace.CausePortNotListening || got[trace.CausePortNotListening] != High {
			t.Errorf("%q: first %+v", in, r.Causes[0])
		}
		if first == nil {
			first = got
			continue
		}
		for c, l := range first {
			if got[c] != l {
				t.Errorf("%q: %s is %s, the incident's text gives %s", in, c, got[c], l)
			}
		}
	}
}

// TestAccessLogFields: the fields of Istio's default TEXT format land where
// they belong.
func TestAccessLogFields(t *testing.T) {
	r := mustExplain(t, `[2024-01-01T00:00:00.000Z] "GET /blog/ HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_Connection_refused} - "delayed_connect_error:_Connection_refused" 0 190 52 - "10.0.0.1" "curl/8.5.0" "7" "titanium.example.com" "10.4.2.7:8005" outbound|8005|v1|prod-blog-service.titanium-prod.svc.cluster.local - 10.4.1.5:8080 10.0.0.1:51234 - -`)
	p := r.Parsed
	want := Parsed{Format: FormatAccessLog, HTTPStatus: 503, ResponseFlags: "UF,URX", ResetReason: "remote connection failure", FailureReason: "delayed_connect_error:_Connection_refused",
		Cluster: "outbound|8005|v1|prod-blog-service.titanium-prod.svc.cluster.local", Direction: "outbound", Host: "prod-blog-service.titanium-prod.svc.cluster.local", Port: 8005, Subset: "v1",
		Method: "GET", Path: "/blog/", Authority: "titanium.example.com", UpstreamHost: "10.4.2.7:8005"}
	got := *p
	got.Parts, got.logLines, got.Details = nil, 0, ""
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parsed\n %+v\nwant\n %+v", got, want)
	}
	if to, ok := p.Target(); !ok || to != "http://titanium.example.com/blog/" {
		t.Errorf("target %q %v", to, ok)
	}
	// A TCP line: no method, so the target is the cluster's host:port.
	r = mustExplain(t, `[2024-01-01T00:00:00.000Z] "- - -" 0 UF upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_111} - "delayed_connect_error:_111" 0 0 1 - "-" "-" "-" "-" "10.0.0.9:5432" outbound|5432||db.data.svc.cluster.local - 10.96.0.20:5432 10.0.0.5:41000 - -`)
	if to, ok := r.Parsed.Target(); !ok || to != "db.data.svc.cluster.local:5432" {
		t.Errorf("TCP target %q %v", to, ok)
	}
	// The inbound cluster rules out every TLS cause on its own.
	r = mustExplain(t, `[2024-01-01T00:00:00.000Z] "GET / HTTP/1.1" 503 UF - - "-" 0 91 0 - "-" "curl/8.5.0" "1" "cart:8080" "10.0.0.9:8080" inbound|8080|| - 10.0.0.9:8080 10.0.0.5:41000 - default`)
	got2 := likelihoods(r)
	if got2[trace.CausePortNotListening] != MediumL || got2[trace.CauseMTLSToNonMesh] != Excluded || r.Causes[0].Cause != trace.CausePortNotListening {
		t.Errorf("inbound UF: %v", got2)
	}
	if _, ok := r.Parsed.Target(); !ok {
		t.Errorf("inbound line with an authority gives no target")
	}
	// Several lines: the first is read, and a note says so.
	r = mustExplain(t, "[a] \"GET / HTTP/1.1\" 404 NR route_not_found\n[b] \"GET / HTTP/1.1\" 503 UH no_healthy_upstream")
	if r.Causes[0].Cause != trace.CauseNoRoute || len(r.Notes) != 1 {
		t.Errorf("two lines: first %s, notes %v", r.Causes[0].Cause, r.Notes)
	}
}

func TestJSONAccessLog(t *testing.T) {
	r := mustExplain(t, `{"response_code":503,"response_flags":"UC","response_code_details":"upstream_reset_before_response_started{connection_termination}","upstream_cluster":"outbound|80||cart.shop.svc.cluster.local","authority":"cart","method":"GET","path":"/items","upstream_transport_failure_reason":null}`)
	if r.Parsed.Format != FormatAccessLogJSON || r.Parsed.HTTPStatus != 503 || r.Parsed.Port != 80 {
		t.Errorf("parsed %+v", r.Parsed)
	}
	if r.Causes[0].Cause != trace.CausePlaintextToStrict || r.Causes[0].Likelihood != High {
		t.Errorf("first %+v", r.Causes[0])
	}
	if _, err := Explain(`{"response_flags": "UF", broken`); err == nil {
		t.Errorf("broken JSON line gave no error")
	}
}

// TestExpectations pins, independently of the rows' own effects, what an
// operator should read from common texts.
func TestExpectations(t *testing.T) {
	cases := []struct {
		in, first, likelihood string
		excluded              []string
	}{
		{"curl: (56) Recv failure: Connection reset by peer", trace.CausePlaintextToStrict, High, []string{trace.CausePortNotListening}},
		{"curl: (7) Failed to connect to cart port 8080 after 3 ms: Connection refused", trace.CausePortNotListening, High, tlsFamily},
		{"curl: (35) error:0A00010B:SSL routines::wrong version number", trace.CauseMTLSToNonMesh, Low, []string{trace.CausePlaintextToStrict, trace.CausePortNotListening}},
		{"curl: (52) Empty reply from server", trace.CausePlaintextToStrict, MediumL, []string{trace.CausePortNotListening}},
		{"RBAC: access denied", trace.CauseAuthzDenied, High, []string{trace.CausePortNotListening, trace.CauseMTLSToNonMesh}},
		{"no healthy upstream", trace.CauseNoEndpoints, High, []string{trace.CausePortNotListening}},
		{"upstream connect error or disconnect/reset before headers. reset reason: connection termination", trace.CausePlaintextToStrict, High, []string{trace.CausePortNotListening, trace.CauseAuthzDenied}},
		{"upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end", trace.CauseMTLSToNonMesh, High, []string{trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseSANMismatch}},
		{"upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: 268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER", trace.CauseMTLSToNonMesh, High, []string{trace.CausePortNotListening}},
		{"upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify cert failed: verify SAN list:TLS_error_end", trace.CauseSANMismatch, High, []string{trace.CauseMTLSToNonMesh}},
		{`[2025-07-22T17:55:49.074Z] "GET / HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "10.244.1.1" "curl/8.14.1" "ff387ab3" "172.18.10.10" "-" inbound|80|| - 10.244.1.9:80 10.244.1.1:0 outbound_.80_._.nginx-svc.default.svc.cluster.local default`, trace.CauseAuthzDenied, High, tlsFamily},
		{`[x] "GET /checkout/ HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "-" "curl" "1" "shop.example.com" "-" - - 10.4.1.5:8080 10.0.0.1:1 - -`, trace.CauseNoRoute, High, []string{trace.CausePlaintextToStrict}},
		{`[x] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - 10.0.0.9:8080 10.0.0.7:52000 - -`, trace.CausePlaintextToStrict, High, []string{trace.CauseNoRoute}},
		{`[x] "GET /items HTTP/1.1" 503 NC cluster_not_found - "-" 0 0 0 - "-" "curl" "1" "cart" "-" - - 10.96.0.10:80 10.0.0.5:1 - default`, trace.CauseUnknownSubset, High, []string{trace.CausePortNotListening}},
		{`[x] "GET /admin HTTP/1.1" 403 UAEX ext_authz_denied - "-" 0 0 3 - "-" "curl" "1" "cart" "-" inbound|8080|| - 10.0.0.9:8080 10.0.0.5:1 - default`, trace.CauseAuthzDenied, High, nil},
		{`[x] "GET /pay HTTP/1.1" 502 - direct_response - "-" 0 0 0 - "-" "curl" "1" "payments.example.com" "-" block_all - 1.2.3.4:80 10.0.0.5:1 - block_all`, trace.CauseUnknownHost, MediumL, nil},
	}
	for _, c := range cases {
		r := mustExplain(t, c.in)
		if r.Causes[0].Cause != c.first || r.Causes[0].Likelihood != c.likelihood {
			t.Errorf("%q: first %s %s, want %s %s", c.in, r.Causes[0].Cause, r.Causes[0].Likelihood, c.first, c.likelihood)
		}
		got := likelihoods(r)
		for _, x := range c.excluded {
			if got[x] != Excluded {
				t.Errorf("%q: %s is %s, want excluded", c.in, x, got[x])
			}
		}
	}
}

func TestNoteWhenNoCauseFits(t *testing.T) {
	r := mustExplain(t, "upstream connect error or disconnect/reset before headers. reset reason: connection timeout")
	if !strings.HasPrefix(r.Summary, "no cause code fits well: a connect timeout") {
		t.Errorf("summary %q", r.Summary)
	}
	r = mustExplain(t, `[x] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 1 1 1 "-" "curl" "1" "cart" "10.0.0.9:80" outbound|80||cart.shop.svc.cluster.local - 1.2.3.4:80 5.6.7.8:1 - default`)
	for _, c := range r.Causes {
		if c.Likelihood != Excluded {
			t.Errorf("200: %s is %s", c.Cause, c.Likelihood)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, in := range []string{"", "   \n", "hello world", "error 42 happened (x)"} {
		if _, err := Explain(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// traceCases are the small meshes of the CLI's trace tests, one per cause.
var traceCases = []struct{ mesh, from, to string }{
	{"plaintext-to-strict", "shop/legacy", "http://cart/items"},
	{"plaintext-to-strict-dr-disable", "shop/frontend", "http://cart/items"},
	{"plaintext-to-strict-auto-mtls", "shop/frontend", "http://cart/items"},
	{"mtls-to-non-mesh", "shop/frontend", "http://cache:8080/"},
	{"san-mismatch", "shop/frontend", "http://cart/items"},
	{"authz-denied", "shop/frontend", "http://cart/items"},
	{"port-not-listening-loopback", "shop/frontend", "http://cart/items"},
	{"port-not-listening-targetport", "shop/frontend", "http://cart/items"},
	{"no-endpoints", "shop/frontend", "http://cart/items"},
	{"no-route", "istio-system/istio-ingressgateway", "http://shop.example.com/checkout/"},
	{"unknown-subset", "shop/frontend", "http://cart/items"},
	{"unknown-host-registry-only", "shop/frontend", "http://payments.example.com/pay"},
	{"unknown-host-gateway", "istio-system/istio-ingressgateway", "http://shop.example.com/cart/"},
}

// TestConsistentWithTrace keeps this table and trace's catalogue of Envoy
// responses (internal/trace/envoy.go) in agreement: what trace says a caller
// sees for a cause, explain ranks high or medium (a 503 NC fits a missing
// subset and an unknown host alike), whether given as the body (or curl
// error) or as the access-log line of the proxy that answered.
func TestConsistentWithTrace(t *testing.T) {
	for _, c := range traceCases {
		t.Run(c.mesh, func(t *testing.T) {
			res := load.Load(load.Options{Files: []string{"../cli/testdata/trace/" + c.mesh}})
			if len(res.Errors) > 0 {
				t.Fatalf("load: %v", res.Errors)
			}
			tr, err := trace.Run(resolve.New(mesh.Build(res.Objects, mesh.Options{})), c.from, c.to, trace.Options{NoFixes: true})
			if err != nil {
				t.Fatal(err)
			}
			var inputs []string
			if tr.Envoy.Message != "" {
				inputs = append(inputs, tr.Envoy.Message)
			}
			if tr.Envoy.ResponseFlags != "" || tr.Envoy.Details != "" {
				dash := func(s string) string {
					if s == "" {
						return "-"
					}
					return s
				}
				inputs = append(inputs, fmt.Sprintf(`[2024-01-01T00:00:00.000Z] "GET / HTTP/1.1" %d %s %s - "-" 0 0 0 - "-" "curl/8.5.0" "1" "cart" "-" - - 10.0.0.9:80 10.0.0.5:41000 - -`, tr.HTTPStatus, dash(tr.Envoy.ResponseFlags), dash(tr.Envoy.Details)))
			}
			if len(inputs) == 0 {
				t.Fatalf("trace gives no text for %s", tr.Cause)
			}
			for _, in := range inputs {
				r := mustExplain(t, in)
				got := likelihoods(r)
				if got[tr.Cause] == Excluded || got[tr.Cause] == Low {
					t.Errorf("trace's %s response %q: explain says %s (%s)", tr.Cause, in, got[tr.Cause], r.Causes[0].Why)
				}
			}
		})
	}
}

// TestNarrow: the configuration's cause becomes first and high, other open
// causes low; a cause the text excludes stays excluded, and the summary says
// the two disagree; an ok trace leaves the text's ranking.
func TestNarrow(t *testing.T) {
	run := func(m, from, to string) *trace.Trace {
		res := load.Load(load.Options{Files: []string{"../cli/testdata/trace/" + m}})
		tr, err := trace.Run(resolve.New(mesh.Build(res.Objects, mesh.Options{})), from, to, trace.Options{NoFixes: true})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	// "upstream connect error ... connection failure" leaves four causes open; the
	// loopback mesh picks PORT_NOT_LISTENING.
	r := mustExplain(t, "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure")
	r.Narrow(run("port-not-listening-loopback", "shop/frontend", "http://cart/items"))
	if c := r.Causes[0]; c.Cause != trace.CausePortNotListening || c.Likelihood != High || !strings.Contains(c.Check, "mesh.yaml:55") {
		t.Errorf("narrowed first %+v", c)
	}
	if got := likelihoods(r); got[trace.CauseMTLSToNonMesh] != Low || got[trace.CausePlaintextToStrict] != Excluded {
		t.Errorf("narrowed: %v", got)
	}
	// The incident's text against a mesh that denies: the text wins.
	r = mustExplain(t, incident)
	r.Narrow(run("authz-denied", "shop/frontend", "http://cart/items"))
	if r.Causes[0].Cause != trace.CausePortNotListening || likelihoods(r)[trace.CauseAuthzDenied] != Excluded || !strings.Contains(r.Summary, "rules it out") {
		t.Errorf("disagreeing trace: first %s, summary %q", r.Causes[0].Cause, r.Summary)
	}
	r = mustExplain(t, incident)
	r.Narrow(run("ok-mtls", "shop/frontend", "http://cart/items"))
	if r.Causes[0].Cause != trace.CausePortNotListening || !strings.Contains(r.Summary, "lets shop/frontend -> http://cart/items through") {
		t.Errorf("ok trace: summary %q", r.Summary)
	}
}
