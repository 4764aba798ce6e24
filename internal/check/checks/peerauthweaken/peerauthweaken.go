// Package peerauthweaken finds PeerAuthentications that relax a STRICT
// namespace (or mesh) to PERMISSIVE or DISABLE on sidecar workloads: the ports
// they select accept plaintext again, from any caller.
package peerauthweaken

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/paths"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Check is MD0107.
var Check = &check.Check{
	Code: "MD0107", Name: "peerauthentication-weakens-strict", Severity: check.Warning,
	Doc: check.Doc{
		Title: "A workload PeerAuthentication that relaxes a STRICT namespace",
		What: "A PeerAuthentication with a selector whose mode, or port-level mode, is PERMISSIVE or DISABLE on ports " +
			"of sidecar workloads whose namespace (or the mesh) is STRICT.",
		Why: "A workload policy overrides the namespace-wide one, and a port-level mode overrides both " +
			"(pilot/pkg/security/authn/policy_applier.go ComposePeerAuthentication). On those ports the sidecar adds a " +
			"plaintext filter chain, so any caller, inside or outside the mesh, reaches the application without " +
			"mTLS: the namespace's STRICT no longer protects them. It is a common answer to a 503 that mTLS did not " +
			"cause, and it does not fix that 503.",
		Example: "kind: PeerAuthentication\nmetadata: {name: ingress-permissive, namespace: prod}   # prod is STRICT\n" +
			"spec:\n  selector: {matchLabels: {version: v1}}\n  mtls: {mode: PERMISSIVE}",
		Fix: "Delete the policy and give the callers that need plaintext a sidecar, or narrow it to the one port and " +
			"workload that must accept plaintext (and say why in an annotation).",
	},
	Run: run,
}

// weakened is one relaxed port, and the field of the policy that relaxes it.
type weakened struct {
	w    *mesh.Workload
	port int32
	mode string
	at   objects.Ref
}

func run(p *check.Pass) {
	e := p.Engine
	seen := map[*mesh.Workload]bool{} // reused: cleared maps keep their room
	for _, pa := range p.X.PeerAuthentications {
		sel := pa.Spec.GetSelector().GetMatchLabels()
		if len(sel) == 0 || pa.Namespace == p.X.Mesh.RootNamespace {
			continue // namespace-wide or ignored: other checks
		}
		if e.NamespaceMTLS(pa.Namespace).Mode != resolve.ModeStrict {
			continue
		}
		var weak []weakened
		for _, w := range p.X.Select(pa.Namespace, sel) {
			if e.Sidecar(w).Kind != resolve.ProxySidecar {
				continue
			}
			for _, port := range containerPorts(w) {
				d := e.ServerMTLS(w, port)
				if d.Mode != resolve.ModePermissive && d.Mode != resolve.ModeDisable {
					continue
				}
				if ref, ok := decidedBy(d.By, pa); ok {
					weak = append(weak, weakened{w, port, d.Mode, ref})
				}
			}
		}
		if len(weak) == 0 {
			continue
		}
		var parts []string
		for _, x := range weak {
			parts = append(parts, fmt.Sprintf("%s:%d (%s)", x.w.Key(), x.port, x.mode))
		}
		msg := fmt.Sprintf("PeerAuthentication %s/%s relaxes the STRICT mTLS of namespace %s on %s: those ports accept plaintext from any caller",
			pa.Namespace, pa.Name, pa.Namespace, strings.Join(parts, ", "))
		if n, some := plaintextCallers(p, weak, 5, seen); n > 0 {
			if n > len(some) {
				some = append(some, "...")
			}
			msg += fmt.Sprintf(", and %d caller(s) without mTLS now reach them in plaintext (%s)", n, strings.Join(some, ", "))
		}
		f := &check.Finding{Object: weak[0].at, Message: msg}
		ns := p.X.Namespace(pa.Namespace)
		if ns != nil && ns.Obj != nil {
			f.Relate(ns.Obj.Ref("metadata"))
		}
		for _, x := range weak {
			f.Relate(x.w.Ref(x.w.TemplatePath + ".labels"))
		}
		f.Propose(check.Candidate{
			Summary: fmt.Sprintf("delete PeerAuthentication %s/%s so that the namespace's STRICT applies again (callers that need plaintext need a sidecar)", pa.Namespace, pa.Name),
			Changes: []trace.Change{check.Delete(pa.Obj)},
		})
		p.Report(*f)
	}
}

// decidedBy returns the field of the policy that the decision cites (the
// top-level or port-level mode).
func decidedBy(by []objects.Ref, pa *mesh.PeerAuthentication) (objects.Ref, bool) {
	for _, r := range by {
		if r.Kind == "PeerAuthentication" && r.Namespace == pa.Namespace && r.Name == pa.Name {
			return r, true
		}
	}
	return objects.Ref{}, false
}

func containerPorts(w *mesh.Workload) []int32 {
	seen := map[int32]bool{}
	var out []int32
	for _, c := range w.Containers {
		if c.Init && !c.RestartAlways {
			continue
		}
		for _, cp := range c.Ports {
			if !seen[cp.Port] {
				seen[cp.Port] = true
				out = append(out, cp.Port)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// plaintextCallers counts the clients whose path to a weakened port works in
// plaintext (read from the shared path evaluation, as trace decides it) and
// returns the keys of the first max of them in sorted order. A path reaches
// a weakened workload's port when the workload is an endpoint of its Service
// port and that port sends to the weakened one (resolve.EndpointPort). A weakened
// port is often reached by most of the mesh, so the callers are collected by
// pointer and only the few shown are named.
func plaintextCallers(p *check.Pass, weak []weakened, max int, seen map[*mesh.Workload]bool) (int, []string) {
	bySvc := plaintextGroups(p)
	var gs []*paths.Group
	for _, x := range weak {
		for _, svc := range p.X.ServicesOf(x.w) {
			for _, g := range bySvc[svc] {
				if tp, ok := p.Engine.EndpointPort(svc, g.Port, x.w); !ok || tp != x.port || slices.Contains(gs, g) {
					continue
				}
				gs = append(gs, g)
			}
		}
	}
	var some []string
	if disjoint(gs) {
		n := 0
		for _, g := range gs {
			n += g.Clients.Len()
			for _, k := range g.Clients.SmallestKeys(max) {
				some = paths.KeepSmallest(some, k, max)
			}
		}
		return n, some
	}
	clear(seen)
	for _, g := range gs {
		g.Clients.Each(func(w *mesh.Workload) bool {
			if !seen[w] {
				seen[w] = true
				some = paths.KeepSmallest(some, w.Key(), max)
			}
			return true
		})
	}
	return len(seen), some
}

// disjoint reports whether no client is in two of gs: the groups of one
// Service port that are not gateway routes partition its callers (package
// paths splits each class of clients, never copies one into two groups; its
// brute-force tests fail when a client is in two groups of one URL).
func disjoint(gs []*paths.Group) bool {
	for _, g := range gs {
		if g.Gateway || g.Service != gs[0].Service || g.Port != gs[0].Port {
			return false
		}
	}
	return true
}

// plaintextGroups indexes, once per run, the path groups that work in
// plaintext by the Service they reach: every weakening policy looks up the
// Services of its workloads instead of walking every path of the mesh.
func plaintextGroups(p *check.Pass) map[*mesh.Service][]*paths.Group {
	return p.Shared("peerauthweaken.plaintext", func() any {
		m := map[*mesh.Service][]*paths.Group{}
		for _, g := range p.Paths().Groups {
			if g.Trace.Result == trace.ResultOK && g.Trace.Security == resolve.TLSPlaintext && g.Service != nil && g.Port != nil {
				m[g.Service] = append(m[g.Service], g)
			}
		}
		return m
	}).(map[*mesh.Service][]*paths.Group)
}
