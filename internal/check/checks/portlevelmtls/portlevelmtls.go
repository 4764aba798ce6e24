// Package portlevelmtls finds portLevelMtls settings that Istio ignores: on
// a policy without a selector, or keyed by a Service port instead of the
// container port.
package portlevelmtls

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// WithoutSelector is MD0105.
var WithoutSelector = &check.Check{
	Code: "MD0105", Name: "portlevelmtls-without-selector", Severity: check.Error,
	Doc: check.Doc{
		Title: "portLevelMtls in a PeerAuthentication without a selector",
		What:  "A namespace-wide or mesh-wide PeerAuthentication (no selector) that sets portLevelMtls.",
		Why: "The CRD rejects it (\"portLevelMtls requires selector\", istio/api peer_authentication.proto CEL rule) and " +
			"Istio's validation too (\"mesh/namespace peer authentication cannot have port level mTLS\"); istiod takes " +
			"port-level settings only from the workload policy it selects (policy_applier.go ComposePeerAuthentication). " +
			"Applied, the object is refused; loaded some other way, its ports are ignored.",
		Example: "kind: PeerAuthentication\nspec:\n  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080: {mode: PERMISSIVE}",
		Fix: "Remove portLevelMtls from the policy: it changes no port's mode there. If a per-port mode is meant, set it in " +
			"a PeerAuthentication with a selector for the workloads that serve that port.",
	},
	Run: runWithoutSelector,
}

// ServicePort is MD0106.
var ServicePort = &check.Check{
	Code: "MD0106", Name: "portlevelmtls-service-port", Severity: check.Warning,
	Doc: check.Doc{
		Title: "portLevelMtls keyed by a Service port instead of the container port",
		What:  "A portLevelMtls entry whose port is a Service port of the selected workloads but none of their container ports.",
		Why: "Istio keys portLevelMtls by the workload port (listener_inbound.go ForPort(targetPort); the API doc: \"the port " +
			"of the workload, not the port of the Kubernetes service\"); an entry for the Service port matches nothing and " +
			"the workload's mode applies instead (istio/istio#49098).",
		Example: "# Service port 80 -> targetPort 8080\nportLevelMtls:\n  80: {mode: DISABLE}   # should be 8080",
		Fix:     "Key the entry by the container port (the Service's targetPort).",
	},
	Run: runServicePort,
}

func runWithoutSelector(p *check.Pass) {
	for _, pa := range p.X.PeerAuthentications {
		if len(pa.Spec.GetSelector().GetMatchLabels()) > 0 || len(pa.Spec.GetPortLevelMtls()) == 0 {
			continue
		}
		var ports []string
		for port := range pa.Spec.GetPortLevelMtls() {
			ports = append(ports, strconv.Itoa(int(port)))
		}
		sort.Strings(ports)
		f := &check.Finding{Object: pa.Obj.Ref("spec.portLevelMtls"),
			Message: fmt.Sprintf("PeerAuthentication %s/%s sets portLevelMtls (ports %s) without a selector: the API server rejects it (portLevelMtls requires selector) and istiod ignores port-level settings of namespace-wide policies",
				pa.Namespace, pa.Name, strings.Join(ports, ", "))}
		if p.Fixes() {
			proposeRemove(f, pa)
		}
		p.Report(*f)
	}
}

// proposeRemove removes the portLevelMtls of a mesh- or namespace-wide policy:
// istiod reads port-level modes only from the workload policy
// (policy_applier.go ComposePeerAuthentication), so no port's mode changes, and
// the object then passes validation.
func proposeRemove(f *check.Finding, pa *mesh.PeerAuthentication) {
	ch, err := trace.Edit(pa.Obj, "spec.portLevelMtls", func(any) (any, bool) { return nil, true })
	if err != nil {
		return
	}
	f.Propose(check.Candidate{
		Summary: fmt.Sprintf("remove portLevelMtls from PeerAuthentication %s/%s: Istio ignores it without a selector, so no port's mode changes; for a per-port mode, set portLevelMtls in a PeerAuthentication whose selector matches the workloads that serve the port",
			pa.Namespace, pa.Name),
		Changes: []trace.Change{ch},
	})
}

func runServicePort(p *check.Pass) {
	e := p.Engine
	for _, pa := range p.X.PeerAuthentications {
		sel := pa.Spec.GetSelector().GetMatchLabels()
		if len(sel) == 0 || len(pa.Spec.GetPortLevelMtls()) == 0 || pa.Namespace == p.X.Mesh.RootNamespace {
			continue
		}
		var ws []*mesh.Workload
		for _, w := range p.X.Select(pa.Namespace, sel) {
			if e.Sidecar(w).Kind == resolve.ProxySidecar {
				ws = append(ws, w)
			}
		}
		keys := make([]int, 0, len(pa.Spec.GetPortLevelMtls()))
		for port := range pa.Spec.GetPortLevelMtls() {
			keys = append(keys, int(port))
		}
		sort.Ints(keys)
		for _, key := range keys {
			port := int32(key)
			declared := false
			var targets []string
			tps := map[int32]bool{}
			for _, w := range ws {
				if _, cp := w.ContainerPort(port); cp != nil {
					declared = true
					break
				}
				for _, svc := range p.X.ServicesOf(w) {
					if sp := svc.Port(port); sp != nil {
						if tp := e.TargetPort(svc, sp, w); tp.Port != 0 && tp.Port != port {
							targets = append(targets, fmt.Sprintf("Service %s port %d targets %s port %d", svc.Key(), port, w.Key(), tp.Port))
							tps[tp.Port] = true
						}
					}
				}
			}
			if declared || len(targets) == 0 {
				continue
			}
			sort.Strings(targets)
			f := &check.Finding{Object: pa.Obj.Ref(objects.Child("spec.portLevelMtls", strconv.Itoa(key))),
				Message: fmt.Sprintf("portLevelMtls %d of PeerAuthentication %s/%s is a Service port, not a container port (%s): Istio keys portLevelMtls by the container port, so this entry is ignored",
					key, pa.Namespace, pa.Name, strings.Join(targets, "; "))}
			if len(tps) == 1 && p.Fixes() {
				for tp := range tps {
					proposeRekey(f, pa, key, int(tp))
				}
			}
			p.Report(*f)
		}
	}
}

// proposeRekey moves the portLevelMtls entry of Service port from to the
// container port to that the Service targets on every selected workload:
// the sidecar's inbound listener looks the entry up by the container port
// (listener_inbound.go ForPort(targetPort)), so the entry's mode then applies
// to the traffic sent through the Service port. When the container port has
// an entry already, that entry decides the port today: with the same mode the
// dead entry is removed, with another mode nothing is proposed (which mode is
// meant is not known).
func proposeRekey(f *check.Finding, pa *mesh.PeerAuthentication, from, to int) {
	fromKey, toKey := strconv.Itoa(from), strconv.Itoa(to)
	entries := pa.Spec.GetPortLevelMtls()
	summary := fmt.Sprintf("key the portLevelMtls entry of PeerAuthentication %s/%s by container port %d (the Service's targetPort) instead of Service port %d, keeping mode %s",
		pa.Namespace, pa.Name, to, from, entries[uint32(from)].GetMode())
	if cur, ok := entries[uint32(to)]; ok {
		if cur.GetMode() != entries[uint32(from)].GetMode() {
			return
		}
		summary = fmt.Sprintf("remove the portLevelMtls entry %d of PeerAuthentication %s/%s: its container port %d has an entry with the same mode %s already",
			from, pa.Namespace, pa.Name, to, cur.GetMode())
	}
	ch, err := trace.Edit(pa.Obj, "spec.portLevelMtls", func(old any) (any, bool) {
		m, ok := old.(map[string]any)
		if !ok {
			return old, false
		}
		v := m[fromKey]
		delete(m, fromKey)
		if _, ok := m[toKey]; !ok {
			m[toKey] = v
		}
		return m, false
	})
	if err != nil {
		return
	}
	f.Propose(check.Candidate{Summary: summary, Changes: []trace.Change{ch}})
}
