package whatif

import (
	"bytes"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/report/sariftest"
)

// The SARIF of a judged change validates against the OASIS SARIF 2.1.0
// schema (package sariftest).
func TestSARIFSchema(t *testing.T) {
	for _, p := range []string{"06-destinationrule-disable-replace.yaml", "01-namespace-permissive.yaml"} {
		r := judge(t, p)
		var b bytes.Buffer
		if err := r.SARIF(&b, "test", "/nowhere", false); err != nil {
			t.Fatal(err)
		}
		sariftest.Validate(t, p, b.Bytes())
	}
}

func TestCategorize(t *testing.T) {
	ok := func(sec string) Verdict { return Verdict{Result: "ok", Security: sec} }
	fail := func(c string) Verdict { return Verdict{Result: "fail", Cause: c} }
	denied := Verdict{Result: "denied", Cause: "AUTHZ_DENIED"}
	for _, c := range []struct {
		b, a Verdict
		want string
	}{
		{ok("mtls"), ok("mtls"), ""},
		{ok("mtls"), fail("PLAINTEXT_TO_STRICT"), Broken},
		{ok("mtls"), denied, NewlyDenied},
		{denied, ok("mtls"), NewlyAllowed},
		{fail("NO_ENDPOINTS"), ok("mtls"), Fixed},
		{fail("PLAINTEXT_TO_STRICT"), ok("plaintext"), NowPlaintext},
		{fail("PLAINTEXT_TO_STRICT"), ok("mtls"), Fixed},
		{ok("mtls"), ok("plaintext"), LostMTLS},
		{ok("plaintext"), ok("mtls"), GainedMTLS},
		{fail("NO_ENDPOINTS"), fail("PORT_NOT_LISTENING"), Changed},
	} {
		if got := categorize(c.b, c.a); got != c.want {
			t.Errorf("%v => %v: %q, want %q", c.b, c.a, got, c.want)
		}
	}
}

// Deleting an object that is not there is an error; deleting one removes it
// and the paths it decided change.
func TestDelete(t *testing.T) {
	base := titaniumBase(t)
	if _, err := Run(Input{Base: base, Delete: []objects.Key{{Kind: "DestinationRule", Namespace: "titanium-prod", Name: "nope"}}}, Options{}); err == nil {
		t.Error("deleting a missing object must fail")
	}
	r, err := Run(Input{Base: base, Delete: []objects.Key{{Kind: "PeerAuthentication", Namespace: "titanium-prod", Name: "prod-default-mtls"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Without the STRICT policy the namespace is PERMISSIVE (mesh default):
	// the databases' plaintext calls now work.
	if r.Summary.NowPlaintext == 0 || !r.Weaker || r.Breaks {
		t.Errorf("%s", r.Text())
	}
}
