// Package restartneeded finds running pods whose sidecar injection differs
// from what their workload and namespace ask for now: pods that must be
// restarted to get (or lose) the istio-proxy sidecar.
package restartneeded

import (
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// Check is MD0201.
var Check = &check.Check{
	Code: "MD0201", Name: "restart-needed", Severity: check.Warning,
	Doc: check.Doc{
		Title: "Running pods injected differently than their labels now ask",
		What: "A running pod (read from a cluster, or from a dump of pods with their status) has no istio-proxy container although " +
			"its workload's labels and namespace now ask for injection, or has one although they no longer do. " +
			"Typical cause: the namespace was labelled istio-injection=enabled (or the label was removed) after the pods were created.",
		Why: "The sidecar injector is a mutating webhook on pod CREATE only " +
			"(manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml, operations: [CREATE]); " +
			"changing labels never changes running pods (https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/: " +
			"\"automatic injection injects the proxy configuration at pod creation time\"; with the label set, \"any new pods that are created " +
			"in that namespace will automatically have a sidecar added to them\"). Until they are restarted the pods keep the " +
			"old behaviour: callers talk plaintext to them, STRICT PeerAuthentication is not enforced on them, or they keep a sidecar " +
			"meant to be removed, and different pods of one Service may behave differently.",
		Example: "kind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n---\n" +
			"kind: Pod   # created before the label, still without istio-proxy\n" +
			"metadata: {name: cart-5d8f-x, namespace: shop, ownerReferences: [{kind: ReplicaSet, name: cart-5d8f}]}\n" +
			"spec: {containers: [{name: cart, image: cart:1}]}\nstatus: {phase: Running}",
		Fix: "Restart the workload so that its pods are created again through the injector: " +
			"kubectl rollout restart deployment/NAME -n NS (statefulset/NAME, daemonset/NAME); delete and recreate a bare pod.",
	},
	Run: run,
}

func run(p *check.Pass) {
	e := p.Engine
	for _, w := range p.X.Workloads {
		pods := resolve.LivePods(w)
		if len(pods) == 0 {
			continue
		}
		if ns := p.X.Namespace(w.Namespace); ns == nil || ns.Implicit() {
			continue // the namespace's labels are unknown: no prediction to compare with
		}
		want := e.PredictedSidecar(w)
		if want.Kind == resolve.ProxyGateway {
			continue // gateway pods run the proxy as their application
		}
		var differ []*mesh.Pod
		for _, pod := range pods {
			if resolve.PodHasProxy(pod) != want.HasProxy {
				differ = append(differ, pod)
			}
		}
		if len(differ) == 0 {
			continue
		}
		report(p, w, want, differ, len(pods))
	}
}

func report(p *check.Pass, w *mesh.Workload, want resolve.SidecarDecision, differ []*mesh.Pod, total int) {
	first := differ[0]
	field, state, should := "spec.containers", "without the istio-proxy sidecar", "would get one"
	if !want.HasProxy {
		field, state, should = first.Proxy, "with the istio-proxy sidecar", "would get none"
	}
	var names []string
	for _, pod := range differ {
		names = append(names, pod.Name)
	}
	which, verb := fmt.Sprintf("Pod %s", first.Key()), "runs"
	if len(differ) > 1 {
		which, verb = fmt.Sprintf("%d of %d running pods of %s %s (%s)", len(differ), total, w.Kind, w.Key(), strings.Join(names, ", ")), "run"
	} else if w.Kind != "Pod" {
		which += fmt.Sprintf(" of %s %s", w.Kind, w.Key())
	}
	f := &check.Finding{
		Object: first.Obj.Ref(field),
		Message: fmt.Sprintf("%s %s %s, but a pod created now %s (%s): injection happens only when a pod is created, so restart it (%s)",
			which, verb, state, should, lowerFirst(want.Reason), restartCommand(w)),
		Assumptions: want.Assumptions,
	}
	for _, pod := range differ[1:] {
		f.Relate(pod.Obj.Ref(podField(pod)))
	}
	if w.Obj != nil && w.Kind != "Pod" {
		f.Relate(w.Ref(w.TemplatePath))
	}
	f.Relate(want.By...)
	p.Report(*f)
}

func podField(p *mesh.Pod) string {
	if p.Proxy != "" {
		return p.Proxy
	}
	return "spec.containers"
}

// restartCommand is the command that recreates the workload's pods.
func restartCommand(w *mesh.Workload) string {
	switch w.Kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		return fmt.Sprintf("kubectl rollout restart %s/%s -n %s", strings.ToLower(w.Kind), w.Name, w.Namespace)
	case "Pod":
		return fmt.Sprintf("delete and recreate pod %s in namespace %s", w.Name, w.Namespace)
	default:
		return fmt.Sprintf("delete the pods of %s %s so that they are created again", w.Kind, w.Key())
	}
}

// lowerFirst makes a decision's reason read as a clause.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
