// Package serviceport finds Service ports whose targetPort matches no
// container port of the workloads the Service selects.
//
// It reads the configuration, callers or not. The path checks say what the
// calls that use such a port get: MD0607 (no-endpoints) when a named
// targetPort leaves a Service port with no endpoint at all, MD0606
// (port-not-listening) when a numeric one is undeclared; MD0501
// (loopback-bind) is about declared ports the application binds to loopback,
// which this check never reports (the port is declared). This check points at
// the Service field to change, also when only some of the selected workloads
// miss the port (the others still serve it, so no path fails).
package serviceport

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// Check is MD0503.
var Check = &check.Check{
	Code: "MD0503", Name: "service-port-without-container-port", Severity: check.Warning,
	Doc: check.Doc{
		Title: "Service targetPort that no container of the selected workloads declares",
		What: "A Service port whose targetPort (the port itself when targetPort is absent) is a name no container " +
			"of a selected workload declares, or a number none of them declares while they declare other ports. " +
			"Workloads that declare no port at all are not reported for a numeric targetPort.",
		Why: "A named targetPort is looked up among the pod's container ports with the same name and protocol; when " +
			"none matches, the EndpointSlice controller leaves the pod out of the Service's endpoints for that port " +
			"(k8s.io/kubernetes pkg/api/v1/pod/util.go FindPort fails and the pod is skipped). Istio builds its " +
			"endpoints from the EndpointSlices (pilot/pkg/serviceregistry/kube/controller/endpointslice.go), so the " +
			"Service's traffic on that port goes to the other pods only, or gets 503 UH `no healthy upstream` when " +
			"there are none. A numeric targetPort is used as is, declared or not (Kubernetes calls container ports " +
			"\"primarily informational\": core/v1 Container.ports), and the sidecar's inbound listener forwards to " +
			"the pod IP on that port; but when the containers declare other ports, the number is most likely a " +
			"mismatch with the port the application listens on, and callers then get 503 UF `Connection refused`.",
		Example: "ports:\n- port: 80\n  targetPort: 8081   # the container declares containerPort: 8080",
		Fix: "Point targetPort at the port the container serves (by name only when a container declares that name " +
			"with the Service port's protocol), or declare the port in the container.",
	},
	Run: run,
}

// proxyPorts are the ports the injected istio-proxy serves itself on every
// pod with a sidecar, which the pod template (before injection) does not
// declare: 15020 (pilot-agent's merged Prometheus metrics), 15021 (health)
// and 15090 (Envoy's Prometheus stats, which the injected container declares
// as http-envoy-prom); istio-iptables leaves them out of inbound capture
// (-d 15090,15021,15020). https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
var proxyPorts = map[int32]bool{15020: true, 15021: true, 15090: true}

// proxyPortName is the name of the port the injection template declares on
// the istio-proxy container (containerPort 15090).
const proxyPortName = "http-envoy-prom"

// miss is one selected workload that does not declare the targetPort.
type miss struct {
	w        *mesh.Workload
	declared []declared
	tp       resolve.TargetPortDecision
}

// declared is a container port that can serve traffic, with where it is.
type declared struct {
	mesh.ContainerPort
	container *mesh.Container
}

func run(p *check.Pass) {
	e := p.Engine
	for _, svc := range p.X.Services {
		// ExternalName Services and Services without selector get no
		// endpoints from Kubernetes; a selector matching nothing is
		// reported by the path checks (MD0607) when callers use it.
		if svc.Obj == nil || svc.Type == "ExternalName" || len(svc.Selector) == 0 {
			continue
		}
		var ws []*mesh.Workload
		for _, w := range p.X.Select(svc.Namespace, svc.Selector) {
			// The implied ingress gateway is an assumption, not input: its
			// ports are Istio's defaults, not the user's.
			if !w.Implicit {
				ws = append(ws, w)
			}
		}
		if len(ws) == 0 {
			continue
		}
		for i := range svc.Ports {
			sp := &svc.Ports[i]
			var misses []miss
			for _, w := range ws {
				if m, ok := missing(e, svc, sp, w); ok {
					misses = append(misses, m)
				}
			}
			if len(misses) > 0 {
				report(p, svc, sp, ws, misses)
			}
		}
	}
}

// missing reports whether workload w does not declare the targetPort of sp,
// in a way worth reporting.
func missing(e *resolve.Engine, svc *mesh.Service, sp *mesh.ServicePort, w *mesh.Workload) (miss, bool) {
	// The engine resolves the targetPort as the EndpointSlice controller does:
	// a name is looked up by name and protocol among the containers that run
	// with the app (app containers and native sidecars), a number is taken as is.
	tp := e.TargetPort(svc, sp, w)
	if tp.Found {
		return miss{}, false
	}
	m := miss{w: w, declared: declaredPorts(w), tp: tp}
	named := sp.TargetPort.Type == intstr.String
	if e.Sidecar(w).HasProxy && ((named && tp.Name == proxyPortName) || (!named && proxyPorts[tp.Port])) {
		return miss{}, false // served by the injected proxy
	}
	if !named && len(m.declared) == 0 {
		// Many applications declare no port: Kubernetes does not require it,
		// so an undeclared number says nothing about what listens.
		return miss{}, false
	}
	return m, true
}

// declaredPorts lists the ports of the containers that run alongside the app
// (app containers and native sidecars; init containers have exited).
func declaredPorts(w *mesh.Workload) []declared {
	var out []declared
	for i := range w.Containers {
		c := &w.Containers[i]
		if c.Init && !c.RestartAlways {
			continue
		}
		for _, cp := range c.Ports {
			out = append(out, declared{cp, c})
		}
	}
	return out
}

func report(p *check.Pass, svc *mesh.Service, sp *mesh.ServicePort, ws []*mesh.Workload, misses []miss) {
	at := sp.Path + ".targetPort"
	if _, ok := svc.Obj.Fields.Lookup(at); !ok {
		at = sp.Path // targetPort defaults to port
	}
	named := sp.TargetPort.Type == intstr.String
	var parts []string
	for _, m := range misses {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", m.w.Kind, m.w.Key(), declaresText(m.declared)))
	}
	who := strings.Join(parts, " or ")
	var msg string
	if named {
		their := "their"
		if len(misses) == 1 {
			their = "its"
		}
		consequence := fmt.Sprintf("the EndpointSlice controller leaves %s pods out of the Service's endpoints for port %d, so no call to that port reaches them", their, sp.Port)
		if len(misses) == len(ws) {
			consequence += " and the port has no endpoints at all"
		}
		msg = fmt.Sprintf("port %d of Service %s has targetPort %q, but no container of %s declares a %s port named %q: %s",
			sp.Port, svc.Key(), sp.TargetPort.StrVal, who, sp.Protocol, sp.TargetPort.StrVal, consequence)
	} else {
		msg = fmt.Sprintf("port %d of Service %s targets port %d, which no container of %s declares: likely a mismatch with the port the application listens on, since the endpoints carry port %d as is and callers are sent there whether or not anything listens",
			sp.Port, svc.Key(), sp.TargetPort.IntVal, who, sp.TargetPort.IntVal)
	}
	f := &check.Finding{Object: svc.Obj.Ref(at), Message: msg}
	for _, m := range misses {
		f.Relate(portRefs(m)...)
		for _, a := range m.tp.Assumptions {
			if !slices.Contains(f.Assumptions, a) {
				f.Assumptions = append(f.Assumptions, a)
			}
		}
	}
	if fix, ok := fixPort(p.Engine, svc, sp, ws); ok {
		var v any = fix.Port
		label := fmt.Sprint(fix.Port)
		if named && fix.Name != "" {
			v, label = fix.Name, fmt.Sprintf("%q", fix.Name)
		}
		f.ProposeEdit(fmt.Sprintf("point port %d of Service %s at container port %s, the one its pods declare", sp.Port, svc.Key(), label), svc.Obj, sp.Path+".targetPort", func(any) (any, bool) { return v, false })
	}
	p.Report(*f)
}

// declaresText says which ports a workload declares: `it declares 8080
// "http"/TCP` or `it declares no port`.
func declaresText(ds []declared) string {
	if len(ds) == 0 {
		return "it declares no port"
	}
	var ps []string
	for _, d := range ds {
		s := fmt.Sprintf("%d/%s", d.Port, d.Protocol)
		if d.Name != "" {
			s = fmt.Sprintf("%d %q/%s", d.Port, d.Name, d.Protocol)
		}
		ps = append(ps, s)
	}
	return "it declares " + strings.Join(ps, ", ")
}

// portRefs points at the ports fields of the workload's containers, or at
// its containers when none declares a port.
func portRefs(m miss) []objects.Ref {
	var refs []objects.Ref
	seen := map[*mesh.Container]bool{}
	for _, d := range m.declared {
		if !seen[d.container] {
			seen[d.container] = true
			refs = append(refs, m.w.Ref(d.container.Path+".ports"))
		}
	}
	if len(refs) == 0 && m.w.Obj != nil {
		refs = append(refs, m.w.Ref(objects.Join(m.w.PodSpecPath, "containers")))
	}
	return refs
}

// fixPort returns the one container port, of the Service port's protocol,
// that every selected workload declares, when there is exactly one: then
// pointing targetPort at it cannot break the workloads that are served
// today. Its name is kept only when every workload gives it the same one.
// A container port that another port of the Service already targets on a
// workload (of the same protocol, resolved as the EndpointSlice controller
// does) is left out: it serves that port's traffic, and sending this port's
// there too (gRPC to the HTTP port) would be a second mistake, not a fix.
func fixPort(e *resolve.Engine, svc *mesh.Service, sp *mesh.ServicePort, ws []*mesh.Workload) (mesh.ContainerPort, bool) {
	var common map[int32]mesh.ContainerPort
	for _, w := range ws {
		here := map[int32]mesh.ContainerPort{}
		for _, d := range declaredPorts(w) {
			if !strings.EqualFold(d.Protocol, sp.Protocol) || targeted(e, svc, sp, w, d.Port) {
				continue
			}
			if old, ok := here[d.Port]; ok && old.Name != d.Name {
				d.Name = "" // the same number under two names
			}
			here[d.Port] = d.ContainerPort
		}
		if common == nil {
			common = here
			continue
		}
		for port, cp := range common {
			other, ok := here[port]
			switch {
			case !ok:
				delete(common, port)
			case other.Name != cp.Name:
				cp.Name = ""
				common[port] = cp
			}
		}
	}
	if len(common) == 1 {
		for _, cp := range common {
			return cp, true
		}
	}
	return mesh.ContainerPort{}, false
}

// targeted reports whether a port of svc other than sp, of sp's protocol,
// sends its traffic to port n of workload w.
func targeted(e *resolve.Engine, svc *mesh.Service, sp *mesh.ServicePort, w *mesh.Workload, n int32) bool {
	for i := range svc.Ports {
		op := &svc.Ports[i]
		if op == sp || !strings.EqualFold(protocol(op), protocol(sp)) {
			continue
		}
		if e.TargetPort(svc, op, w).Port == n {
			return true
		}
	}
	return false
}

// protocol is a Service port's protocol, TCP when absent.
func protocol(sp *mesh.ServicePort) string {
	if sp.Protocol == "" {
		return "TCP"
	}
	return sp.Protocol
}
