package authzplaintext

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	security "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// openPort is a container port of a sidecar workload that accepts plaintext.
type openPort struct {
	w    *mesh.Workload
	port int32
}

// strictPolicy is a PeerAuthentication the fix adds or edits, and the ports
// it makes STRICT.
type strictPolicy struct {
	ns       string
	selector map[string]string
	existing *mesh.PeerAuthentication // nil: a new policy
	ports    []int32
	names    []string // the workload ports, for the summary
}

// requireMTLS proposes STRICT on every open port, port by port: a port-level
// mode of the workload's PeerAuthentication overrides the workload, namespace
// and mesh modes (policy_applier.go ComposePeerAuthentication), and it is keyed
// by the container port (listener_inbound.go ForPort(targetPort)). A workload
// that has a selector policy gets the ports added to it, since a second one
// would be ignored (the oldest applies, not merged: authentication.go
// getConfigsForWorkload); the others get a new selector policy. On a STRICT
// port every request carries the peer certificate that principals and
// namespaces are read from; callers without a sidecar can no longer connect,
// which the driver's verification weighs (a new Error rejects the fix).
func requireMTLS(p *check.Pass, pol *mesh.AuthorizationPolicy, open []openPort) (check.Candidate, bool) {
	root := p.X.Mesh.RootNamespace
	var order []*strictPolicy
	byKey := map[string]*strictPolicy{}
	get := func(key string, mk func() *strictPolicy) *strictPolicy {
		sp := byKey[key]
		if sp == nil {
			sp = mk()
			byKey[key] = sp
			order = append(order, sp)
		}
		return sp
	}
	for _, o := range open {
		if o.w.Namespace == root {
			// Selector policies in the root namespace are ignored
			// (peer_authentication.proto), and its namespace-wide one is mesh-wide.
			return check.Candidate{}, false
		}
		var sp *strictPolicy
		if pa := workloadPolicy(p.X, o.w); pa != nil {
			sp = get("pa|"+pa.Namespace+"/"+pa.Name, func() *strictPolicy {
				return &strictPolicy{ns: pa.Namespace, existing: pa}
			})
		} else {
			sel := selectorFor(p.X, pol, o.w)
			if len(sel) == 0 {
				return check.Candidate{}, false
			}
			sp = get("new|"+o.w.Namespace+"|"+labelString(sel), func() *strictPolicy {
				return &strictPolicy{ns: o.w.Namespace, selector: sel}
			})
		}
		if !containsPort(sp.ports, o.port) {
			sp.ports = append(sp.ports, o.port)
		}
		sp.names = append(sp.names, fmt.Sprintf("%s:%d", o.w.Key(), o.port))
	}
	var changes []trace.Change
	var parts []string
	taken := map[string]bool{}
	for _, sp := range order {
		sort.Slice(sp.ports, func(i, j int) bool { return sp.ports[i] < sp.ports[j] })
		if sp.existing != nil {
			pa := sp.existing
			ch, err := trace.Edit(pa.Obj, "spec.portLevelMtls", func(old any) (any, bool) {
				m, _ := old.(map[string]any)
				if m == nil {
					m = map[string]any{}
				}
				for _, port := range sp.ports {
					m[strconv.Itoa(int(port))] = map[string]any{"mode": resolve.ModeStrict}
				}
				return m, false
			})
			if err != nil {
				return check.Candidate{}, false
			}
			changes = append(changes, ch)
			parts = append(parts, fmt.Sprintf("%s in PeerAuthentication %s/%s", strings.Join(sp.names, ", "), pa.Namespace, pa.Name))
			continue
		}
		name := freeName(p.X, sp.ns, policyName(sp.selector, pol), taken)
		taken[name] = true
		pa := &securityv1.PeerAuthentication{}
		pa.Name, pa.Namespace = name, sp.ns
		pa.Spec.Selector = &typev1beta1.WorkloadSelector{MatchLabels: sp.selector}
		pa.Spec.PortLevelMtls = map[uint32]*security.PeerAuthentication_MutualTLS{}
		for _, port := range sp.ports {
			pa.Spec.PortLevelMtls[uint32(port)] = &security.PeerAuthentication_MutualTLS{Mode: security.PeerAuthentication_MutualTLS_STRICT}
		}
		changes = append(changes, trace.Change{New: trace.NewObject("security.istio.io/v1", "PeerAuthentication", sp.ns, name, pa)})
		parts = append(parts, fmt.Sprintf("%s in a new PeerAuthentication %s/%s", strings.Join(sp.names, ", "), sp.ns, name))
	}
	if len(changes) == 0 {
		return check.Candidate{}, false
	}
	return check.Candidate{
		Summary: fmt.Sprintf("require mTLS (port-level STRICT) on %s: every request then carries the peer identity AuthorizationPolicy %s/%s matches on, and callers without a sidecar can no longer connect",
			strings.Join(parts, ", and on "), pol.Namespace, pol.Name),
		Changes: changes,
	}, true
}

// workloadPolicy returns the selector PeerAuthentication that applies to w:
// the oldest one of its namespace whose selector matches the pod labels
// (authentication.go getConfigsForWorkload; ComposePeerAuthentication keeps
// the first). Selector policies of the root namespace never apply.
func workloadPolicy(x *mesh.Index, w *mesh.Workload) *mesh.PeerAuthentication {
	if w.Namespace == x.Mesh.RootNamespace {
		return nil
	}
	var best *mesh.PeerAuthentication
	for _, pa := range x.PeerAuthentications {
		sel := pa.Spec.GetSelector().GetMatchLabels()
		if pa.Namespace != w.Namespace || len(sel) == 0 || !mesh.SubsetOf(sel, w.Labels) {
			continue
		}
		if best == nil || mesh.CreationOrder(pa.Obj, best.Obj) {
			best = pa
		}
	}
	return best
}

// selectorFor picks the labels of a new policy for w: the
// AuthorizationPolicy's own selector (it selects w, and the policy's other
// workloads with it), else w's app label, else all of w's labels but those the
// platform adds; the first that selects no pod of the namespace that has a
// selector policy already. A new policy on such a pod would compete with that
// one (the oldest applies), and where a new object falls in the creation
// order is not known. nil when none fits.
func selectorFor(x *mesh.Index, pol *mesh.AuthorizationPolicy, w *mesh.Workload) map[string]string {
	var cands []map[string]string
	if sel := pol.Spec.GetSelector().GetMatchLabels(); len(sel) > 0 && mesh.SubsetOf(sel, w.Labels) {
		cands = append(cands, sel)
	}
	for _, k := range []string{"app", "app.kubernetes.io/name"} {
		if v, ok := w.Labels[k]; ok {
			cands = append(cands, map[string]string{k: v})
			break
		}
	}
	all := map[string]string{}
	for k, v := range w.Labels {
		if k != mesh.LabelTLSMode && k != "pod-template-hash" {
			all[k] = v
		}
	}
	cands = append(cands, all)
next:
	for _, sel := range cands {
		if len(sel) == 0 {
			continue
		}
		for _, o := range x.Select(w.Namespace, sel) {
			if workloadPolicy(x, o) != nil {
				continue next
			}
		}
		return sel
	}
	return nil
}

// policyName names the new policy after the app it selects, else after the
// AuthorizationPolicy.
func policyName(sel map[string]string, pol *mesh.AuthorizationPolicy) string {
	for _, k := range []string{"app", "app.kubernetes.io/name"} {
		if v, ok := sel[k]; ok && len(sel) == 1 {
			return v + "-strict"
		}
	}
	return pol.Name + "-strict"
}

// freeName returns name, or name-2, name-3, ... when a PeerAuthentication of
// the namespace (or one the fix adds) has it.
func freeName(x *mesh.Index, ns, name string, taken map[string]bool) string {
	used := func(n string) bool {
		if taken[n] {
			return true
		}
		for _, pa := range x.PeerAuthentications {
			if pa.Namespace == ns && pa.Name == n {
				return true
			}
		}
		return false
	}
	out := name
	for i := 2; used(out); i++ {
		out = name + "-" + strconv.Itoa(i)
	}
	return out
}

func labelString(m map[string]string) string {
	var s []string
	for _, k := range objects.SortedKeys(m) {
		s = append(s, k+"="+m[k])
	}
	return strings.Join(s, ",")
}
