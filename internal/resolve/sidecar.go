package resolve

import (
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Proxy kinds of SidecarDecision.Kind.
const (
	ProxySidecar = "sidecar"
	ProxyGateway = "gateway"
	ProxyNone    = "none"
)

// Labels that mark gateway pods and ambient enrolment.
const (
	labelGatewayName    = "gateway.networking.k8s.io/gateway-name"
	labelIstioGateway   = "istio"
	dataplaneAmbient    = "ambient"
	dataplaneNone       = "none"
	injectorIgnoredNote = "kube-system, kube-public, kube-node-lease and local-path-storage are never injected"
)

// injIgnoredNamespaces are the namespaces the injector never touches
// (pkg/kube/inject/initializer.go IgnoredNamespaces).
var injIgnoredNamespaces = map[string]bool{
	"kube-system": true, "kube-public": true, "kube-node-lease": true, "local-path-storage": true,
}

// secAmbientAssumption is stated whenever a result touches an ambient workload.
const secAmbientAssumption = "ambient mode is not modeled: ztunnel and waypoint behaviour (HBONE, PeerAuthentication applied by ztunnel) is not simulated"

// secInjectorDefaults is stated when the injector's default policy decided.
const secInjectorDefaults = "the sidecar injector runs with its default policy (autoInject enabled, no neverInjectSelector or alwaysInjectSelector; the istio-sidecar-injector ConfigMap is not read)"

// SidecarDecision says whether a workload's pods run an Istio proxy.
type SidecarDecision struct {
	// HasProxy is true for a sidecar or a gateway proxy.
	HasProxy bool `json:"has_proxy"`
	// Kind is "sidecar", "gateway" or "none".
	Kind string `json:"kind"`
	// Ambient marks a pod enrolled in ambient mode (istio.io/dataplane-mode=ambient);
	// such a pod has no sidecar (Kind "none").
	Ambient bool `json:"ambient,omitempty"`
	Decision
}

// Sidecar decides whether the workload's pods have an Istio proxy, and which
// kind (ISTIO-SEMANTICS.md §7.1, §7.2, §7.4, §4).
func (e *Engine) Sidecar(w *mesh.Workload) SidecarDecision {
	if w == nil {
		return SidecarDecision{Kind: ProxyNone, Decision: Decision{Reason: "no workload"}}
	}
	if d, ok := e.sec.sidecars[w]; ok {
		d.Decision = secClip(d.Decision)
		return d
	}
	d := e.sidecar(w)
	d.By = secDedup(d.By)
	if e.sec.sidecars == nil {
		e.sec.sidecars = map[*mesh.Workload]SidecarDecision{}
	}
	e.sec.sidecars[w] = d
	d.Decision = secClip(d.Decision)
	return d
}

func (e *Engine) sidecar(w *mesh.Workload) SidecarDecision {
	if d, ok := e.gatewayProxy(w); ok {
		return d
	}
	if d, ok := e.liveSidecar(w); ok {
		return d
	}
	d := e.predictedSidecar(w)
	if w.LivePodsIgnored {
		d.AssumeKey(e.X, mesh.AssumeFileWorkloads)
	}
	return d
}

// PredictedSidecar is what the workload's labels, annotations and namespace
// say about a pod created now (ISTIO-SEMANTICS.md §7.1, §7.2, §7.4), ignoring
// the pods that run: the injector only acts when a pod is created
// (mutatingwebhook.yaml, operations [CREATE]), so running pods keep what they
// got then. Gateways are recognised as in Sidecar.
func (e *Engine) PredictedSidecar(w *mesh.Workload) SidecarDecision {
	if w == nil {
		return SidecarDecision{Kind: ProxyNone, Decision: Decision{Reason: "no workload"}}
	}
	if d, ok := e.gatewayProxy(w); ok {
		return d
	}
	d := e.predictedSidecar(w)
	d.By = secDedup(d.By)
	return d
}

// LivePods returns the pods of w that serve or may serve: not finished
// (Succeeded, Failed) and not terminating.
func LivePods(w *mesh.Workload) []*mesh.Pod {
	var out []*mesh.Pod
	for _, p := range w.Pods {
		if !p.Done() && !p.Terminating {
			out = append(out, p)
		}
	}
	return out
}

// PodHasProxy says whether a running pod has an Istio proxy: an istio-proxy
// container, or the native sidecar (an init container istio-proxy with
// restartPolicy Always; injection-template.yaml, ENABLE_NATIVE_SIDECARS).
// The webhook rewrites the pod when it is created; the pod spec is the truth.
func PodHasProxy(p *mesh.Pod) bool { return p.Proxy != "" }

// liveSidecar reads the proxy from the pods that run, when the input has
// them (a cluster): the pods that are endpoints (Ready), else every running
// pod. When they disagree (a rollout, or pods created before the namespace's
// injection label changed), the majority decides, a tie in favour of the
// sidecar, and the decision says so.
func (e *Engine) liveSidecar(w *mesh.Workload) (SidecarDecision, bool) {
	pods := LivePods(w)
	var ready []*mesh.Pod
	for _, p := range pods {
		if p.Ready {
			ready = append(ready, p)
		}
	}
	if len(ready) > 0 {
		pods = ready
	}
	if len(pods) == 0 {
		return SidecarDecision{}, false
	}
	var with, without []*mesh.Pod
	for _, p := range pods {
		if PodHasProxy(p) {
			with = append(with, p)
		} else {
			without = append(without, p)
		}
	}
	var d SidecarDecision
	d.Kind = ProxyNone
	decided := without
	if len(with) >= len(without) {
		d.HasProxy, d.Kind, decided = true, ProxySidecar, with
	}
	names := secPodNames(decided)
	if d.HasProxy {
		what := "an istio-proxy container"
		if decided[0].NativeSidecar {
			what = "an istio-proxy native sidecar (init container with restartPolicy Always)"
		}
		d.Reason = fmt.Sprintf("%s has a sidecar: its running pod(s) %s have %s", w.Key(), names, what)
		for _, p := range decided {
			d.By = append(d.By, p.Obj.Ref(p.Proxy))
		}
	} else {
		d.Reason = fmt.Sprintf("%s has no sidecar: its running pod(s) %s have no istio-proxy container", w.Key(), names)
		for _, p := range decided {
			d.By = append(d.By, p.Obj.Ref("spec.containers"))
		}
		// Ambient capture of a running pod is marked by the annotation
		// ambient.istio.io/redirection: enabled (cni/pkg/util/podutil.go PodFullyEnrolled).
		if decided[0].Annotations[annotationAmbientRedirection] == "enabled" {
			d.Ambient = true
			d.Reason += fmt.Sprintf("; the pod is captured by ambient mode (annotation %s: enabled)", annotationAmbientRedirection)
			d.By = append(d.By, decided[0].Obj.Ref(objects.Path("metadata", "annotations", annotationAmbientRedirection)))
			d.Assume(secAmbientAssumption)
		}
	}
	if len(with) > 0 && len(without) > 0 {
		other := without
		if !d.HasProxy {
			other = with
		}
		d.Assume(fmt.Sprintf("the pods of %s differ: %d of %d have an istio-proxy container; %s, which differ, are judged as the others (a request balanced to them may behave otherwise)",
			w.Key(), len(with), len(pods), secPodNames(other)))
	}
	return d, true
}

// annotationAmbientRedirection marks a pod whose traffic ztunnel captures.
const annotationAmbientRedirection = "ambient.istio.io/redirection"

func secPodNames(ps []*mesh.Pod) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func (e *Engine) predictedSidecar(w *mesh.Workload) SidecarDecision {
	gotSidecar := func(reason string, by ...objects.Ref) SidecarDecision {
		return SidecarDecision{HasProxy: true, Kind: ProxySidecar, Decision: Decision{Reason: reason, By: by}}
	}
	noSidecar := func(reason string, by ...objects.Ref) SidecarDecision {
		return SidecarDecision{Kind: ProxyNone, Decision: Decision{Reason: reason, By: by}}
	}

	// §7.4 step 1: a template that already has the proxy (istioctl kube-inject
	// output, or a native sidecar init container named istio-proxy:
	// manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
	for _, c := range w.Containers {
		if c.Name == mesh.ProxyContainerName {
			where := "container"
			if c.Init {
				where = "init container (native sidecar)"
			}
			return gotSidecar(fmt.Sprintf("%s has a sidecar: its pod template already has an %s %s (injected before it was applied, e.g. istioctl kube-inject)", w.Key(), mesh.ProxyContainerName, where), w.Ref(c.Path))
		}
	}
	// §7.4 step 5: a pod that was injected already carries sidecar.istio.io/status.
	if _, ok := w.Annotations[mesh.AnnotationSidecarStat]; ok {
		return gotSidecar(fmt.Sprintf("%s has a sidecar: it carries the %s annotation that the injector writes", w.Key(), mesh.AnnotationSidecarStat), e.podAnnotationRef(w, mesh.AnnotationSidecarStat))
	}
	// pkg/kube/inject/inject.go injectRequired: hostNetwork pods are never injected.
	if w.HostNetwork {
		return noSidecar(fmt.Sprintf("%s has no sidecar: hostNetwork pods are never injected (the injector would rewrite the node's iptables)", w.Key()), w.Ref(objects.Join(w.PodSpecPath, "hostNetwork")))
	}
	// injectRequired: IgnoredNamespaces (pkg/kube/inject/initializer.go).
	if injIgnoredNamespaces[w.Namespace] {
		return noSidecar(fmt.Sprintf("%s has no sidecar: namespace %s is never injected (%s)", w.Key(), w.Namespace, injectorIgnoredNote))
	}

	nsLabels, nsObj, nsAssume := e.namespaceLabels(w.Namespace)
	d := e.injection(w, nsLabels, nsObj)
	if nsAssume != "" {
		d.Assume(nsAssume)
	}
	if d.HasProxy {
		return d
	}
	// Ambient enrolment, only for pods without a sidecar (cni/pkg/util/podutil.go
	// podHasSidecar skips injected pods): pod label istio.io/dataplane-mode=ambient,
	// or the namespace label with the pod not opting out with "none"
	// (manifests/charts/istio-cni/values.yaml ambient enablement selectors).
	podMode, podHas := w.Labels[mesh.LabelDataplaneMode]
	switch {
	case podMode == dataplaneAmbient:
		d.Ambient = true
		d.Reason += fmt.Sprintf("; the pod is enrolled in ambient mode (pod label %s=ambient)", mesh.LabelDataplaneMode)
		d.By = append(d.By, e.podLabelRef(w, mesh.LabelDataplaneMode))
	case nsLabels[mesh.LabelDataplaneMode] == dataplaneAmbient && !(podHas && podMode == dataplaneNone):
		d.Ambient = true
		d.Reason += fmt.Sprintf("; the pod is enrolled in ambient mode (namespace label %s=ambient)", mesh.LabelDataplaneMode)
		d.By = append(d.By, nsObj.Ref(objects.Path("metadata", "labels", mesh.LabelDataplaneMode)))
	}
	if d.Ambient {
		d.Assume(secAmbientAssumption)
	}
	return d
}

// namespaceLabels returns a namespace's labels and object, and the assumption
// to state when the namespace is not in the input.
func (e *Engine) namespaceLabels(ns string) (map[string]string, *objects.Object, string) {
	n := e.X.Namespace(ns)
	if n == nil || n.Implicit() {
		return nil, nil, fmt.Sprintf("namespace %s is not in the input: its labels are unknown; it is assumed to carry no istio-injection, istio.io/rev or istio.io/dataplane-mode label", ns)
	}
	return n.Labels, n.Obj, ""
}

func (e *Engine) podLabelRef(w *mesh.Workload, key string) objects.Ref {
	return w.Ref(objects.Join(w.TemplatePath, objects.Path("labels", key)))
}

func (e *Engine) podAnnotationRef(w *mesh.Workload, key string) objects.Ref {
	return w.Ref(objects.Join(w.TemplatePath, objects.Path("annotations", key)))
}

// injection evaluates the injector's MutatingWebhookConfiguration selectors
// (manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml)
// and then injectRequired (pkg/kube/inject/inject.go) for the pod template.
func (e *Engine) injection(w *mesh.Workload, nsLabels map[string]string, nsObj *objects.Object) SidecarDecision {
	nsRef := func(key string) objects.Ref {
		return nsObj.Ref(objects.Path("metadata", "labels", key))
	}
	nsInj, hasNsInj := nsLabels[mesh.LabelInjection]
	nsRev, hasNsRev := nsLabels[mesh.LabelRev]
	podInj, hasPodInj := w.Labels[mesh.LabelInject]
	podRev, hasPodRev := w.Labels[mesh.LabelRev]
	optOut := hasPodInj && podInj == "false" // objectSelector `sidecar.istio.io/inject NotIn [false]`

	var d SidecarDecision
	d.Kind = ProxyNone
	var webhook string
	revAssume := func(rev string) {
		d.Assume(fmt.Sprintf("istio.io/rev=%s names an installed Istio revision or revision tag", rev))
	}
	switch {
	case nsInj == "enabled" && !optOut:
		// namespace.sidecar-injector.istio.io: istio-injection In [enabled]; it takes
		// precedence over istio.io/rev (rev.namespace requires istio-injection DoesNotExist).
		webhook = "namespace " + w.Namespace + " has label istio-injection=enabled"
		d.By = append(d.By, nsRef(mesh.LabelInjection))
	case hasNsRev && !hasNsInj && !optOut:
		// rev.namespace.sidecar-injector.istio.io: istio.io/rev In [<revision>],
		// istio-injection DoesNotExist.
		webhook = fmt.Sprintf("namespace %s has label istio.io/rev=%s", w.Namespace, nsRev)
		d.By = append(d.By, nsRef(mesh.LabelRev))
		revAssume(nsRev)
	case !hasNsRev && !hasNsInj && hasPodRev && !optOut:
		// rev.object.sidecar-injector.istio.io: namespace has neither label; pod
		// label istio.io/rev In [<revision>].
		webhook = fmt.Sprintf("the pod has label istio.io/rev=%s and namespace %s has no injection label", podRev, w.Namespace)
		d.By = append(d.By, e.podLabelRef(w, mesh.LabelRev))
		revAssume(podRev)
	case !hasNsRev && !hasNsInj && !hasPodRev && podInj == "true":
		// object.sidecar-injector.istio.io: namespace has neither label; pod label
		// sidecar.istio.io/inject In [true] and no istio.io/rev.
		webhook = fmt.Sprintf("the pod has label %s=true and namespace %s has no injection label", mesh.LabelInject, w.Namespace)
		d.By = append(d.By, e.podLabelRef(w, mesh.LabelInject))
	}

	if webhook == "" {
		// No webhook receives the pod: it is never injected, whatever it says inside.
		var why string
		switch {
		case optOut:
			why = fmt.Sprintf("the pod label %s=false keeps it away from every injection webhook", mesh.LabelInject)
			d.By = append(d.By, e.podLabelRef(w, mesh.LabelInject))
		case hasNsInj:
			why = fmt.Sprintf("namespace %s has label istio-injection=%s, which no injection webhook selects (only \"enabled\" does, and it also blocks the istio.io/rev and pod-label webhooks)", w.Namespace, nsInj)
			d.By = append(d.By, nsRef(mesh.LabelInjection))
			if podInj == "true" {
				why += fmt.Sprintf("; the pod label %s=true cannot override it", mesh.LabelInject)
				d.By = append(d.By, e.podLabelRef(w, mesh.LabelInject))
			}
		default:
			why = fmt.Sprintf("namespace %s has no istio-injection=enabled or istio.io/rev label and the pod has no %s=true or istio.io/rev label", w.Namespace, mesh.LabelInject)
			if nsObj == nil {
				why = fmt.Sprintf("namespace %s is not in the input, so no injection label of it is known, and the pod has no %s=true or istio.io/rev label", w.Namespace, mesh.LabelInject)
			}
			if a, ok := w.Annotations[mesh.LabelInject]; ok && a == "true" {
				why += fmt.Sprintf("; the annotation %s: \"true\" alone cannot opt in, because the webhook's objectSelector only sees labels", mesh.LabelInject)
				d.By = append(d.By, e.podAnnotationRef(w, mesh.LabelInject))
			}
		}
		d.Reason = fmt.Sprintf("%s has no sidecar: %s", w.Key(), why)
		return d
	}

	// Inside the webhook: injectRequired. The annotation is the object selector,
	// overridden by the label of the same name when present (the label wins).
	sel, selRef, selWhat := "", objects.Ref{}, ""
	if a, ok := w.Annotations[mesh.LabelInject]; ok {
		sel, selRef, selWhat = a, e.podAnnotationRef(w, mesh.LabelInject), "annotation"
	}
	if hasPodInj {
		sel, selRef, selWhat = podInj, e.podLabelRef(w, mesh.LabelInject), "label"
	}
	switch sel {
	case "true":
		d.HasProxy, d.Kind = true, ProxySidecar
		d.Reason = fmt.Sprintf("%s gets a sidecar: %s, and the pod %s %s=true asks for injection", w.Key(), webhook, selWhat, mesh.LabelInject)
		d.By = secAddRef(d.By, selRef)
	case "false":
		d.Reason = fmt.Sprintf("%s has no sidecar: %s, but the pod %s %s=false declines injection", w.Key(), webhook, selWhat, mesh.LabelInject)
		d.By = append([]objects.Ref{selRef}, d.By...)
	default:
		// useDefault: neverInjectSelector / alwaysInjectSelector, then the policy
		// (global.proxy.autoInject, default "enabled" → inject).
		d.HasProxy, d.Kind = true, ProxySidecar
		d.Reason = w.Key() + " gets a sidecar: " + webhook
		if sel != "" {
			d.Reason += fmt.Sprintf(" (the pod %s %s=%q is neither \"true\" nor \"false\", so the default applies)", selWhat, mesh.LabelInject, sel)
			d.By = secAddRef(d.By, selRef)
		}
		d.Assume(secInjectorDefaults)
	}
	return d
}

// gatewayProxy recognises gateway pods: they run Envoy as a router, are never
// given a sidecar, and PeerAuthentication does not apply to their listeners
// (ISTIO-SEMANTICS.md §4). A pod is a gateway when it is labelled
// istio=ingressgateway or istio=egressgateway (the gateways/istio-ingress and
// istio-egress charts), carries gateway.networking.k8s.io/gateway-name (a
// Gateway API deployment), is selected by an Istio Gateway's selector
// (pilot/pkg/model/push_context.go mergeGateways), or is the ingress gateway
// SPEC.md assumes.
func (e *Engine) gatewayProxy(w *mesh.Workload) (SidecarDecision, bool) {
	d := SidecarDecision{HasProxy: true, Kind: ProxyGateway}
	switch v := w.Labels[labelIstioGateway]; {
	case w.Implicit:
		d.Reason = fmt.Sprintf("%s is the Istio ingress gateway (a gateway proxy, not a sidecar)", w.Key())
		d.AssumeKey(e.X, mesh.AssumeIngressGateway)
		return d, true
	case v == "ingressgateway" || v == "egressgateway":
		d.Reason = fmt.Sprintf("%s is an Istio gateway proxy (pod label istio=%s), not a sidecar", w.Key(), v)
		d.By = append(d.By, e.podLabelRef(w, labelIstioGateway))
		return d, true
	}
	if name, ok := w.Labels[labelGatewayName]; ok {
		d.Reason = fmt.Sprintf("%s is a Gateway API gateway proxy (pod label %s=%s), not a sidecar", w.Key(), labelGatewayName, name)
		d.By = append(d.By, e.podLabelRef(w, labelGatewayName))
		return d, true
	}
	if !e.sec.gwSelOK {
		e.sec.gwSelOK = true
		for _, g := range e.X.Gateways {
			if g.Spec != nil && len(g.Spec.Selector) > 0 {
				e.sec.gwSel = append(e.sec.gwSel, g)
			}
		}
	}
	for _, g := range e.sec.gwSel {
		if mesh.SubsetOf(g.Spec.Selector, w.Labels) {
			d.Reason = fmt.Sprintf("%s is a gateway proxy: Gateway %s/%s selects its pods (%s), so it is not a sidecar", w.Key(), g.Namespace, g.Name, secLabelString(g.Spec.Selector))
			d.By = append(d.By, g.Obj.Ref("spec.selector"))
			return d, true
		}
	}
	return d, false
}

// secEndpointTLSMode returns the value of the pod label
// security.istio.io/tlsMode as Istio sees it on an endpoint: the injection
// template sets it to "istio" unless the template already sets it
// (injection-template.yaml); gateway pods and pods without a sidecar carry
// none, read as "disabled" (pilot/pkg/model/service.go
// GetTLSModeFromEndpointLabels). The second result is the ref of a label the
// template sets itself.
func (e *Engine) secEndpointTLSMode(w *mesh.Workload) (string, *objects.Ref) {
	// A running pod's own label is what Istio reads from the endpoint
	// (pilot/pkg/model/service.go GetTLSModeFromEndpointLabels: the label's
	// value, else "disabled"), whatever the template says.
	if p := e.secTLSModePod(w); p != nil {
		if v, ok := p.Labels[mesh.LabelTLSMode]; ok {
			r := p.Obj.Ref(objects.Path("metadata", "labels", mesh.LabelTLSMode))
			return v, &r
		}
		return "disabled", nil
	}
	if v, ok := w.Labels[mesh.LabelTLSMode]; ok {
		r := e.podLabelRef(w, mesh.LabelTLSMode)
		return v, &r
	}
	if e.Sidecar(w).Kind == ProxySidecar {
		return "istio", nil
	}
	return "disabled", nil
}

// secTLSModePod is the running pod whose labels stand for the workload's
// endpoints: the first Ready pod whose proxy agrees with Sidecar's decision,
// else the first pod that agrees; nil without running pods.
func (e *Engine) secTLSModePod(w *mesh.Workload) *mesh.Pod {
	pods := LivePods(w)
	if len(pods) == 0 {
		return nil
	}
	has := e.Sidecar(w).Kind == ProxySidecar
	var first *mesh.Pod
	for _, p := range pods {
		if PodHasProxy(p) != has {
			continue
		}
		if p.Ready {
			return p
		}
		if first == nil {
			first = p
		}
	}
	if first == nil {
		first = pods[0]
	}
	return first
}

func secAddRef(refs []objects.Ref, r objects.Ref) []objects.Ref {
	if r.Kind == "" {
		return refs
	}
	return append(refs, r)
}

// secLabelString renders labels as "k=v, k=v", sorted.
func secLabelString(m map[string]string) string {
	var parts []string
	for _, k := range objects.SortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}
