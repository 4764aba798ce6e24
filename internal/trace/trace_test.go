package trace

import (
	"reflect"
	"strings"
	"testing"

	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

func TestCloseMatches(t *testing.T) {
	keys := []string{"shop/frontend", "shop/cart", "shop/checkout", "titanium-prod/prod-blog-service", "titanium-prod/prod-redis", "titanium-prod/prod-postgres", "istio-system/istio-ingressgateway"}
	for _, c := range []struct {
		typed string
		want  []string
	}{
		{"shop/frontnd", []string{"shop/frontend"}},                              // a typo: not every workload of the namespace
		{"shop/chekout", []string{"shop/checkout"}},                              // a letter missing
		{"shp/frontend", []string{"shop/frontend"}},                              // the namespace misspelt
		{"titanium-prod/prod-blog", []string{"titanium-prod/prod-blog-service"}}, // part of the name
		{"istio-system/ingressgateway", []string{"istio-system/istio-ingressgateway"}},
		{"shop/payments", nil},
	} {
		if got := closeMatches(c.typed, keys, 5); !reflect.DeepEqual(got, c.want) {
			t.Errorf("closeMatches(%q) = %q, want %q", c.typed, got, c.want)
		}
	}
}

// A fix that sets tls.mode DISABLE must say so: DISABLE is the enum's zero
// value, which JSON omits, so a plain merge patch would read "mode: null".
func TestPatchWritesZeroEnums(t *testing.T) {
	dr := &networkingv1.DestinationRule{}
	dr.APIVersion, dr.Kind, dr.Name, dr.Namespace = "networking.istio.io/v1", "DestinationRule", "cache", "shop"
	dr.Spec.Host = "cache"
	dr.Spec.TrafficPolicy = &networking.TrafficPolicy{Tls: &networking.ClientTLSSettings{Mode: networking.ClientTLSSettings_ISTIO_MUTUAL}}
	old := &objects.Object{APIVersion: dr.APIVersion, Kind: dr.Kind, Namespace: "shop", Name: "cache", Typed: dr, Pos: objects.Pos{File: "dr.yaml", Line: 3}}
	nw := copyObject(old)
	nw.Typed.(*networkingv1.DestinationRule).Spec.TrafficPolicy.Tls.Mode = networking.ClientTLSSettings_DISABLE
	p, err := patchYAML(Change{Old: old, New: nw})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p, "mode: DISABLE") || strings.Contains(p, "null") || !strings.HasPrefix(p, "# kubectl patch --type merge, on dr.yaml:3\n") {
		t.Errorf("patch:\n%s", p)
	}
}

// What a caller sees without a proxy, and the empty bodies Envoy sends.
func TestResponses(t *testing.T) {
	for _, c := range []struct {
		cause          string
		viaProxy, http bool
		status         int
		flags, text    string
	}{
		{CausePlaintextToStrict, false, true, 0, "", "curl: (56)"},
		{CausePlaintextToStrict, true, true, 503, "UC", "reset reason: connection termination"},
		{CausePortNotListening, false, true, 0, "", "Connection refused"},
		{CausePortNotListening, true, true, 503, "UF,URX", "delayed connect error: Connection refused"},
		{CauseUnknownHost, false, true, 0, "", "Could not resolve host"},
		{CauseAuthzDenied, true, true, 403, "", "RBAC: access denied"},
		{CauseAuthzDenied, true, false, 0, "", "connection closed"},
		{CauseNoRoute, true, true, 404, "NR", ""},
		{CauseUnknownSubset, true, true, 503, "NC", ""},
		{CauseNoEndpoints, true, true, 503, "UH", "no healthy upstream"},
	} {
		status, e := response(c.cause, c.viaProxy, c.http)
		if status != c.status || e.ResponseFlags != c.flags || !strings.Contains(e.Message, c.text) || (c.text == "" && e.Message != "") {
			t.Errorf("response(%s, proxy=%v, http=%v) = %d %q %q", c.cause, c.viaProxy, c.http, status, e.ResponseFlags, e.Message)
		}
	}
}
