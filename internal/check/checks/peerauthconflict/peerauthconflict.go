// Package peerauthconflict finds PeerAuthentications that Istio ignores
// because another one of the same scope is older: two namespace-wide (or
// mesh-wide) policies in one namespace, or several selector policies on one
// workload.
package peerauthconflict

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

const why = "Istio keeps only the oldest namespace-wide (or mesh-wide) PeerAuthentication of a namespace and " +
	"skips the others entirely; among selector policies that match one workload the oldest wins too, " +
	"port-level settings included, and they are not merged (pilot/pkg/model/authentication.go " +
	"initPeerAuthenticationsByNamespace and getConfigsForWorkload, policy_applier.go ComposePeerAuthentication). " +
	"Objects from files carry no creationTimestamp; Istio then orders them by name."

// Namespace is MD0101.
var Namespace = &check.Check{
	Code: "MD0101", Name: "duplicate-namespace-peerauthentication", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "Several namespace-wide PeerAuthentications in one namespace",
		What:    "Two or more PeerAuthentications without a selector in one namespace (or in the root namespace: mesh-wide).",
		Why:     why,
		Example: "kind: PeerAuthentication\nmetadata: {name: default-mtls, namespace: prod}\nspec: {mtls: {mode: PERMISSIVE}}\n---\nkind: PeerAuthentication\nmetadata: {name: prod-default-mtls, namespace: prod}\nspec: {mtls: {mode: STRICT}}   # ignored: default-mtls sorts first",
		Fix:     "Keep one namespace-wide PeerAuthentication per namespace: edit it instead of adding a second one.",
	},
	Run: runNamespace,
}

// Workload is MD0102.
var Workload = &check.Check{
	Code: "MD0102", Name: "duplicate-workload-peerauthentication", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "Several selector PeerAuthentications on one workload",
		What:    "Two or more PeerAuthentications with a selector match the pods of one workload that has a sidecar.",
		Why:     why,
		Example: "kind: PeerAuthentication\nmetadata: {name: a-permissive}\nspec: {selector: {matchLabels: {version: v1}}, mtls: {mode: PERMISSIVE}}\n---\nkind: PeerAuthentication\nmetadata: {name: blog-strict}\nspec: {selector: {matchLabels: {app: blog}}, mtls: {mode: STRICT}}   # ignored on blog pods labelled version: v1",
		Fix:     "Make the selectors disjoint, or merge the policies into one. A policy ignored on every pod it selects changes nothing: delete it.",
	},
	Run: runWorkload,
}

func namespaceWide(pa *mesh.PeerAuthentication) bool {
	return pa.Spec.GetSelector() == nil || len(pa.Spec.GetSelector().GetMatchLabels()) == 0
}

func sortByCreation(pas []*mesh.PeerAuthentication) {
	sort.SliceStable(pas, func(i, j int) bool { return mesh.CreationOrder(pas[i].Obj, pas[j].Obj) })
}

// orderAssumption says when the creation order was taken from names.
func orderAssumption(kept, ignored *mesh.PeerAuthentication) []string {
	if kept.Obj.Created.IsZero() || kept.Obj.Created.Equal(ignored.Obj.Created) {
		return []string{fmt.Sprintf("PeerAuthentication %s/%s is taken as older than %s/%s: without creationTimestamps Istio orders them by name; the real creation order decides in a cluster",
			kept.Namespace, kept.Name, ignored.Namespace, ignored.Name)}
	}
	return nil
}

func mode(pa *mesh.PeerAuthentication) string {
	if pa.Spec.GetMtls() == nil {
		return "UNSET (inherits)"
	}
	return pa.Spec.GetMtls().GetMode().String()
}

func runNamespace(p *check.Pass) {
	byNS := map[string][]*mesh.PeerAuthentication{}
	for _, pa := range p.X.PeerAuthentications {
		if namespaceWide(pa) {
			byNS[pa.Namespace] = append(byNS[pa.Namespace], pa)
		}
	}
	for _, ns := range objects.SortedKeys(byNS) {
		pas := byNS[ns]
		if len(pas) < 2 {
			continue
		}
		sortByCreation(pas)
		kept := pas[0]
		// The engine's decision for the namespace names the policy it kept.
		d := p.Engine.NamespaceMTLS(ns)
		scope := "namespace-wide"
		if ns == p.X.Mesh.RootNamespace {
			scope = "mesh-wide"
		}
		for _, pa := range pas[1:] {
			f := &check.Finding{
				Object: pa.Obj.Ref("metadata.name"),
				Message: fmt.Sprintf("%s PeerAuthentication %s/%s (mode %s) is ignored: Istio keeps only the oldest one of namespace %s, %s/%s (mode %s), so the effective namespace mode is %s",
					scope, pa.Namespace, pa.Name, mode(pa), ns, kept.Namespace, kept.Name, mode(kept), d.Mode),
				Assumptions: orderAssumption(kept, pa),
			}
			f.Relate(kept.Obj.Ref("spec"))
			f.Propose(check.Candidate{Summary: fmt.Sprintf("delete PeerAuthentication %s/%s and set the mode you want on %s/%s", pa.Namespace, pa.Name, kept.Namespace, kept.Name),
				Changes: deleteChange(pa)})
			p.Report(*f)
		}
	}
}

func runWorkload(p *check.Pass) {
	type group struct {
		pas []*mesh.PeerAuthentication
		ws  []*mesh.Workload
	}
	groups := map[string]*group{}
	var keys []string
	byNS := map[string][]*mesh.PeerAuthentication{}
	for _, pa := range p.X.PeerAuthentications {
		byNS[pa.Namespace] = append(byNS[pa.Namespace], pa)
	}
	for _, w := range p.X.Workloads {
		if len(byNS[w.Namespace]) < 2 {
			continue
		}
		if p.Engine.Sidecar(w).Kind != resolve.ProxySidecar {
			continue
		}
		var pas []*mesh.PeerAuthentication
		for _, pa := range byNS[w.Namespace] {
			// Selector policies in the root namespace are ignored
			// (peer_authentication.proto): only the workload's own namespace counts.
			if namespaceWide(pa) || pa.Namespace != w.Namespace || pa.Namespace == p.X.Mesh.RootNamespace {
				continue
			}
			if mesh.SubsetOf(pa.Spec.GetSelector().GetMatchLabels(), w.Labels) {
				pas = append(pas, pa)
			}
		}
		if len(pas) < 2 {
			continue
		}
		sortByCreation(pas)
		var names []string
		for _, pa := range pas {
			names = append(names, pa.Namespace+"/"+pa.Name)
		}
		k := strings.Join(names, ",")
		g := groups[k]
		if g == nil {
			g = &group{pas: pas}
			groups[k] = g
			keys = append(keys, k)
		}
		g.ws = append(g.ws, w)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		kept := g.pas[0]
		var ws []string
		var refs []objects.Ref
		for _, w := range g.ws {
			ws = append(ws, w.Kind+" "+w.Key())
			refs = append(refs, w.Ref(w.TemplatePath+".labels"))
		}
		for _, pa := range g.pas[1:] {
			f := &check.Finding{
				Object: pa.Obj.Ref("spec.selector"),
				Message: fmt.Sprintf("PeerAuthentication %s/%s is ignored on %s: %s/%s selects the same pods and is older, and Istio applies only the oldest selector policy (its mode %s and its portLevelMtls, not merged)",
					pa.Namespace, pa.Name, strings.Join(ws, ", "), kept.Namespace, kept.Name, mode(kept)),
				Assumptions: orderAssumption(kept, pa),
			}
			f.Relate(kept.Obj.Ref("spec.selector"))
			f.Relate(refs...)
			if p.Fixes() && ignoredEverywhere(p, pa) {
				f.Propose(check.Candidate{
					Summary: fmt.Sprintf("delete PeerAuthentication %s/%s: an older selector policy applies on every pod it selects, so Istio ignores it everywhere and nothing changes (to get its mode %s, set it in %s/%s or make the selectors disjoint)",
						pa.Namespace, pa.Name, mode(pa), kept.Namespace, kept.Name),
					Changes: deleteChange(pa),
				})
			}
			p.Report(*f)
		}
	}
}

// ignoredEverywhere reports whether deleting the selector policy pa changes
// nothing: every pod it selects either has a sidecar on which an older
// selector policy of the namespace applies instead (the oldest wins, the
// others are skipped whole: authentication.go getConfigsForWorkload,
// policy_applier.go ComposePeerAuthentication), or reads no PeerAuthentication
// at all (no proxy, or a gateway, whose listeners come from Gateway servers).
// Pods in ambient mode count as read: ztunnel applies PeerAuthentication and
// its choice among several is not modeled.
func ignoredEverywhere(p *check.Pass, pa *mesh.PeerAuthentication) bool {
	for _, w := range p.X.Select(pa.Namespace, pa.Spec.GetSelector().GetMatchLabels()) {
		sc := p.Engine.Sidecar(w)
		if sc.Ambient {
			return false
		}
		if sc.Kind != resolve.ProxySidecar {
			continue
		}
		older := false
		for _, q := range p.X.PeerAuthentications {
			if q != pa && q.Namespace == pa.Namespace && !namespaceWide(q) &&
				mesh.SubsetOf(q.Spec.GetSelector().GetMatchLabels(), w.Labels) && mesh.CreationOrder(q.Obj, pa.Obj) {
				older = true
				break
			}
		}
		if !older {
			return false
		}
	}
	return true
}
