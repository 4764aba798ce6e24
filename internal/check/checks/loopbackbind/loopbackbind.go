// Package loopbackbind finds applications that listen only on a loopback
// address on a port a Service sends traffic to.
package loopbackbind

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// Check is MD0501.
var Check = &check.Check{
	Code: "MD0501", Name: "loopback-bind", Severity: check.Error,
	Doc: check.Doc{
		Title: "Application bound to loopback on a Service's target port",
		What:  "A container starts its server on 127.0.0.1 (or localhost, ::1) on a port that a Service targets.",
		Why: "Since Istio 1.10 the sidecar forwards inbound traffic to the pod IP, not to 127.0.0.1 " +
			"(https://istio.io/latest/blog/2021/upcoming-networking-changes/), and without a sidecar the traffic " +
			"comes to the pod IP anyway. An application bound to loopback refuses every such connection: callers " +
			"through the mesh get 503 `upstream connect error ... delayed connect error: Connection refused` (UF), " +
			"although the pods are Running and in the endpoints.",
		Example: "containers:\n- name: blog\n  args: [\"app:app\", \"--host\", \"127.0.0.1\", \"--port\", \"8005\"]\n  ports:\n  - containerPort: 8005",
		Fix:     "Bind the application to 0.0.0.0 (or the pod IP); or, if it must stay on loopback, add a Sidecar ingress listener with defaultEndpoint 127.0.0.1:PORT.",
	},
	Run: run,
}

type key struct {
	w    *mesh.Workload
	port int32
}

func run(p *check.Pass) {
	e := p.Engine
	var order []key
	callers := map[key][]objects.Ref{}
	decisions := map[key]resolve.ListenDecision{}
	// Only workloads with a loopback bind can be reported: the walk visits
	// just the Services that select one, in Service order (the fix budget
	// goes to the first findings).
	loop := map[*mesh.Workload]bool{}
	svcs := map[*mesh.Service]bool{}
	for _, w := range p.X.Workloads {
		if e.MayBindLoopback(w) {
			loop[w] = true
			for _, svc := range p.X.ServicesOf(w) {
				svcs[svc] = true
			}
		}
	}
	for _, svc := range p.X.Services {
		if !svcs[svc] {
			continue
		}
		for i := range svc.Ports {
			sp := &svc.Ports[i]
			for _, ep := range e.EndpointSet(svc, sp, nil).Endpoints {
				if !loop[ep.Workload] {
					continue
				}
				k := key{ep.Workload, ep.TargetPort}
				d, ok := decisions[k]
				if !ok {
					d = e.Listening(ep.Workload, ep.TargetPort)
					decisions[k] = d
					if d.Loopback && d.Listening == resolve.ListenNo {
						order = append(order, k)
					}
				}
				if d.Loopback && d.Listening == resolve.ListenNo {
					callers[k] = append(callers[k], svc.Obj.Ref(sp.Path))
				}
			}
		}
	}
	for _, k := range order {
		d := decisions[k]
		var svcs []string
		for _, r := range callers[k] {
			svcs = append(svcs, r.Namespace+"/"+r.Name)
		}
		sort.Strings(svcs)
		at := k.w.Ref("")
		if len(d.By) > 0 {
			at = d.By[0]
		}
		f := &check.Finding{
			Object: at,
			Message: fmt.Sprintf("%s %s listens only on loopback on port %d (%s): the sidecar forwards inbound traffic to the pod IP, so every call through Service %s is refused (503 UF \"Connection refused\")",
				k.w.Kind, k.w.Key(), k.port, d.Evidence, strings.Join(svcs, ", ")),
			Assumptions: d.Assumptions,
		}
		f.Relate(callers[k]...)
		f.Relate(d.By[min(1, len(d.By)):]...)
		if at.Field != "" && k.w.Obj != nil {
			f.ProposeEdit(fmt.Sprintf("bind the application of %s %s to 0.0.0.0 instead of loopback", k.w.Kind, k.w.Key()), k.w.Obj, at.Field, func(v any) (any, bool) {
				s, ok := v.(string)
				if !ok {
					return v, false
				}
				return unbindLoopback(s), false
			})
		}
		p.Report(*f)
	}
}

// unbindLoopback replaces the loopback host in an argument or env value by
// 0.0.0.0: "127.0.0.1", "--host=localhost", "127.0.0.1:8005", "[::1]:8005".
func unbindLoopback(s string) string {
	for _, h := range []string{"[::1]", "127.0.0.1", "localhost", "::1"} {
		if strings.Contains(s, h) {
			return strings.Replace(s, h, "0.0.0.0", 1)
		}
	}
	return s
}
