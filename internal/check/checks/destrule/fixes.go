package destrule

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// nearService returns the one Service that a DestinationRule host matching
// nothing most likely meant, or nil when there is none or more than one.
//
// Istio completes only a host without a dot, in the rule's namespace
// (ResolveShortnameToFQDN, pilot/pkg/model/config.go); a host with a dot is
// taken as written. So "cart.shop" is nothing, while Service shop/cart is
// cart.shop.svc.cluster.local. The host is read as name[.namespace[.svc...]]
// only when it looks like one (its second label is a namespace of the input,
// or its third is "svc"): a host such as api.example.com is left alone.
// From nearest to farthest: the Service of that name in that namespace; the
// one Service of that name in any namespace; the one Service of that
// namespace whose name is a small edit away (a typo). A tier with several
// Services is ambiguous and ends the search.
func nearService(x *mesh.Index, ns, host string) *mesh.Service {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" || strings.Contains(h, "*") || net.ParseIP(h) != nil {
		return nil
	}
	labels := strings.Split(h, ".")
	name, hint := labels[0], ns
	if len(labels) > 1 {
		hint = labels[1]
		known := x.Namespace(hint) != nil || len(x.ServicesIn(hint)) > 0
		if !known && (len(labels) < 3 || labels[2] != "svc") {
			return nil
		}
	}
	if s := x.Service(hint, name); s != nil {
		return s
	}
	var same []*mesh.Service
	for _, s := range x.Services {
		if s.Name == name {
			same = append(same, s)
		}
	}
	switch len(same) {
	case 1:
		return same[0]
	case 0:
	default:
		return nil
	}
	var typo []*mesh.Service
	for _, s := range x.ServicesIn(hint) {
		if _, close := check.EditClose(name, s.Name); close {
			typo = append(typo, s)
		}
	}
	if len(typo) == 1 {
		return typo[0]
	}
	return nil
}

// nearLabels returns the labels that a selector matching none of cands most
// likely meant: sel with one value replaced by the value a candidate has for
// that key, when that candidate matches every other key and the two values are
// a small edit apart (a typo, not another workload) and differ in more than
// their digits (v3 and v2 name two versions, not a typo). It returns false
// when no candidate is that near, or when candidates lead to different labels.
func nearLabels(sel map[string]string, cands []map[string]string) (map[string]string, bool) {
	var out map[string]string
	for _, l := range cands {
		var diff string
		n := 0
		for k, v := range sel {
			if l[k] != v {
				diff = k
				n++
			}
		}
		if n != 1 {
			continue
		}
		got, ok := l[diff]
		if _, close := check.EditClose(sel[diff], got); !ok || !close || check.OtherInstance(sel[diff], got) {
			continue
		}
		p := maps.Clone(sel)
		p[diff] = got
		if out != nil && !maps.Equal(out, p) {
			return nil, false
		}
		out = p
	}
	return out, out != nil
}

// labelString writes labels as k=v,k=v in key order.
func labelString(l map[string]string) string {
	var s []string
	for _, k := range objects.SortedKeys(l) {
		s = append(s, k+"="+l[k])
	}
	return strings.Join(s, ",")
}

// setTo returns an edit function that sets a field to v.
func setTo(v any) func(any) (any, bool) { return func(any) (any, bool) { return v, false } }

// unusedRule reports whether deleting dr, which m merged into the rule of an
// older one, changes no DestinationRule any proxy gets: nothing of dr takes
// effect anywhere.
//
// What Istio ignores of a later rule merged into an entry (mergeDestinationRule,
// pilot/pkg/model/destination_rule.go): its top-level trafficPolicy when the
// entry has one already, and its subsets whose name the entry has. Its other
// subsets are merged in (and so used). But that is the view of one entry: with
// ENABLE_ENHANCED_DESTINATIONRULE_MERGE (1.24+) a rule whose exportTo differs
// from another entry's for the host is also appended as an entry of its own,
// and a client namespace may get that one (the last selector-less entry,
// sidecar.go DestinationRule). Rather than re-deciding that here, the engine
// answers for a mesh without dr: for every client namespace with a view of its
// own of the hosts dr matches (Engine.HostViews), one namespace standing for
// all others, and each DestinationRule class of the clients of dr's namespace,
// the DestinationRule it gets must be the same, dr aside.
func unusedRule(p *check.Pass, m *resolve.MergedDR, dr *mesh.DestinationRule) bool {
	if len(m.Rules) == 0 || m.Rules[0] == dr || m.PolicyFrom == dr {
		return false
	}
	for _, s := range dr.Spec.GetSubsets() {
		if ms, ok := m.Subset(s.GetName()); !ok || ms.From == dr {
			return false // merged in: used
		}
	}
	// A rule defined twice in the input (MD0901) is one object in a cluster,
	// the copy applied last: which copy exists decides what the others
	// contribute, and `kubectl delete` would remove the name, not one copy.
	count := map[string]int{}
	for _, r := range p.X.DestinationRules {
		count[r.Namespace+"/"+r.Name]++
	}
	for _, r := range append([]*mesh.DestinationRule{dr}, m.Rules...) {
		if count[r.Namespace+"/"+r.Name] > 1 {
			return false
		}
	}
	svcs, ses := p.Engine.ConfigHostMatches(dr.Namespace, dr.Spec.GetHost())
	if len(svcs) == 0 || len(ses) > 0 {
		// ServiceEntry hosts are left out of the comparison below: no fix
		// rather than an unverified one.
		return false
	}
	nss := map[string]bool{dr.Namespace: true, p.X.Mesh.RootNamespace: true}
	for _, s := range svcs {
		nss[s.Namespace] = true
		for _, n := range p.Engine.HostViews(s) {
			nss[n] = true
		}
	}
	// The namespaces above hold every object DestinationRule selection for
	// these hosts reads (the client's, the service's and the root namespace's
	// rules); the patched mesh needs no other.
	var objs []*objects.Object
	for _, o := range p.X.Objects {
		if o.Namespace == "" || nss[o.Namespace] {
			objs = append(objs, o)
		}
	}
	after := resolve.New(trace.Rebuild(p.X, trace.Apply(objs, []trace.Change{check.Delete(dr.Obj)})))

	// A name no Kubernetes namespace can have: the namespaces with no view
	// of their own.
	const other = "(any other namespace)"
	var clients []*mesh.Workload
	for _, n := range append(objects.SortedKeys(nss), other) {
		clients = append(clients, &mesh.Workload{Kind: "Pod", Namespace: n, Name: "(any client)", Labels: map[string]string{}})
	}
	classes := map[string]bool{}
	for _, w := range p.X.WorkloadsIn(dr.Namespace) {
		if c := p.Engine.OutboundClass(w); !classes[c] {
			classes[c] = true
			clients = append(clients, w)
		}
	}
	for _, c := range clients {
		for _, s := range svcs {
			if !sameRule(p.Engine.DestinationRule(c, s.Host).Rule, after.DestinationRule(c, s.Host).Rule, dr) {
				return false
			}
		}
	}
	return true
}

// sameRule reports whether two consolidated rules configure a proxy the same
// way: same host, namespace, exportTo and selector, the same top-level policy
// and subsets, and the same contributing rules but gone.
func sameRule(a, b *resolve.MergedDR, gone *mesh.DestinationRule) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if a.Host != b.Host || a.Namespace != b.Namespace || !slices.Equal(a.ExportTo, b.ExportTo) ||
		a.HasWorkloadSelector != b.HasWorkloadSelector || !maps.Equal(a.WorkloadSelector, b.WorkloadSelector) ||
		!proto.Equal(a.TrafficPolicy, b.TrafficPolicy) || len(a.Subsets) != len(b.Subsets) {
		return false
	}
	for i := range a.Subsets {
		x, y := &a.Subsets[i], &b.Subsets[i]
		if x.Name != y.Name || !maps.Equal(x.Labels, y.Labels) || !proto.Equal(x.TrafficPolicy, y.TrafficPolicy) {
			return false
		}
	}
	names := func(m *resolve.MergedDR) []string {
		var out []string
		for _, r := range m.Rules {
			if r.Namespace != gone.Namespace || r.Name != gone.Name {
				out = append(out, r.Namespace+"/"+r.Name)
			}
		}
		return out
	}
	return slices.Equal(names(a), names(b))
}

// ignoredParts names what a rule has that Istio ignores, for a fix summary.
func ignoredParts(dr *mesh.DestinationRule) string {
	var parts []string
	if dr.Spec.GetTrafficPolicy() != nil {
		parts = append(parts, "its trafficPolicy")
	}
	var names []string
	for _, s := range dr.Spec.GetSubsets() {
		names = append(names, s.GetName())
	}
	switch len(names) {
	case 0:
	case 1:
		parts = append(parts, "its subset "+names[0]+", defined before")
	default:
		parts = append(parts, "its subsets "+strings.Join(names, ", ")+", defined before")
	}
	if len(parts) == 0 {
		return "it sets nothing"
	}
	return strings.Join(parts, " and ")
}

// proposeSubsetLabels proposes, for subset i of dr that selects none of the
// pods of svc (the rule's one Service), the labels of those pods when exactly
// one value is a typo away (nearLabels). Istio's subset endpoints are the
// service's endpoints whose labels contain the subset's
// (pilot/pkg/xds/endpoints/endpoint_builder.go, labels.Instance.SubsetOf), so
// the pods' own labels are what a subset must carry. Two guesses are refused:
// a wrong value equal to the subset's name (subset v3 labelled version: v3
// stands for pods not deployed yet, not for a typo of v1), and labels another
// subset of the rule has already (the subset would duplicate it).
func proposeSubsetLabels(p *check.Pass, f *check.Finding, dr *mesh.DestinationRule, i int, svc *mesh.Service) {
	s := dr.Spec.GetSubsets()[i]
	var cands []map[string]string
	seen := map[*mesh.Workload]bool{}
	for j := range svc.Ports {
		for _, ep := range p.Engine.EndpointSet(svc, &svc.Ports[j], nil).Endpoints {
			if !seen[ep.Workload] {
				seen[ep.Workload] = true
				cands = append(cands, ep.Workload.Labels)
			}
		}
	}
	want, ok := nearLabels(s.GetLabels(), cands)
	if !ok {
		return
	}
	for k, v := range s.GetLabels() {
		if want[k] != v && strings.EqualFold(v, s.GetName()) {
			return
		}
	}
	for j, o := range dr.Spec.GetSubsets() {
		if j != i && maps.Equal(o.GetLabels(), want) {
			return
		}
	}
	path := objects.Index("spec.subsets", i) + ".labels"
	f.ProposeEdit(fmt.Sprintf("give subset %q of DestinationRule %s/%s the labels %s of the pods of %s", s.GetName(), dr.Namespace, dr.Name, labelString(want), svc.Key()), dr.Obj, path, setTo(want))
}
