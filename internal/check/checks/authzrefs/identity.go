package authzrefs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// identities indexes who the input's workloads run as.
type identities struct {
	// principals holds Engine.Principal of every workload and of every
	// ServiceAccount object (a pod outside the input may run as it).
	principals map[string]bool
	// namespaces holds the namespaces of those identities.
	namespaces map[string]bool
	// serviceAccounts lists the ServiceAccount objects of each namespace.
	serviceAccounts map[string][]string
}

func indexIdentities(p *check.Pass) *identities {
	id := &identities{principals: make(map[string]bool, len(p.X.Workloads)), namespaces: map[string]bool{}, serviceAccounts: map[string][]string{}}
	for _, w := range p.X.Workloads {
		id.principals[p.Engine.Principal(w)] = true
		id.namespaces[w.Namespace] = true
	}
	for _, o := range p.X.Objects {
		if o.Kind == "ServiceAccount" {
			id.principals[p.Engine.Principal(serviceAccount(o.Namespace, o.Name))] = true
			id.namespaces[o.Namespace] = true
			id.serviceAccounts[o.Namespace] = append(id.serviceAccounts[o.Namespace], o.Name)
		}
	}
	return id
}

// serviceAccount is a pod of namespace ns running as sa, for Engine.Principal.
func serviceAccount(ns, sa string) *mesh.Workload {
	return &mesh.Workload{Namespace: ns, ServiceAccount: sa}
}

// parsePrincipal splits "<td>/ns/<ns>/sa/<sa>".
func parsePrincipal(v string) (td, ns, sa string, ok bool) {
	td, rest, ok1 := strings.Cut(v, "/ns/")
	ns, sa, ok2 := strings.Cut(rest, "/sa/")
	if !ok1 || !ok2 || td == "" || ns == "" || sa == "" || strings.Contains(td, "/") || strings.Contains(ns, "/") || strings.Contains(sa, "/") {
		return "", "", "", false
	}
	return td, ns, sa, true
}

func runUnknownIdentity(p *check.Pass) {
	var id *identities
	x := p.X
	values := identityValues(p)
	for n, pol := range x.AuthorizationPolicies {
		for _, v := range values[n] {
			if strings.Contains(v.value, "*") {
				continue
			}
			if id == nil {
				id = indexIdentities(p)
			}
			var ns, sa string
			switch v.kind {
			case idPrincipal:
				td, pns, psa, ok := parsePrincipal(v.value)
				// cluster.local stands for the mesh's trust domain (the
				// engine's migratePrincipal, trustdomain/bundle.go
				// ReplaceTrustDomainAliases); another trust domain is
				// another mesh's, which the input does not describe.
				if !ok || (td != "cluster.local" && td != x.Mesh.TrustDomain) {
					continue
				}
				ns, sa = pns, psa
			case idServiceAccount:
				// "<ns>/<sa>", or "<sa>" in the policy's namespace
				// (generator.go serviceAccountRegex).
				var ok bool
				if ns, sa, ok = strings.Cut(v.value, "/"); !ok {
					ns, sa = pol.Namespace, v.value
				}
			case idNamespace:
				ns = v.value
			}
			if v.kind == idNamespace {
				if id.namespaces[ns] {
					continue
				}
			} else if id.principals[p.Engine.Principal(serviceAccount(ns, sa))] {
				continue
			}
			if !knownNamespace(x, ns) {
				continue
			}
			reportUnknown(p, id, pol, v, ns, sa)
		}
	}
}

// accounts returns the service accounts of namespace ns (those its workloads
// run as and its ServiceAccount objects) and the workloads that run as each.
func (id *identities) accounts(x *mesh.Index, ns string) map[string][]*mesh.Workload {
	out := map[string][]*mesh.Workload{}
	for _, w := range x.WorkloadsIn(ns) {
		sa := w.ServiceAccount
		if sa == "" {
			sa = "default"
		}
		out[sa] = append(out[sa], w)
	}
	for _, sa := range id.serviceAccounts[ns] {
		if _, ok := out[sa]; !ok {
			out[sa] = nil
		}
	}
	return out
}

// closeness says how a suggestion relates to the value written.
type closeness int8

const (
	// closeTypo: a typo of the value (see typo), the only closeness that
	// may change who a rule names by a fix.
	closeTypo closeness = iota
	// closeNamespace: the same service account in another namespace.
	closeNamespace
	// closeRelated: another version of the value, or the value with a
	// qualifier (see related): another identity, a hint only.
	closeRelated
)

// suggestion is an identity near the one written.
type suggestion struct {
	ns, sa string
	close  closeness
	d      int
	users  []*mesh.Workload
}

// nearSuggestion classifies candidate c of the written s, or returns false
// when it is not near.
func nearSuggestion(s, c string) (closeness, int, bool) {
	if d, ok := typo(s, c); ok {
		return closeTypo, d, true
	}
	if related(s, c) {
		return closeRelated, trace.EditDistance(s, c), true
	}
	return 0, 0, false
}

// reportUnknown reports value v of pol, which names an identity nobody runs
// as in namespace ns (service account sa), with the identities near it.
//
// A fix changes who the rule names, so it is proposed only for the one
// suggestion that is a typo of the value. The same service account in
// another namespace is proposed too when the rule can only take access away
// by it (a DENY value or an ALLOW exclusion): naming another namespace's
// callers in an ALLOW value, or exempting them from a DENY, would let in
// callers the policy was not written for. Other suggestions (another version
// of a service account, a name with a qualifier such as web-admin for web)
// are another workload's identity: they stay a "did you mean" of the message.
func reportUnknown(p *check.Pass, id *identities, pol *mesh.AuthorizationPolicy, v idValue, ns, sa string) {
	x := p.X
	var what, none string
	var sugs []suggestion
	if v.kind == idNamespace {
		what = fmt.Sprintf("no workload of the input runs in namespace %s", ns)
		var with []string
		for _, n := range objects.SortedKeys(id.namespaces) {
			if len(x.WorkloadsIn(n)) > 0 {
				with = append(with, n)
			}
			if c, d, ok := nearSuggestion(ns, n); ok {
				sugs = append(sugs, suggestion{ns: n, close: c, d: d})
			}
		}
		none = "the namespaces with workloads are " + quoteList(with)
		if len(with) == 0 {
			none = "the input has no workloads"
		}
	} else {
		what = fmt.Sprintf("no workload of the input runs as service account %s in namespace %s", sa, ns)
		here := id.accounts(x, ns)
		for _, s := range objects.SortedKeys(here) {
			if c, d, ok := nearSuggestion(sa, s); ok {
				sugs = append(sugs, suggestion{ns: ns, sa: s, close: c, d: d, users: here[s]})
			}
		}
		if len(sugs) == 0 {
			// A namespace mix-up: the same service account elsewhere.
			for _, n := range objects.SortedKeys(id.namespaces) {
				if n == ns {
					continue
				}
				if users, ok := id.accounts(x, n)[sa]; ok {
					sugs = append(sugs, suggestion{ns: n, sa: sa, close: closeNamespace, d: 1, users: users})
				}
			}
		}
		none = fmt.Sprintf("the service accounts of namespace %s are %s", ns, quoteList(objects.SortedKeys(here)))
		if len(here) == 0 {
			none = fmt.Sprintf("namespace %s runs no workload", ns)
		}
	}
	sort.SliceStable(sugs, func(i, j int) bool {
		if sugs[i].close != sugs[j].close {
			return sugs[i].close < sugs[j].close
		}
		return sugs[i].d < sugs[j].d
	})
	var alts []string
	for _, s := range sugs {
		alts = append(alts, fmt.Sprintf("%q", rewrite(v, pol.Namespace, s)))
	}
	hint := none
	if len(alts) > 0 {
		hint = "did you mean " + strings.Join(alts, " or ") + "?"
	}
	effectText := "this value matches none of the input's callers"
	if v.not {
		effectText = "this exclusion excludes none of the input's callers"
	}
	path := v.path()
	action := pol.Spec.GetAction().String()
	f := p.Reportf(pol.Obj, path, "%s AuthorizationPolicy %s/%s names %s %q, but %s: %s (%s)",
		action, pol.Namespace, pol.Name, v.field, v.value, what, effectText, hint)
	f.Assumptions = append(f.Assumptions, "workloads outside the input do not run as it")
	for _, s := range sugs {
		for _, w := range s.users {
			f.Relate(w.Ref(objects.Join(w.PodSpecPath, "serviceAccountName")))
		}
	}
	if len(sugs) != 1 {
		return
	}
	s := sugs[0]
	restricts := (action == resolve.AuthzDeny && !v.not) || (action == resolve.AuthzAllow && v.not)
	if s.close != closeTypo && (s.close != closeNamespace || !restricts) {
		return
	}
	nv := rewrite(v, pol.Namespace, s)
	ch, err := trace.Edit(pol.Obj, path, func(any) (any, bool) { return nv, false })
	if err != nil {
		return
	}
	var whose string
	switch {
	case v.kind == idNamespace && len(x.WorkloadsIn(s.ns)) > 0:
		whose = "the nearest namespace a workload of the input runs in"
	case v.kind == idNamespace:
		whose = "the nearest namespace of a ServiceAccount of the input, in which no workload of the input runs"
	case len(s.users) > 0:
		whose = "the nearest identity a workload of the input runs as"
	default:
		whose = "the nearest ServiceAccount of the input, which no workload of the input runs as"
	}
	f.Propose(check.Candidate{
		Summary: fmt.Sprintf("replace %s %q with %q, %s", v.field, v.value, nv, whose),
		Changes: []trace.Change{ch},
	})
}

// rewrite writes suggestion s in the form of the value v: a principal keeps
// its trust domain, a service account its namespace-less form when the
// namespace is the policy's.
func rewrite(v idValue, polNS string, s suggestion) string {
	switch v.kind {
	case idNamespace:
		return s.ns
	case idServiceAccount:
		if !strings.Contains(v.value, "/") && s.ns == polNS {
			return s.sa
		}
		return s.ns + "/" + s.sa
	}
	td, _, _ := strings.Cut(v.value, "/")
	return td + "/ns/" + s.ns + "/sa/" + s.sa
}
