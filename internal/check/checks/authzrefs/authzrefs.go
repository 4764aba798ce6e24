// Package authzrefs checks what AuthorizationPolicies refer to: principals
// written with the spiffe:// scheme Istio adds itself, selectors that select
// no workload, and identities (principals, namespaces, service accounts) that
// no workload of the input runs as.
package authzrefs

import (
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// SpiffePrefix is MD0402.
var SpiffePrefix = &check.Check{
	Code: "MD0402", Name: "authz-principal-spiffe-prefix", Severity: check.Error,
	Doc: check.Doc{
		Title: "AuthorizationPolicy principal written with the spiffe:// scheme",
		What: "A principal of an AuthorizationPolicy (source.principals, source.notPrincipals, or a `when` condition on " +
			"source.principal) that starts with spiffe://.",
		Why: "Istio prepends spiffe:// to every principal itself: generator.go srcPrincipalGenerator builds the matcher with " +
			"matcher.StringMatcherWithPrefix(value, spiffe.URIPrefix) (pilot/pkg/security/authz/model), and " +
			"\"A valid SPIFFE identity in authorization has no SPIFFE:// prefix\" (pilot/pkg/security/trustdomain/bundle.go). " +
			"A value written with the scheme is compared with spiffe://spiffe://..., which no peer certificate carries: in an " +
			"ALLOW policy those callers are denied, in a DENY policy the rule never applies and the callers it should block get through.",
		Example: "kind: AuthorizationPolicy\nspec:\n  action: DENY\n  rules:\n  - from:\n    - source:\n        principals: [\"spiffe://cluster.local/ns/legacy/sa/batch\"]",
		Fix:     "Write the principal without the scheme: `<trust domain>/ns/<namespace>/sa/<service account>`.",
	},
	Run: runSpiffePrefix,
}

// SelectsNothing is MD0403.
var SelectsNothing = &check.Check{
	Code: "MD0403", Name: "authz-selects-nothing", Severity: check.Warning,
	Doc: check.Doc{
		Title: "AuthorizationPolicy selector that selects no workload",
		What: "An AuthorizationPolicy whose selector matches no workload of its namespace, or, in the root namespace, no workload " +
			"of any namespace. Reported only when the input holds the namespace (its Namespace object or workloads in it). " +
			"Policies with targetRef(s) are left out: they attach to Gateway API gateways and waypoints, whose pods Istio " +
			"deploys itself and which are not in the manifests.",
		Why: "authorization.go ListAuthorizationPolicies reads the policies of the workload's namespace and of the root namespace, " +
			"and policyattachment.go ShouldAttachPolicy attaches a selector policy only when its matchLabels are a subset of the " +
			"pod labels (pilot/pkg/model): a selector nobody matches changes nothing, and the workloads it was written for " +
			"are not protected by it. istioctl analyze reports the same as IST0127 NoMatchingWorkloadsFound " +
			"(pkg/config/analysis/analyzers/authz/authorizationpolicies.go).",
		Example: "kind: AuthorizationPolicy\nmetadata: {name: cart-deny-legacy, namespace: shop}\nspec:\n  selector: {matchLabels: {app: crat}}   # the pods are app=cart\n  action: DENY",
		Fix: "Give the selector the labels of the pods it is meant for. meshdoctor proposes them when exactly one set of pod labels " +
			"of the namespace differs from the selector in one close value.",
	},
	Run: runSelectsNothing,
}

// UnknownIdentity is MD0404.
var UnknownIdentity = &check.Check{
	Code: "MD0404", Name: "authz-unknown-identity", Severity: check.Warning,
	Doc: check.Doc{
		Title: "AuthorizationPolicy identity that no workload runs as",
		What: "An exact principal (`<trust domain>/ns/<namespace>/sa/<service account>`), service account or source namespace " +
			"(or their not- forms and `when` conditions) that no workload of the input runs as, in a namespace the input holds " +
			"(its Namespace object or workloads in it). A ServiceAccount object of the name counts as an identity. Principals " +
			"of another trust domain than cluster.local and the mesh's are left out.",
		Why: "A peer matches a principal when its certificate's URI SAN is `spiffe://<value>` (generator.go srcPrincipalGenerator), " +
			"and its identity is `spiffe://<trust domain>/ns/<namespace>/sa/<serviceAccountName>` (pkg/spiffe/spiffe.go genSpiffeURI); " +
			"cluster.local stands for the mesh's trust domain (pilot/pkg/security/trustdomain/bundle.go ReplaceTrustDomainAliases). " +
			"A typo in the namespace or the service account matches nobody: an ALLOW value lets no caller in, a DENY value blocks " +
			"no one, and a not- value excludes no one. istioctl analyze reports unknown namespaces as IST0101 ReferencedResourceNotFound.",
		Example: "rules:\n- from:\n  - source:\n      principals: [\"cluster.local/ns/shop/sa/frontent\"]   # the pods run as frontend",
		Fix:     "Write the identity the callers run as: the namespace and serviceAccountName of their pods.",
	},
	Run: runUnknownIdentity,
}

// idKind says what an identity value names.
type idKind int8

const (
	idPrincipal idKind = iota
	idNamespace
	idServiceAccount
)

// idValue is one value of a rule that matches on the peer's identity.
type idValue struct {
	kind  idKind
	value string
	// not is set for notPrincipals, notNamespaces, notServiceAccounts and
	// notValues of a `when` condition.
	not bool
	// field names the field for messages: "principal", "namespace", ...
	field string
	// Where the value is: spec.rules[rule].from[item].source.<list>[k], or
	// spec.rules[rule].when[item].<list>[k]. The path is built only for
	// findings.
	when          bool
	rule, item, k int
	list          string
}

// path returns the value's field path.
func (v idValue) path() string {
	if v.when {
		return objects.Path("spec", "rules", v.rule, "when", v.item, v.list, v.k)
	}
	return objects.Path("spec", "rules", v.rule, "from", v.item, "source", v.list, v.k)
}

// identityValues lists the identity values of the rules of every policy,
// in the order of p.X.AuthorizationPolicies (computed once per run, for
// MD0402 and MD0404): sources (principals, namespaces, serviceAccounts and
// their not- forms) and `when` conditions on source.principal,
// source.namespace and source.serviceAccount, which Istio matches with the
// same generators (pilot/pkg/security/authz/model/model.go New).
func identityValues(p *check.Pass) [][]idValue {
	return p.Shared("authzrefs.identityValues", func() any {
		out := make([][]idValue, len(p.X.AuthorizationPolicies))
		for n, pol := range p.X.AuthorizationPolicies {
			out[n] = policyValues(pol)
		}
		return out
	}).([][]idValue)
}

func policyValues(pol *mesh.AuthorizationPolicy) []idValue {
	var out []idValue
	for i, r := range pol.Spec.GetRules() {
		if r == nil {
			continue
		}
		add := func(when bool, j int, list string, kind idKind, field string, not bool, vals []string) {
			for k, v := range vals {
				out = append(out, idValue{kind: kind, value: v, not: not, field: field, when: when, rule: i, item: j, k: k, list: list})
			}
		}
		for j, f := range r.GetFrom() {
			s := f.GetSource()
			if s == nil {
				continue
			}
			add(false, j, "principals", idPrincipal, "principal", false, s.GetPrincipals())
			add(false, j, "notPrincipals", idPrincipal, "principal", true, s.GetNotPrincipals())
			add(false, j, "namespaces", idNamespace, "namespace", false, s.GetNamespaces())
			add(false, j, "notNamespaces", idNamespace, "namespace", true, s.GetNotNamespaces())
			add(false, j, "serviceAccounts", idServiceAccount, "service account", false, s.GetServiceAccounts())
			add(false, j, "notServiceAccounts", idServiceAccount, "service account", true, s.GetNotServiceAccounts())
		}
		for j, w := range r.GetWhen() {
			var kind idKind
			switch w.GetKey() {
			case "source.principal":
				kind = idPrincipal
			case "source.namespace":
				kind = idNamespace
			case "source.serviceAccount":
				kind = idServiceAccount
			default:
				continue
			}
			field := w.GetKey() + " condition"
			add(true, j, "values", kind, field, false, w.GetValues())
			add(true, j, "notValues", kind, field, true, w.GetNotValues())
		}
	}
	return out
}

// effect says what a value that matches no peer does to its rule.
func effect(action string, not bool) string {
	switch {
	case action == resolve.AuthzAllow && !not:
		return "the callers it names never match it, so this ALLOW policy denies them (403) unless another rule lets them in"
	case action == resolve.AuthzAllow:
		return "the exclusion never applies, so this ALLOW rule lets in the callers it was meant to exclude"
	case action == resolve.AuthzDeny && !not:
		return "the callers it names never match it, so this DENY rule lets through the callers it was meant to block"
	case action == resolve.AuthzDeny:
		return "the exemption never applies, so this DENY rule also blocks the callers it was meant to spare"
	case !not:
		return fmt.Sprintf("the callers it names never match it, so this %s rule never applies to them", action)
	}
	return fmt.Sprintf("the exclusion of this %s rule never applies", action)
}

// knownNamespace reports whether the input holds namespace ns: its Namespace
// object, or workloads in it (the implied ingress gateway aside). Elsewhere
// the input says nothing about the namespace's workloads.
func knownNamespace(x *mesh.Index, ns string) bool {
	if n := x.Namespace(ns); n != nil && !n.Implicit() {
		return true
	}
	for _, w := range x.WorkloadsIn(ns) {
		if !w.Implicit {
			return true
		}
	}
	return false
}

// labelString writes labels as k=v,k=v in key order.
func labelString(m map[string]string) string {
	var s []string
	for _, k := range objects.SortedKeys(m) {
		s = append(s, k+"="+m[k])
	}
	return strings.Join(s, ",")
}

// typo is check.Typo on the lower-cased values (identities and namespaces
// are compared as Istio's matchers see them: exact strings, but a case slip
// is still a typo to name).
func typo(s, c string) (int, bool) {
	return check.Typo(strings.ToLower(s), strings.ToLower(c))
}

// related reports whether c is close to s without being a typo of it (see
// typo): the two differ only in their digits, or one contains the other. It
// is worth a "did you mean" but never a fix.
func related(s, c string) bool {
	s, c = strings.ToLower(s), strings.ToLower(c)
	if s == c || s == "" || c == "" {
		return false
	}
	return check.OtherInstance(s, c) || strings.Contains(c, s) || strings.Contains(s, c)
}

// quoteList writes up to five quoted names and how many more there are.
func quoteList(names []string) string {
	var q []string
	for i, n := range names {
		if i == 5 {
			q = append(q, fmt.Sprintf("and %d more", len(names)-5))
			break
		}
		q = append(q, fmt.Sprintf("%q", n))
	}
	return strings.Join(q, ", ")
}
