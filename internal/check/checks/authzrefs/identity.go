package authzrefs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// identities indexes who the input's workloads run as.
type identities struct {
	// principals holds Engine.Principal of every workload and of every
	// ServiceAccount object (a pod outside the input may run as it).
	principals map[string]bool
	// accounts maps a namespace to its service accounts and the workloads
	// that run as each (none for a ServiceAccount object nobody uses).
	accounts map[string]map[string][]*mesh.Workload
}

func indexIdentities(p *check.Pass) *identities {
	id := &identities{principals: map[string]bool{}, accounts: map[string]map[string][]*mesh.Workload{}}
	add := func(w *mesh.Workload, user *mesh.Workload) {
		sa := w.ServiceAccount
		if sa == "" {
			sa = "default"
		}
		id.principals[p.Engine.Principal(w)] = true
		m := id.accounts[w.Namespace]
		if m == nil {
			m = map[string][]*mesh.Workload{}
			id.accounts[w.Namespace] = m
		}
		if user != nil {
			m[sa] = append(m[sa], user)
		} else if _, ok := m[sa]; !ok {
			m[sa] = nil
		}
	}
	for _, w := range p.X.Workloads {
		add(w, w)
	}
	for _, o := range p.X.Objects {
		if o.Kind == "ServiceAccount" {
			add(&mesh.Workload{Namespace: o.Namespace, ServiceAccount: o.Name}, nil)
		}
	}
	return id
}

func runUnknownIdentity(p *check.Pass) {
	var id *identities
	x := p.X
	td := x.Mesh.TrustDomain
	for _, pol := range x.AuthorizationPolicies {
		action := pol.Spec.GetAction().String()
		for _, v := range identityValues(pol) {
			if strings.Contains(v.value, "*") {
				continue
			}
			if id == nil {
				id = indexIdentities(p)
			}
			var ns, sa string
			switch v.kind {
			case idPrincipal:
				parts := strings.Split(v.value, "/")
				if len(parts) != 5 || parts[1] != "ns" || parts[3] != "sa" {
					continue
				}
				// cluster.local stands for the mesh's trust domain (the
				// engine's migratePrincipal, trustdomain/bundle.go
				// ReplaceTrustDomainAliases); another trust domain is
				// another mesh's, which the input does not describe.
				if parts[0] != "cluster.local" && parts[0] != td {
					continue
				}
				ns, sa = parts[2], parts[4]
				if id.principals[p.Engine.Principal(&mesh.Workload{Namespace: ns, ServiceAccount: sa})] {
					continue
				}
			case idServiceAccount:
				// "<ns>/<sa>", or "<sa>" in the policy's namespace
				// (generator.go serviceAccountRegex).
				var ok bool
				if ns, sa, ok = strings.Cut(v.value, "/"); !ok {
					ns, sa = pol.Namespace, v.value
				}
				if _, ok := id.accounts[ns][sa]; ok {
					continue
				}
			case idNamespace:
				ns = v.value
				if len(id.accounts[ns]) > 0 {
					continue
				}
			}
			if !knownNamespace(x, ns) {
				continue
			}
			reportUnknown(p, id, pol.Obj, pol.Namespace, pol.Name, action, v, ns, sa)
		}
	}
}

// suggestion is an identity near the one written.
type suggestion struct {
	ns, sa string
	d      int
	users  []*mesh.Workload
}

func reportUnknown(p *check.Pass, id *identities, obj *objects.Object, polNS, polName, action string, v idValue, ns, sa string) {
	var what, none string
	var sugs []suggestion
	if v.kind == idNamespace {
		what = fmt.Sprintf("no workload of the input runs in namespace %s", ns)
		for _, n := range objects.SortedKeys(id.accounts) {
			if d, ok := near(ns, n); ok {
				sugs = append(sugs, suggestion{ns: n, d: d})
			}
		}
		var with []string
		for _, n := range objects.SortedKeys(id.accounts) {
			if len(id.accounts[n]) > 0 {
				with = append(with, n)
			}
		}
		none = "the namespaces with workloads are " + quoteList(with)
	} else {
		what = fmt.Sprintf("no workload of the input runs as service account %s in namespace %s", sa, ns)
		for _, s := range objects.SortedKeys(id.accounts[ns]) {
			if d, ok := near(sa, s); ok {
				sugs = append(sugs, suggestion{ns: ns, sa: s, d: d, users: id.accounts[ns][s]})
			}
		}
		if len(sugs) == 0 {
			// A namespace mix-up: the same service account elsewhere.
			for _, n := range objects.SortedKeys(id.accounts) {
				if users, ok := id.accounts[n][sa]; ok && n != ns {
					sugs = append(sugs, suggestion{ns: n, sa: sa, d: 1, users: users})
				}
			}
		}
		none = fmt.Sprintf("the service accounts of namespace %s are %s", ns, quoteList(objects.SortedKeys(id.accounts[ns])))
		if len(id.accounts[ns]) == 0 {
			none = fmt.Sprintf("namespace %s runs no workload", ns)
		}
	}
	sort.SliceStable(sugs, func(i, j int) bool { return sugs[i].d < sugs[j].d })
	var alts []string
	for _, s := range sugs {
		alts = append(alts, fmt.Sprintf("%q", rewrite(v, polNS, s)))
	}
	hint := none
	if len(alts) > 0 {
		hint = "did you mean " + strings.Join(alts, " or ") + "?"
	}
	effectText := "this source matches none of the input's callers"
	if v.not {
		effectText = "this exclusion excludes none of the input's callers"
	}
	f := p.Reportf(obj, v.path, "%s AuthorizationPolicy %s/%s names %s %q, but %s: %s (%s)",
		action, polNS, polName, v.field, v.value, what, effectText, hint)
	f.Assumptions = append(f.Assumptions, "workloads outside the input do not run as it")
	for _, s := range sugs {
		for _, w := range s.users {
			f.Relate(w.Ref(objects.Join(w.PodSpecPath, "serviceAccountName")))
		}
	}
	if len(sugs) != 1 {
		return
	}
	nv := rewrite(v, polNS, sugs[0])
	ch, err := trace.Edit(obj, v.path, func(any) (any, bool) { return nv, false })
	if err != nil {
		return
	}
	f.Propose(check.Candidate{
		Summary: fmt.Sprintf("replace %s %q with %q, the nearest identity a workload of the input runs as", v.field, v.value, nv),
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
