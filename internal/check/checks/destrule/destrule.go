// Package destrule checks DestinationRules: hosts that match nothing,
// workload selectors that select nothing, rules that Istio merges away,
// subsets that select every pod or none, and TLS turned off towards
// sidecars.
package destrule

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

// UnknownHost is MD0211.
var UnknownHost = &check.Check{
	Code: "MD0211", Name: "destinationrule-unknown-host", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "DestinationRule whose host matches no service",
		What:    "A DestinationRule whose host (resolved in its namespace, wildcards included) matches no Service and no ServiceEntry of the input.",
		Why:     "Short hosts resolve in the rule's namespace, not the caller's (pilot/pkg/model/config.go ResolveShortnameToFQDN), and a dotted short form such as `cart.shop` is taken literally: a typo or a namespace mix-up leaves the rule applying to nothing.",
		Example: "kind: DestinationRule\nmetadata: {namespace: shop}\nspec: {host: cart.shop}   # not cart.shop.svc.cluster.local",
		Fix:     "Write the Service's FQDN (name.namespace.svc.cluster.local) or its short name in the Service's namespace. meshdoctor proposes the FQDN when exactly one Service is a close match: the name in the namespace written, the only Service of that name, or the only one a typo away in the namespace.",
	},
	Run: runUnknownHost,
}

// SelectorNothing is MD0212.
var SelectorNothing = &check.Check{
	Code: "MD0212", Name: "destinationrule-selects-nothing", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "DestinationRule workloadSelector that selects no pod",
		What:    "A DestinationRule with a workloadSelector that matches no workload of its namespace.",
		Why:     "A workloadSelector rule applies only to the client proxies it selects, in its own namespace (destination_rule.proto workload_selector; sidecar.go DestinationRule): selecting none, it changes nothing.",
		Example: "spec:\n  host: cart\n  workloadSelector: {matchLabels: {app: frontnd}}",
		Fix:     "Fix the labels, or remove the workloadSelector to apply the rule to every client. meshdoctor proposes the labels when the workloads of the namespace lead to one set that differs from the selector in one value, a typo away.",
	},
	Run: runSelector,
}

// Merged is MD0213.
var Merged = &check.Check{
	Code: "MD0213", Name: "destinationrule-merged-away", Severity: check.Warning,
	Doc: check.Doc{
		Title: "DestinationRule settings ignored because another rule has the same host",
		What:  "Two or more DestinationRules for the same host in one namespace: Istio merges them, and the later ones' trafficPolicy and duplicate subsets are dropped.",
		Why: "mergeDestinationRule (pilot/pkg/model/destination_rule.go) keeps the top-level trafficPolicy of the first rule (oldest, then by name) whole, " +
			"and unions subsets by name, the first definition winning. A second rule written to change TLS changes nothing.",
		Example: "kind: DestinationRule\nmetadata: {name: prod-from-gateway}\nspec:\n  host: \"*.prod.svc.cluster.local\"\n  trafficPolicy: {tls: {mode: DISABLE}}   # ignored: prod-default-mtls has the same host",
		Fix:     "Edit the existing rule instead of adding another one for the same host. meshdoctor proposes deleting the later rule when nothing of it takes effect: for every client namespace, the engine gives the same DestinationRule without it (subsets it adds, an entry of its own kept for a different exportTo, or a rule defined twice in the input prevent that).",
	},
	Run: runMerged,
}

// Subset is MD0214.
var Subset = &check.Check{
	Code: "MD0214", Name: "subset-selects-all-or-none", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "DestinationRule subset without labels, or whose labels select no pod",
		What:    "A subset without labels (it selects every endpoint of the host), or whose labels match none of the host's pods.",
		Why:     "Istio builds a subset's endpoints from the service's endpoints whose labels contain the subset's (pilot/pkg/xds/endpoints/endpoint_builder.go): no labels means the whole service, labels nobody has mean 503 UH `no healthy upstream` for every request routed to it.",
		Example: "subsets:\n- name: from-ingress   # no labels\n  trafficPolicy: {tls: {mode: DISABLE}}",
		Fix:     "Give the subset the labels of the pods it stands for. meshdoctor proposes them when the host's one Service has pods whose labels differ from the subset's in one value, a typo away (not a version number, not the subset's own name, not another subset's labels).",
	},
	Run: runSubset,
}

// DisablesMTLS is MD0215.
var DisablesMTLS = &check.Check{
	Code: "MD0215", Name: "destinationrule-disables-mtls", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "DestinationRule that turns Istio mTLS off towards sidecars",
		What:    "A DestinationRule whose effective tls.mode for a Service port is DISABLE while the Service's pods have sidecars that accept plaintext (PERMISSIVE).",
		Why:     "Auto mTLS would send Istio mTLS to those pods (cluster_tls.go); DISABLE sends plaintext instead: traffic is unencrypted, has no peer identity, and AuthorizationPolicy principal and namespace rules never match it. If the pods become STRICT, every call fails (MD0601).",
		Example: "trafficPolicy: {tls: {mode: DISABLE}}   # the pods have sidecars",
		Fix:     "Remove the tls block (auto mTLS) or set ISTIO_MUTUAL.",
	},
	Run: runDisable,
}

// rules returns the consolidated DestinationRules as the engine builds them
// for clients of each rule's namespace, with the Services each applies to.
type merged struct {
	m    *resolve.MergedDR
	svcs []*mesh.Service
}

func consolidated(p *check.Pass) []*merged {
	return p.Shared("destrule.merged", func() any {
		var out []*merged
		seen := map[*resolve.MergedDR]*merged{}
		clients := map[string]*mesh.Workload{}
		for _, dr := range p.X.DestinationRules {
			client := clients[dr.Namespace]
			if client == nil {
				// A client of the rule's namespace without labels: the
				// namespace's view of the host, selector rules aside.
				client = &mesh.Workload{Kind: "Pod", Namespace: dr.Namespace, Name: "(any client)", Labels: map[string]string{}}
				clients[dr.Namespace] = client
			}
			svcs, _ := p.Engine.ConfigHostMatches(dr.Namespace, dr.Spec.GetHost())
			for _, s := range svcs {
				d := p.Engine.DestinationRule(client, s.Host)
				if d.Rule == nil || !has(d.Rule.Rules, dr) {
					continue
				}
				m := seen[d.Rule]
				if m == nil {
					m = &merged{m: d.Rule}
					seen[d.Rule] = m
					out = append(out, m)
				}
				if !hasSvc(m.svcs, s) {
					m.svcs = append(m.svcs, s)
				}
			}
		}
		return out
	}).([]*merged)
}

func has(rs []*mesh.DestinationRule, dr *mesh.DestinationRule) bool {
	for _, r := range rs {
		if r == dr {
			return true
		}
	}
	return false
}

func hasSvc(ss []*mesh.Service, s *mesh.Service) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func runUnknownHost(p *check.Pass) {
	for _, dr := range p.X.DestinationRules {
		h := dr.Spec.GetHost()
		if h == "" || h == "*" {
			continue
		}
		svcs, ses := p.Engine.ConfigHostMatches(dr.Namespace, h)
		if len(svcs) > 0 || len(ses) > 0 {
			continue
		}
		f := p.Reportf(dr.Obj, "spec.host", "DestinationRule %s/%s has host %q, which matches no Service or ServiceEntry of the input, so it applies to nothing", dr.Namespace, dr.Name, h)
		if !p.Fixes() {
			continue
		}
		// The FQDN, not a short name: a short name resolves in the rule's
		// namespace (ResolveShortnameToFQDN), which may not be the Service's.
		if s := nearService(p.X, dr.Namespace, h); s != nil {
			f.ProposeEdit(fmt.Sprintf("set the host of DestinationRule %s/%s to %s, the FQDN of Service %s", dr.Namespace, dr.Name, s.Host, s.Key()), dr.Obj, "spec.host", setTo(s.Host))
		}
	}
}

func runSelector(p *check.Pass) {
	for _, dr := range p.X.DestinationRules {
		sel := dr.Spec.GetWorkloadSelector().GetMatchLabels()
		if len(sel) == 0 {
			continue
		}
		if len(p.X.Select(dr.Namespace, sel)) > 0 {
			continue
		}
		f := p.Reportf(dr.Obj, "spec.workloadSelector", "DestinationRule %s/%s applies only to clients labelled %s in namespace %s, and there is none, so it changes nothing", dr.Namespace, dr.Name, labelString(sel), dr.Namespace)
		if !p.Fixes() {
			continue
		}
		// The selector matches client workloads of the rule's own namespace
		// only (sidecar.go DestinationRule: sc.Namespace == rule namespace and
		// matchLabels a subset of the proxy's labels).
		var cands []map[string]string
		for _, w := range p.X.WorkloadsIn(dr.Namespace) {
			if !w.Implicit {
				cands = append(cands, w.Labels)
			}
		}
		if want, ok := nearLabels(sel, cands); ok {
			f.ProposeEdit(fmt.Sprintf("apply DestinationRule %s/%s to the clients labelled %s", dr.Namespace, dr.Name, labelString(want)), dr.Obj, "spec.workloadSelector.matchLabels", setTo(want))
		}
	}
}

func runMerged(p *check.Pass) {
	for _, m := range consolidated(p) {
		if len(m.m.Rules) < 2 {
			continue
		}
		var names []string
		for _, r := range m.m.Rules {
			names = append(names, r.Namespace+"/"+r.Name)
		}
		kept := "none"
		if m.m.PolicyFrom != nil {
			kept = m.m.PolicyFrom.Namespace + "/" + m.m.PolicyFrom.Name
		}
		for _, r := range m.m.Rules {
			// The rule's findings share one fix, decided once, for a
			// finding only: deleting the rule when nothing of it is used.
			// Deciding it rebuilds part of the mesh: only for a finding
			// whose fixes the driver verifies.
			var del []check.Candidate
			decided := false
			mk := func() []check.Candidate {
				if !decided {
					decided = true
					if unusedRule(p, m.m, r) {
						del = []check.Candidate{{Summary: fmt.Sprintf("delete DestinationRule %s/%s: Istio ignores all of it (%s), so no proxy's configuration changes", r.Namespace, r.Name, ignoredParts(r)),
							Changes: []trace.Change{check.Delete(r.Obj)}}}
					}
				}
				return del
			}
			propose := func(f *check.Finding) {
				if p.Fixes() {
					f.ProposeFunc(mk)
				}
			}
			if r.Spec.GetTrafficPolicy() != nil && r != m.m.PolicyFrom {
				f := &check.Finding{Object: r.Obj.Ref("spec.trafficPolicy"),
					Message: fmt.Sprintf("the trafficPolicy of DestinationRule %s/%s is ignored: %s share host %s in namespace %s, and Istio merges them keeping only the first top-level trafficPolicy, that of %s",
						r.Namespace, r.Name, strings.Join(names, ", "), m.m.Host, m.m.Namespace, kept),
					Assumptions: orderAssumption(m.m)}
				if m.m.PolicyFrom != nil {
					f.Relate(m.m.PolicyFrom.Obj.Ref("spec.trafficPolicy"))
				}
				propose(f)
				p.Report(*f)
			}
			for i, s := range r.Spec.GetSubsets() {
				ms, ok := m.m.Subset(s.GetName())
				if !ok || ms.From == r {
					continue
				}
				f := &check.Finding{Object: r.Obj.Ref(objects.Index("spec.subsets", i)),
					Message: fmt.Sprintf("subset %q of DestinationRule %s/%s is ignored: %s/%s defines it too for host %s, and Istio keeps the first definition",
						s.GetName(), r.Namespace, r.Name, ms.From.Namespace, ms.From.Name, m.m.Host),
					Assumptions: orderAssumption(m.m)}
				f.Relate(ms.From.Obj.Ref(ms.Path))
				propose(f)
				p.Report(*f)
			}
		}
	}
}

func orderAssumption(m *resolve.MergedDR) []string {
	for _, r := range m.Rules {
		if !r.Obj.Created.IsZero() {
			return nil
		}
	}
	return []string{"the DestinationRules have no creationTimestamp, so Istio orders them by name; the real creation order decides in a cluster"}
}

func runSubset(p *check.Pass) {
	for _, dr := range p.X.DestinationRules {
		for i, s := range dr.Spec.GetSubsets() {
			path := objects.Index("spec.subsets", i)
			if len(s.GetLabels()) == 0 {
				p.Reportf(dr.Obj, path, "subset %q of DestinationRule %s/%s has no labels: it selects every endpoint of %s, the same as routing without a subset", s.GetName(), dr.Namespace, dr.Name, dr.Spec.GetHost())
				continue
			}
			svcs, _ := p.Engine.ConfigHostMatches(dr.Namespace, dr.Spec.GetHost())
			var empty []string
			for _, svc := range svcs {
				for j := range svc.Ports {
					sp := &svc.Ports[j]
					if len(p.Engine.EndpointSet(svc, sp, nil).Endpoints) > 0 && len(p.Engine.EndpointSet(svc, sp, s.GetLabels()).Endpoints) == 0 {
						empty = append(empty, svc.Key())
						break
					}
				}
			}
			if len(empty) > 0 {
				sort.Strings(empty)
				f := p.Reportf(dr.Obj, path+".labels", "subset %q of DestinationRule %s/%s selects none of the pods of %s: requests routed to it get 503 UH \"no healthy upstream\"", s.GetName(), dr.Namespace, dr.Name, strings.Join(empty, ", "))
				if p.Fixes() && len(svcs) == 1 {
					proposeSubsetLabels(p, f, dr, i, svcs[0])
				}
			}
		}
	}
}

func runDisable(p *check.Pass) {
	e := p.Engine
	type hit struct {
		ref  objects.Ref
		tls  resolve.DRTLS
		svcs []string
	}
	hits := map[string]*hit{}
	var keys []string
	for _, m := range consolidated(p) {
		for _, svc := range m.svcs {
			for j := range svc.Ports {
				sp := &svc.Ports[j]
				t := m.m.TLS(sp.Port, "")
				if t.Settings == nil || t.Mode() != "DISABLE" {
					continue
				}
				sidecars, strict := 0, false
				for _, ep := range e.EndpointSet(svc, sp, nil).Endpoints {
					if e.Sidecar(ep.Workload).Kind != resolve.ProxySidecar {
						continue
					}
					sidecars++
					if e.ServerMTLS(ep.Workload, ep.TargetPort).Mode == resolve.ModeStrict {
						strict = true
					}
				}
				if sidecars == 0 || strict {
					continue // nothing to protect, or MD0601 reports the failure
				}
				r := t.Ref()
				k := r.String() + "|" + r.Field
				h := hits[k]
				if h == nil {
					h = &hit{ref: r, tls: t}
					hits[k] = h
					keys = append(keys, k)
				}
				h.svcs = append(h.svcs, fmt.Sprintf("%s:%d", svc.Key(), sp.Port))
			}
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		h := hits[k]
		sort.Strings(h.svcs)
		list := strings.Join(h.svcs[:min(4, len(h.svcs))], ", ")
		if len(h.svcs) > 4 {
			list += fmt.Sprintf(" and %d more", len(h.svcs)-4)
		}
		f := &check.Finding{Object: h.ref,
			Message: fmt.Sprintf("%s %s/%s sets tls.mode DISABLE towards %s, whose pods have sidecars: the calls go in plaintext, without mTLS identity, instead of the Istio mTLS auto mTLS would use", h.ref.Kind, h.ref.Namespace, h.ref.Name, list)}
		if h.tls.From != nil && h.tls.Path != "" {
			f.ProposeEdit(fmt.Sprintf("remove %s from DestinationRule %s/%s so that auto mTLS sends Istio mTLS", h.tls.Path, h.tls.From.Namespace, h.tls.From.Name), h.tls.From.Obj, h.tls.Path, func(any) (any, bool) { return nil, true })
		}
		p.Report(*f)
	}
}
