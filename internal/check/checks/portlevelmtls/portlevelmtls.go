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
		Fix:     "Move portLevelMtls to a PeerAuthentication with a selector for the workloads that serve that port.",
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
		p.Report(*f)
	}
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
			for _, w := range ws {
				if _, cp := w.ContainerPort(port); cp != nil {
					declared = true
					break
				}
				for _, svc := range p.X.ServicesIn(w.Namespace) {
					if len(svc.Selector) == 0 || !mesh.SubsetOf(svc.Selector, w.Labels) {
						continue
					}
					if sp := svc.Port(port); sp != nil {
						if tp := e.TargetPort(svc, sp, w); tp.Port != 0 && tp.Port != port {
							targets = append(targets, fmt.Sprintf("Service %s port %d targets %s port %d", svc.Key(), port, w.Key(), tp.Port))
						}
					}
				}
			}
			if declared || len(targets) == 0 {
				continue
			}
			sort.Strings(targets)
			p.Report(check.Finding{Object: pa.Obj.Ref(objects.Child("spec.portLevelMtls", strconv.Itoa(key))),
				Message: fmt.Sprintf("portLevelMtls %d of PeerAuthentication %s/%s is a Service port, not a container port (%s): Istio keys portLevelMtls by the container port, so this entry is ignored",
					key, pa.Namespace, pa.Name, strings.Join(targets, "; "))})
		}
	}
}
