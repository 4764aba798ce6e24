package whatif

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

var update = flag.Bool("update", false, "rewrite the judged-proposals table of examples/titanium/README.md")

const (
	titaniumOverlay   = "../../examples/titanium/k8s-manifests/overlays/gcp"
	titaniumProposals = "../../examples/titanium/proposals"
	titaniumReadme    = "../../examples/titanium/README.md"
)

func titaniumBase(t testing.TB) []*objects.Object {
	t.Helper()
	var r load.Result
	load.Kustomize(titaniumOverlay, &r)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	return r.Objects
}

func proposal(t testing.TB, name string) []*objects.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(titaniumProposals, name))
	if err != nil {
		t.Fatal(err)
	}
	var r load.Result
	load.Decode(name, data, &r)
	if len(r.Errors) > 0 || len(r.Objects) == 0 {
		t.Fatal(name, r.Errors)
	}
	return r.Objects
}

func judge(t *testing.T, name string) *Report {
	t.Helper()
	all := checks.All()
	findings := func(x *mesh.Index) []Finding {
		var out []Finding
		for _, f := range check.Run(x, all, check.Options{}).Findings {
			out = append(out, Finding{Code: f.Code, Severity: f.Severity.String(), Message: f.Message, Object: f.Object})
		}
		return out
	}
	rep, err := Run(Input{Base: titaniumBase(t), Change: proposal(t, name)}, Options{Findings: findings})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The team's proposals, judged as Istio would apply them on top of the
// running configuration (the proposal's objects are newer):
//   - 01 adds a second namespace-wide PeerAuthentication: the oldest one wins
//     (pilot/pkg/security/authn/policy_applier.go ComposePeerAuthentication
//     keeps the oldest namespace-wide policy), so nothing changes.
//   - 02 sets ports PERMISSIVE on the app workloads: the mesh clients already
//     use mTLS, so their paths do not change, but the databases (no sidecar)
//     now reach those ports in plaintext: security drops.
//   - 03 adds a DISABLE DestinationRule for the same host as the existing
//     ISTIO_MUTUAL one, in the same namespace: the rules are merged and the
//     oldest one's traffic policy is kept (push_context.go
//     mergeDestinationRule), so nothing changes.
//   - 04 makes the gateway's own inbound STRICT: nothing calls the gateway
//     inside the mesh, so nothing changes (and /blog/ still fails).
//   - 05 allows only the gateway: every service-to-service call is denied
//     (an ALLOW policy denies what no rule matches).
//   - 06 replaces the ISTIO_MUTUAL rule by DISABLE: every caller sends
//     plaintext to STRICT servers and fails.
//
// None of them fixes /blog/: its application binds 127.0.0.1.
func TestProposals(t *testing.T) {
	cases := []struct {
		file                                   string
		breaks, weaker                         bool
		broken, denied, lost, plaintext, fixed int64
	}{
		{file: "01-namespace-permissive.yaml"},
		{file: "02-per-port-permissive.yaml", weaker: true, plaintext: 6},
		{file: "03-destinationrule-disable.yaml"},
		{file: "04-gateway-peerauthentication.yaml"},
		{file: "05-authz-allow-gateway-only.yaml", breaks: true, denied: 12},
		{file: "06-destinationrule-disable-replace.yaml", breaks: true, broken: 18},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			r := judge(t, c.file)
			s := r.Summary
			got := fmt.Sprintf("breaks=%v weaker=%v broken=%d denied=%d lost=%d plaintext=%d fixed=%d", r.Breaks, r.Weaker, s.Broken, s.NewlyDenied, s.LostMTLS, s.NowPlaintext, s.Fixed)
			want := fmt.Sprintf("breaks=%v weaker=%v broken=%d denied=%d lost=%d plaintext=%d fixed=%d", c.breaks, c.weaker, c.broken, c.denied, c.lost, c.plaintext, c.fixed)
			if got != want {
				t.Errorf("got  %s\nwant %s\n%s", got, want, r.Text())
			}
			for _, ch := range r.Changes {
				if ch.Category == Fixed && strings.Contains(ch.To, "/blog/") {
					t.Errorf("no proposal fixes /blog/: %+v", ch)
				}
			}
		})
	}
}

// The broken paths of proposal 06 name the replaced rule's DISABLE line and
// the STRICT policy, file:line.
func TestProposalObjects(t *testing.T) {
	r := judge(t, "06-destinationrule-disable-replace.yaml")
	var b strings.Builder
	for _, c := range r.Changes {
		for _, o := range c.Objects {
			fmt.Fprintf(&b, "%s %s:%d %s\n", o.Kind, o.File, o.Line, o.Field)
		}
	}
	for _, want := range []string{
		"DestinationRule 06-destinationrule-disable-replace.yaml:16 spec.trafficPolicy.tls.mode",
		"PeerAuthentication " + titaniumOverlay + "/istio/peer-authentication.yaml:9 spec.mtls.mode",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

// README's table is whatif's output: regenerate it with -update.
func TestReadmeTable(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(titaniumProposals, "*.yaml"))
	var b bytes.Buffer
	b.WriteString("| proposal | verdict | broken | newly denied | lose mTLS | now plaintext | fixed | new findings | what happens |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range files {
		name := filepath.Base(f)
		r := judge(t, name)
		s := r.Summary
		verdict := "changes nothing"
		switch {
		case r.Breaks:
			verdict = "**breaks paths**"
		case r.Weaker:
			verdict = "**lowers security**"
		case s.Fixed > 0:
			verdict = "fixes paths"
		case len(r.Changes) > 0:
			verdict = "changes failures only"
		}
		what := "no path changes"
		var codes []string
		for _, f := range r.FindingsAdded {
			codes = append(codes, f.Code)
		}
		if len(r.FindingsAdded) > 0 {
			what = "no path changes; " + r.FindingsAdded[0].Message
		}
		if len(r.Changes) > 0 {
			c := r.Changes[0]
			from := strings.Join(c.Sample, ", ")
			if c.Gateway != "" {
				from = c.Gateway
			}
			what = fmt.Sprintf("%s: %s -> `%s`: %s => %s", c.Category, from, c.To, c.Before, c.After)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %d | %d | %d | %d | %d | %s | %s |\n", name, verdict, s.Broken, s.NewlyDenied, s.LostMTLS, s.NowPlaintext, s.Fixed, strings.Join(codes, ", "), strings.ReplaceAll(what, "|", "\\|"))
	}
	table := b.String()
	data, err := os.ReadFile(titaniumReadme)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- whatif table: generated by internal/whatif TestReadmeTable -->\n", "<!-- end of whatif table -->\n"
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README has no %q ... %q section", begin, end)
	}
	cur := s[i+len(begin) : j]
	if cur == table {
		return
	}
	if !*update {
		t.Fatalf("examples/titanium/README.md's whatif table is stale; run go test ./internal/whatif -run ReadmeTable -update\nwant:\n%s", table)
	}
	if err := os.WriteFile(titaniumReadme, []byte(s[:i+len(begin)]+table+s[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}
