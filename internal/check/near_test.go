package check_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"
)

// The typo rule behind the fixes that correct a value: a slip of the keys is
// a typo; another version, another instance or the value with a qualifier
// names something else and must never be proposed.
func TestTypo(t *testing.T) {
	for _, c := range []struct {
		s, c string
		want bool
	}{
		{"ingresgateway", "ingressgateway", true},
		{"frontnd", "frontend", true},
		{"prod-api-gatway", "prod-api-gateway", true},
		{"web", "web", false},                                // the same value
		{"v3", "v2", false},                                  // another version
		{"ingressgateway2", "ingressgateway", false},         // another instance
		{"internal-ingressgateway", "ingressgateway", false}, // a qualifier
		{"ingress", "ingressgateway", false},                 // a qualifier
		{"web", "web-admin", false},                          // a qualifier
		{"cart", "catalog", false},                           // too far apart
	} {
		if _, got := check.Typo(c.s, c.c); got != c.want {
			t.Errorf("Typo(%q, %q) = %v, want %v", c.s, c.c, got, c.want)
		}
	}
}
