package check

import (
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// The closeness rules of the fixes that correct a name or a label value: a
// fix may replace a value only by one the user most likely meant to type.
// Shared by the checks so that one rule decides what counts as a typo.

// EditClose reports whether c is within a typo's edit distance of s (a third
// of s's length, plus one: the threshold of trace's "did you mean"), with the
// distance.
func EditClose(s, c string) (int, bool) {
	d := trace.EditDistance(s, c)
	return d, d <= len(s)/3+1
}

// OtherInstance reports whether s and c differ only in their digits: v3 and
// v2, gateway-1 and gateway-2 name two versions or instances, not a typo.
func OtherInstance(s, c string) bool { return withoutDigits(s) == withoutDigits(c) }

// Qualified reports whether one of a and b is the other with a qualifier: it
// contains the other and more than one character more, or a separator (web
// and web-admin, ingressgateway and internal-ingressgateway).
func Qualified(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if a == "" || !strings.Contains(b, a) {
		return false
	}
	rest := strings.Replace(b, a, "", 1)
	return len(rest) > 1 || strings.ContainsAny(rest, "-_./:")
}

// Typo reports whether c is a typo of s, with their edit distance: close in
// edit distance, and neither another instance nor s with a qualifier: either
// of those names another workload or identity, not the one meant.
func Typo(s, c string) (int, bool) {
	if s == c || OtherInstance(s, c) || Qualified(s, c) {
		return 0, false
	}
	return EditClose(s, c)
}

func withoutDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, s)
}
