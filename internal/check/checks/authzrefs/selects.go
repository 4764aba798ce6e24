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

func runSelectsNothing(p *check.Pass) {
	x := p.X
	root := x.Mesh.RootNamespace
	// Whether the input holds any workload at all, for root policies.
	anyWorkload := false
	for _, w := range x.Workloads {
		if !w.Implicit {
			anyWorkload = true
			break
		}
	}
	for _, pol := range x.AuthorizationPolicies {
		// targetRef(s) attach the policy to Gateway API gateways and
		// waypoints, not by labels (policyattachment.go ShouldAttachPolicy);
		// their pods are deployed by Istio and absent from manifests.
		if len(pol.Spec.GetTargetRefs()) > 0 || pol.Spec.GetTargetRef() != nil {
			continue
		}
		sel := pol.Spec.GetSelector().GetMatchLabels()
		if len(sel) == 0 {
			continue
		}
		// The engine's selection (resolve azPolicyApplies): matchLabels a
		// subset of the pod labels, in the policy's namespace, or in every
		// namespace for a policy of the root namespace.
		var scope []*mesh.Workload
		if pol.Namespace == root {
			if !anyWorkload {
				continue
			}
			scope = x.Workloads
		} else {
			if !knownNamespace(x, pol.Namespace) {
				continue
			}
			scope = x.WorkloadsIn(pol.Namespace)
		}
		if selectsAny(sel, scope) {
			continue
		}
		f := &check.Finding{Object: pol.Obj.Ref("spec.selector")}
		if pol.Namespace == root {
			f.Message = fmt.Sprintf("AuthorizationPolicy %s/%s is in the root namespace %s, so its selector applies in every namespace, but no workload of the input in any namespace has the labels %s: the policy has no effect",
				pol.Namespace, pol.Name, root, labelString(sel))
			f.Assumptions = append(f.Assumptions, "the input holds the workloads of every namespace")
			if a, ok := x.Assumption(mesh.AssumeRootNamespace); ok {
				f.Assumptions = append(f.Assumptions, a)
			}
		} else {
			f.Message = fmt.Sprintf("AuthorizationPolicy %s/%s selects no workload: no workload of namespace %s has the labels %s, so the policy has no effect",
				pol.Namespace, pol.Name, pol.Namespace, labelString(sel))
		}
		if key, val, ws := nearSelector(sel, scope); len(ws) > 0 {
			var names []string
			for i, w := range ws {
				if i == 3 {
					names = append(names, fmt.Sprintf("%d more", len(ws)-3))
					break
				}
				names = append(names, w.Kind+" "+w.Key())
			}
			for _, w := range ws {
				f.Relate(w.Ref(objects.Join(w.TemplatePath, "labels")))
			}
			f.Message += fmt.Sprintf(" (did you mean %s=%s, the label of %s?)", key, val, strings.Join(names, ", "))
			ch, err := trace.Edit(pol.Obj, objects.Path("spec", "selector", "matchLabels", key), func(any) (any, bool) { return val, false })
			if err == nil {
				f.Propose(check.Candidate{
					Summary: fmt.Sprintf("select %s: set the selector's %s to %q", strings.Join(names, ", "), key, val),
					Changes: []trace.Change{ch},
				})
			}
		}
		p.Report(*f)
	}
}

// selectsAny reports whether sel is a subset of the pod labels of one of ws
// (policyattachment.go isSelected, as the engine applies it).
func selectsAny(sel map[string]string, ws []*mesh.Workload) bool {
	for _, w := range ws {
		if mesh.SubsetOf(sel, w.Labels) {
			return true
		}
	}
	return false
}

// nearSelector looks for the selector that was meant: the workloads of ws
// whose labels have every key of sel and differ from it in exactly one value,
// a typo of the selector's (see typo: not another version such as v2 for
// v3, nor the value with a qualifier, whose workloads the policy was not
// written for). It returns the label to correct
// when every such workload agrees on it, with the workloads; nothing when
// there is none or several corrections.
func nearSelector(sel map[string]string, ws []*mesh.Workload) (string, string, []*mesh.Workload) {
	type fix struct{ key, val string }
	var found *fix
	var out []*mesh.Workload
	for _, w := range ws {
		var diff *fix
		n := 0
		for k, v := range sel {
			lv, ok := w.Labels[k]
			if !ok {
				n = 2 // a missing key is not a one-value difference
				break
			}
			if lv != v {
				n++
				diff = &fix{k, lv}
			}
		}
		if n != 1 {
			continue
		}
		if _, ok := typo(sel[diff.key], diff.val); !ok {
			continue
		}
		if found != nil && *found != *diff {
			return "", "", nil
		}
		found = diff
		out = append(out, w)
	}
	if found == nil {
		return "", "", nil
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return found.key, found.val, out
}
