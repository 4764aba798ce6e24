// Package peerauthweaken finds PeerAuthentications that relax a STRICT
// namespace (or mesh) to PERMISSIVE or DISABLE on sidecar workloads: the ports
// they select accept plaintext again, from any caller.
package peerauthweaken

import (
	"fmt"
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
		if callers := plaintextCallers(p, weak); len(callers) > 0 {
			msg += fmt.Sprintf(", and %d caller(s) without mTLS now reach them in plaintext (%s)", len(callers), strings.Join(first(callers, 5), ", "))
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

// plaintextCallers lists the clients whose path to a Service of a weakened
// workload works in plaintext (read from the shared path evaluation, as trace
// decides it).
func plaintextCallers(p *check.Pass, weak []weakened) []string {
	res := p.Shared("paths", func() any { return paths.All(p.Engine, paths.Options{}) }).(*paths.Result)
	targets := map[*mesh.Workload]bool{}
	for _, x := range weak {
		targets[x.w] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, g := range res.Groups {
		if g.Trace.Result != trace.ResultOK || g.Trace.Security != resolve.TLSPlaintext || g.Service == nil || g.Port == nil {
			continue
		}
		hit := false
		for _, ep := range p.Engine.Endpoints(g.Service, g.Port, nil) {
			if targets[ep.Workload] {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		g.Clients.Each(func(w *mesh.Workload) bool {
			if !seen[w.Key()] {
				seen[w.Key()] = true
				out = append(out, w.Key())
			}
			return true
		})
	}
	sort.Strings(out)
	return out
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(append([]string(nil), s[:n]...), "...")
	}
	return s
}
