package resolve

import (
	"fmt"

	security "istio.io/api/security/v1beta1"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// SelectedPolicy is one AuthorizationPolicy that selects a workload.
type SelectedPolicy struct {
	Policy *mesh.AuthorizationPolicy `json:"-"`
	// Action is CUSTOM, DENY, ALLOW or AUDIT.
	Action string `json:"action"`
	// Enforced is false for a dry-run ALLOW or DENY policy (only logged) and
	// for AUDIT policies, which never decide.
	Enforced bool `json:"enforced"`
	Decision
}

// AuthorizationPolicies lists the AuthorizationPolicies that select w, in the
// order Authorize evaluates them (CUSTOM, DENY, ALLOW, then AUDIT; creation
// order within each action), with the same selection as Authorize:
// authorization.go ListAuthorizationPolicies takes the policies of the root
// namespace and of w's namespace, and ShouldAttachPolicy keeps those whose
// selector (or targetRef, for Gateway API gateways) selects w. Dry-run
// ALLOW/DENY and AUDIT policies are listed with Enforced false. The returned
// Decision carries the notes of policies that were left out (a targetRef on a
// sidecar) as its Reason.
func (e *Engine) AuthorizationPolicies(w *mesh.Workload) ([]SelectedPolicy, Decision) {
	var d Decision
	if w == nil {
		return nil, d
	}
	root := e.X.Mesh.RootNamespace
	nss := []string{root}
	if w.Namespace != root {
		nss = append(nss, w.Namespace)
	}
	byAction := map[string][]SelectedPolicy{}
	var notes []string
	for _, ns := range nss {
		for _, p := range e.policiesIn(ns) {
			ok, why := azPolicyApplies(p, w)
			if why != "" {
				notes = append(notes, why)
				d.By = append(d.By, p.Obj.Ref("spec.targetRef"))
			}
			if !ok {
				continue
			}
			sp := SelectedPolicy{Policy: p, Action: p.Spec.GetAction().String(), Enforced: true}
			scope := fmt.Sprintf("namespace %s", p.Namespace)
			if p.Namespace == root {
				scope = fmt.Sprintf("the root namespace %s (it applies mesh-wide)", root)
			}
			switch {
			case len(p.Spec.GetSelector().GetMatchLabels()) > 0:
				sp.Reason = fmt.Sprintf("its selector %s in %s matches the pod labels of %s", secLabelString(p.Spec.GetSelector().GetMatchLabels()), scope, w.Key())
				sp.By = append(sp.By, p.Obj.Ref("spec.selector"))
			case len(p.Spec.GetTargetRefs()) > 0 || p.Spec.GetTargetRef() != nil:
				sp.Reason = fmt.Sprintf("its targetRef in %s names the Gateway of %s", scope, w.Key())
				sp.By = append(sp.By, p.Obj.Ref("spec"))
			default:
				sp.Reason = fmt.Sprintf("it has no selector in %s, so it selects every workload there", scope)
				sp.By = append(sp.By, p.Obj.Ref(""))
			}
			switch p.Spec.GetAction() {
			case security.AuthorizationPolicy_CUSTOM:
				// Dry-run CUSTOM policies still call ext_authz (builder.go).
			case security.AuthorizationPolicy_AUDIT:
				sp.Enforced = false
				sp.Reason += "; AUDIT policies only log, they never allow or deny"
			default:
				if azDryRun(p) {
					sp.Enforced = false
					sp.Reason += "; it is dry-run (istio.io/dry-run annotation): only logged, never enforced"
					sp.By = append(sp.By, p.Obj.Ref(objects.Path("metadata", "annotations", "istio.io/dry-run")))
				}
			}
			if w.Namespace == root || p.Namespace == root {
				sp.AssumeKey(e.X, mesh.AssumeRootNamespace)
			}
			byAction[sp.Action] = append(byAction[sp.Action], sp)
		}
	}
	var out []SelectedPolicy
	for _, a := range []string{AuthzCustom, AuthzDeny, AuthzAllow, "AUDIT"} {
		out = append(out, byAction[a]...)
	}
	for _, n := range notes {
		if d.Reason != "" {
			d.Reason += "; "
		}
		d.Reason += n
	}
	return out, d
}
