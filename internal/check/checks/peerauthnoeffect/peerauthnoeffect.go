// Package peerauthnoeffect finds PeerAuthentications that change nothing:
// a selector that matches no pod, only pods without a sidecar, only gateways,
// a selector in the root namespace, or a STRICT namespace without sidecars.
package peerauthnoeffect

import (
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Selector is MD0103.
var Selector = &check.Check{
	Code: "MD0103", Name: "peerauthentication-no-effect", Severity: check.Warning,
	Doc: check.Doc{
		Title: "A selector PeerAuthentication that applies to no sidecar",
		What: "A PeerAuthentication with a selector that matches no pod of its namespace, only pods without a sidecar " +
			"(and not in ambient mode), only gateway pods, or that sits in the root namespace.",
		Why: "A PeerAuthentication is enforced by the inbound listeners of the server's sidecar " +
			"(pilot/pkg/security/authn/policy_applier.go). Pods without a sidecar have none, and gateways' listeners " +
			"come from Gateway resources, not PeerAuthentication (ISTIO-SEMANTICS.md §4). Selector policies in the root " +
			"namespace are ignored (istio/api security/v1beta1/peer_authentication.proto).",
		Example: "kind: PeerAuthentication\nmetadata: {name: ingress-gateway-mtls, namespace: istio-system}\nspec:\n  selector: {matchLabels: {app: istio-ingressgateway}}\n  mtls: {mode: STRICT}",
		Fix: "Delete the policy, or point its selector at the sidecar workloads it is meant for; for a gateway, " +
			"configure TLS on the Gateway server or a DestinationRule instead.",
	},
	Run: runSelector,
}

// StrictNoSidecar is MD0104.
var StrictNoSidecar = &check.Check{
	Code: "MD0104", Name: "strict-without-sidecars", Severity: check.Warning,
	Doc: check.Doc{
		Title:   "STRICT namespace-wide PeerAuthentication in a namespace without sidecars",
		What:    "A namespace-wide PeerAuthentication with mode STRICT in a namespace whose workloads all run without a sidecar and none in ambient mode (ztunnel enforces PeerAuthentication for ambient pods).",
		Why:     "STRICT is enforced by the servers' sidecars (policy_applier.go); without them nothing is enforced, and the namespace accepts plaintext from anyone despite the policy.",
		Example: "kind: PeerAuthentication\nmetadata: {name: default, namespace: legacy}   # no pod in legacy has a sidecar\nspec: {mtls: {mode: STRICT}}",
		Fix:     "Inject sidecars into the namespace (label istio-injection=enabled and restart the pods), or delete the policy.",
	},
	Run: runStrict,
}

func runSelector(p *check.Pass) {
	for _, pa := range p.X.PeerAuthentications {
		sel := pa.Spec.GetSelector().GetMatchLabels()
		if len(sel) == 0 {
			continue
		}
		at := pa.Obj.Ref("spec.selector")
		if pa.Namespace == p.X.Mesh.RootNamespace {
			// Gateways live in the root namespace too: the root rule is the
			// first reason such a policy does nothing.
			f := &check.Finding{Object: at, Message: fmt.Sprintf("PeerAuthentication %s/%s has a selector in the root namespace %s, where Istio ignores selector policies: it changes nothing",
				pa.Namespace, pa.Name, pa.Namespace)}
			if ws := p.X.Select(pa.Namespace, sel); len(ws) > 0 && allGateways(p.Engine, ws) {
				f.Message += fmt.Sprintf(" (and %s is a gateway, whose listeners PeerAuthentication never configures)", names(ws))
			}
			propose(f, pa)
			p.Report(*f)
			continue
		}
		ws := p.X.Select(pa.Namespace, sel)
		var msg string
		sev := check.Severity(0)
		switch {
		case len(ws) == 0:
			msg = fmt.Sprintf("PeerAuthentication %s/%s selects no pod: no workload of namespace %s has the labels %s", pa.Namespace, pa.Name, pa.Namespace, labels(sel))
		case allGateways(p.Engine, ws):
			msg = fmt.Sprintf("PeerAuthentication %s/%s selects only the gateway %s, whose listeners PeerAuthentication never configures: it changes nothing", pa.Namespace, pa.Name, names(ws))
		case noneHasSidecar(p.Engine, ws) && !anyAmbient(p.Engine, ws):
			msg = fmt.Sprintf("PeerAuthentication %s/%s selects only %s, whose pods run without a sidecar: nothing enforces it, so it changes nothing", pa.Namespace, pa.Name, names(ws))
			sev = check.Info
		default:
			continue
		}
		f := &check.Finding{Object: at, Message: msg, Severity: sev}
		for _, w := range ws {
			f.Relate(w.Ref(w.TemplatePath + ".labels"))
		}
		propose(f, pa)
		p.Report(*f)
	}
}

func propose(f *check.Finding, pa *mesh.PeerAuthentication) {
	f.Propose(check.Candidate{Summary: fmt.Sprintf("delete PeerAuthentication %s/%s, which changes nothing", pa.Namespace, pa.Name),
		Changes: []trace.Change{check.Delete(pa.Obj)}})
}

func runStrict(p *check.Pass) {
	for _, pa := range p.X.PeerAuthentications {
		if len(pa.Spec.GetSelector().GetMatchLabels()) > 0 || pa.Namespace == p.X.Mesh.RootNamespace {
			continue
		}
		if p.Engine.NamespaceMTLS(pa.Namespace).Mode != resolve.ModeStrict || pa.Spec.GetMtls().GetMode().String() != resolve.ModeStrict {
			continue
		}
		ws := p.X.WorkloadsIn(pa.Namespace)
		if len(ws) == 0 || !noneHasSidecar(p.Engine, ws) || anyAmbient(p.Engine, ws) {
			continue
		}
		f := &check.Finding{Object: pa.Obj.Ref("spec.mtls.mode"),
			Message: fmt.Sprintf("PeerAuthentication %s/%s sets STRICT but no workload of namespace %s has a sidecar (%s): nothing enforces it, and the pods accept plaintext", pa.Namespace, pa.Name, pa.Namespace, names(ws))}
		for _, w := range ws {
			f.Relate(p.Engine.Sidecar(w).By...)
		}
		// The policy asks for STRICT: the fix that serves it injects sidecars
		// (the injector's namespace selector, istio-injection=enabled),
		// verified like any fix (callers the STRICT ports then refuse make it
		// fail). Deleting the policy would change no connection today, but
		// would drop the STRICT meant for when sidecars come.
		if ns := p.X.Namespace(pa.Namespace); ns != nil && ns.Obj != nil && ns.Labels["istio-injection"] == "" && ns.Labels["istio.io/rev"] == "" {
			f.ProposeEdit(fmt.Sprintf("label namespace %s istio-injection=enabled so that its pods get sidecars and STRICT is enforced (the pods must then be restarted)", pa.Namespace),
				ns.Obj, objects.Path("metadata", "labels", "istio-injection"), func(any) (any, bool) { return "enabled", false })
		}
		p.Report(*f)
	}
}

// anyAmbient reports a pod enrolled in ambient mode: it has no sidecar, but
// ztunnel enforces PeerAuthentication for it ("In ambient mode ... DISABLE
// mode is not supported. STRICT mode is useful to ensure that connections that
// bypass the mesh are not possible": istio/api peer_authentication.proto), so
// a policy on it is not without effect.
func anyAmbient(e *resolve.Engine, ws []*mesh.Workload) bool {
	for _, w := range ws {
		if e.Sidecar(w).Ambient {
			return true
		}
	}
	return false
}

func allGateways(e *resolve.Engine, ws []*mesh.Workload) bool {
	for _, w := range ws {
		if e.Sidecar(w).Kind != resolve.ProxyGateway {
			return false
		}
	}
	return true
}

func noneHasSidecar(e *resolve.Engine, ws []*mesh.Workload) bool {
	for _, w := range ws {
		if e.Sidecar(w).Kind == resolve.ProxySidecar {
			return false
		}
	}
	return true
}

func names(ws []*mesh.Workload) string {
	var s []string
	for _, w := range ws {
		s = append(s, w.Kind+" "+w.Key())
	}
	return strings.Join(s, ", ")
}

func labels(m map[string]string) string {
	var s []string
	for _, k := range sortedKeys(m) {
		s = append(s, k+"="+m[k])
	}
	return strings.Join(s, ",")
}
