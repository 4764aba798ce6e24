package resolve

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// TargetPortDecision says which pod port a Service port sends to.
type TargetPortDecision struct {
	// Port is the pod port (0 when a named targetPort is not found).
	Port int32 `json:"port"`
	// Name is the targetPort's name when it is written as a name.
	Name string `json:"name,omitempty"`
	// Found reports whether a container of the pod declares that port.
	Found bool `json:"found"`
	// Container is the name of the container that declares it.
	Container string `json:"container,omitempty"`
	Decision
}

// epListening reports whether a container can serve ports: app containers and
// native sidecars (init containers with restartPolicy Always).
func epListening(c *mesh.Container) bool { return !c.Init || c.RestartAlways }

// epFindPort finds a declared container port by number, or by name and
// protocol, in the containers that run alongside the app.
func epFindPort(w *mesh.Workload, num int32, name, proto string) (*mesh.Container, int) {
	for i := range w.Containers {
		c := &w.Containers[i]
		if !epListening(c) {
			continue
		}
		for j, p := range c.Ports {
			if name != "" {
				if p.Name == name && strings.EqualFold(p.Protocol, proto) {
					return c, j
				}
			} else if p.Port == num {
				return c, j
			}
		}
	}
	return nil, -1
}

// TargetPort resolves the targetPort of a Service port on workload w. A
// numeric targetPort is used as is, declared or not; a named targetPort is
// looked up among the pod's container ports with the same name and protocol,
// and when no container declares it Kubernetes leaves the pod out of the
// Service's endpoints for that port (k8s.io/kubernetes pkg/api/v1/pod/util.go
// FindPort, used by the EndpointSlice controller). Found says whether a
// container declares the port.
func (e *Engine) TargetPort(svc *mesh.Service, sp *mesh.ServicePort, w *mesh.Workload) TargetPortDecision {
	k := tportKey{svc, sp.Port, w}
	if c, ok := e.rt.tports[k]; ok {
		d := *c
		d.Decision = clipDecision(d.Decision)
		return d
	}
	d := e.targetPort(svc, sp, w)
	d.Decision = clipDecision(d.Decision)
	if e.rt.tports == nil {
		e.rt.tports = map[tportKey]*TargetPortDecision{}
	}
	c := d
	e.rt.tports[k] = &c
	return d
}

func (e *Engine) targetPort(svc *mesh.Service, sp *mesh.ServicePort, w *mesh.Workload) TargetPortDecision {
	var d TargetPortDecision
	tpPath := sp.Path + ".targetPort"
	if svc.Obj != nil {
		if _, ok := svc.Obj.Fields.Lookup(tpPath); !ok {
			tpPath = sp.Path + ".port" // targetPort defaults to port
		}
		d.By = append(d.By, svc.Obj.Ref(tpPath))
	}
	proto := sp.Protocol
	if proto == "" {
		proto = "TCP"
	}
	if sp.TargetPort.Type == intstr.String {
		d.Name = sp.TargetPort.StrVal
		c, j := epFindPort(w, 0, d.Name, proto)
		if c == nil && d.Name == proxyPromPortName && proto == "TCP" && e.Sidecar(w).Kind == ProxySidecar {
			// The injected istio-proxy container declares it (injection-template.yaml).
			d.Port, d.Found, d.Container = proxyPromPort, true, mesh.ProxyContainerName
			d.By = append(d.By, e.Sidecar(w).By...)
			d.Reason = fmt.Sprintf("targetPort %q of Service %s port %d is port %d of the istio-proxy container the injector adds to %s", d.Name, svc.Key(), sp.Port, proxyPromPort, w.Key())
			return d
		}
		if c == nil && w.Implicit {
			d.AssumeKey(e.X, mesh.AssumeIngressGateway)
			d.Assume(fmt.Sprintf("the assumed %s declares the port named %q that Service %s targets", w.Key(), d.Name, svc.Key()))
			d.Found, d.Container = true, mesh.ProxyContainerName
			d.Reason = fmt.Sprintf("targetPort %q of Service %s port %d is taken to be a port of the assumed %s", d.Name, svc.Key(), sp.Port, w.Key())
			return d
		}
		if c == nil {
			d.Reason = fmt.Sprintf("Service %s port %d has targetPort %q, but no container of %s declares a %s port named %q: Kubernetes leaves the pod out of the Service's endpoints for this port", svc.Key(), sp.Port, d.Name, w.Key(), proto, d.Name)
			return d
		}
		d.Port, d.Found, d.Container = c.Ports[j].Port, true, c.Name
		d.By = append(d.By, w.Ref(objects.Index(c.Path+".ports", j)+".name"))
		d.Reason = fmt.Sprintf("targetPort %q of Service %s port %d is container %s port %d", d.Name, svc.Key(), sp.Port, c.Name, d.Port)
		return d
	}
	d.Port = sp.TargetPort.IntVal
	c, j := epFindPort(w, d.Port, "", proto)
	if c == nil && e.proxyServes(w, d.Port) {
		d.Found, d.Container = true, mesh.ProxyContainerName
		d.By = append(d.By, e.Sidecar(w).By...)
		d.Reason = fmt.Sprintf("Service %s port %d targets port %d, which the istio-proxy container the injector adds to %s serves itself", svc.Key(), sp.Port, d.Port, w.Key())
		return d
	}
	if c == nil && w.Implicit {
		// The assumed gateway's ports are not known: take the Service's word.
		d.AssumeKey(e.X, mesh.AssumeIngressGateway)
		d.Found, d.Container = true, mesh.ProxyContainerName
		d.Reason = fmt.Sprintf("Service %s port %d targets port %d of the assumed %s", svc.Key(), sp.Port, d.Port, w.Key())
		return d
	}
	if c == nil {
		d.Reason = fmt.Sprintf("Service %s port %d targets port %d, which no container of %s declares (Kubernetes does not require declaring container ports, so whether anything listens there is not known from the manifests)", svc.Key(), sp.Port, d.Port, w.Key())
		return d
	}
	d.Found, d.Container = true, c.Name
	d.By = append(d.By, w.Ref(objects.Index(c.Path+".ports", j)+".containerPort"))
	d.Reason = "Service " + svc.Key() + " port " + itoa(sp.Port) + " targets port " + itoa(d.Port) + ", declared by container " + c.Name + " of " + w.Key()
	return d
}

// Endpoint is one workload behind a Service port.
type Endpoint struct {
	Workload *mesh.Workload `json:"-"`
	// TargetPort is the pod port the traffic goes to.
	TargetPort int32 `json:"target_port"`
	// PortFound reports whether a container declares TargetPort.
	PortFound bool `json:"port_found"`
	// Pods are the running pods that are endpoints (Ready), when the input
	// has the workload's pods (a cluster); empty when predicted.
	Pods []string `json:"pods,omitempty"`
	Decision
}

// EndpointsDecision is the endpoint set of a Service port (and subset), with
// the workloads that match the selector but are no endpoint.
type EndpointsDecision struct {
	Endpoints []Endpoint `json:"endpoints"`
	// Excluded are workloads whose pods the selector matches but that give no
	// endpoint (0 replicas, a named targetPort they do not declare).
	Excluded []Endpoint `json:"excluded,omitempty"`
	Decision
}

// Endpoints returns the workloads behind a Service port, optionally
// restricted to a DestinationRule subset's labels (see EndpointSet).
func (e *Engine) Endpoints(svc *mesh.Service, sp *mesh.ServicePort, subsetLabels map[string]string) []Endpoint {
	return e.EndpointSet(svc, sp, subsetLabels).Endpoints
}

func epSubsetKey(l map[string]string) string {
	keys := objects.SortedKeys(l)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ",")
}

// EndpointSet computes the endpoints of a Service port: the workloads of the
// Service's namespace whose pod labels contain the selector (Kubernetes
// EndpointSlice controller), and, for a subset, the subset's labels too
// (Istio builds a subset cluster from the service's endpoints whose labels
// contain the subset labels: pilot/pkg/xds/endpoints/endpoint_builder.go,
// labels.Instance.SubsetOf). A Service without selector gets no endpoints from
// Kubernetes; an ExternalName Service has none either.
func (e *Engine) EndpointSet(svc *mesh.Service, sp *mesh.ServicePort, subsetLabels map[string]string) EndpointsDecision {
	key := endpointsKey{svc: svc, subset: epSubsetKey(subsetLabels)}
	if sp != nil {
		key.port = sp.Port
	}
	if e.rt.eps == nil {
		e.rt.eps = map[endpointsKey]*EndpointsDecision{}
	}
	if c, ok := e.rt.eps[key]; ok {
		return epClip(*c)
	}
	d := epClip(e.endpointSet(svc, sp, subsetLabels))
	c := d
	e.rt.eps[key] = &c
	return d
}

// epClip clips the slices of a cached endpoint set so that callers appending
// to them never write into the cache.
func epClip(d EndpointsDecision) EndpointsDecision {
	d.Decision = clipDecision(d.Decision)
	d.Endpoints = d.Endpoints[:len(d.Endpoints):len(d.Endpoints)]
	d.Excluded = d.Excluded[:len(d.Excluded):len(d.Excluded)]
	for i := range d.Endpoints {
		d.Endpoints[i].Decision = clipDecision(d.Endpoints[i].Decision)
		d.Endpoints[i].Pods = d.Endpoints[i].Pods[:len(d.Endpoints[i].Pods):len(d.Endpoints[i].Pods)]
	}
	return d
}

func (e *Engine) endpointSet(svc *mesh.Service, sp *mesh.ServicePort, subsetLabels map[string]string) EndpointsDecision {
	var d EndpointsDecision
	if svc.Obj != nil {
		d.By = []objects.Ref{svc.Obj.Ref("spec.selector")}
	}
	if svc.Type == "ExternalName" {
		d.By = []objects.Ref{svc.Obj.Ref("spec.externalName")}
		d.Reason = fmt.Sprintf("Service %s is of type ExternalName (a DNS alias of %s): it has no endpoints of its own", svc.Key(), svc.ExternalName)
		return d
	}
	if len(svc.Selector) == 0 {
		d.Reason = fmt.Sprintf("Service %s has no selector, so Kubernetes creates no endpoints for it (only EndpointSlices managed by hand, which meshdoctor does not read, could give it some)", svc.Key())
		return d
	}
	selected := e.X.Select(svc.Namespace, svc.Selector)
	if len(selected) == 0 {
		d.Reason = fmt.Sprintf("no workload in namespace %s has pod labels matching the selector %s of Service %s", svc.Namespace, routeLabelString(svc.Selector), svc.Key())
		return d
	}
	var names []string
	subsetMiss := 0
	for _, w := range selected {
		if len(subsetLabels) > 0 && !mesh.SubsetOf(subsetLabels, w.Labels) {
			subsetMiss++
			continue
		}
		ep := Endpoint{Workload: w}
		ep.By = []objects.Ref{w.Ref(objects.Join(w.TemplatePath, "labels"))}
		if w.Implicit {
			ep.AssumeKey(e.X, mesh.AssumeIngressGateway)
		}
		if sp != nil {
			tp := e.TargetPort(svc, sp, w)
			ep.TargetPort, ep.PortFound = tp.Port, tp.Found
			ep.Merge(tp.Decision)
			if tp.Name != "" && !tp.Found {
				ep.Reason = tp.Reason
				d.Excluded = append(d.Excluded, ep)
				continue
			}
		}
		if len(w.Pods) > 0 {
			if !e.epLivePods(svc, w, subsetLabels, &ep) {
				d.Excluded = append(d.Excluded, ep)
				continue
			}
			if len(subsetLabels) > 0 {
				ep.Reason += "; it has the subset labels " + routeLabelString(subsetLabels)
			}
			d.Endpoints = append(d.Endpoints, ep)
			names = append(names, w.Key())
			continue
		}
		if w.Replicas == 0 {
			ep.Reason = fmt.Sprintf("%s %s has 0 replicas: no pod, so no endpoint", w.Kind, w.Key())
			ep.By = append(ep.By, w.Ref("spec.replicas"))
			d.Excluded = append(d.Excluded, ep)
			continue
		}
		ep.Reason = w.Kind + " " + w.Key() + " matches the selector of Service " + svc.Key()
		if len(subsetLabels) > 0 {
			ep.Reason += " and the subset labels " + routeLabelString(subsetLabels)
		}
		ep.Assume("the pods are running and Ready (readiness is not known from manifests)")
		if w.LivePodsIgnored {
			ep.AssumeKey(e.X, mesh.AssumeFileWorkloads)
		}
		d.Endpoints = append(d.Endpoints, ep)
		names = append(names, w.Key())
	}
	sort.SliceStable(d.Excluded, func(i, j int) bool { return d.Excluded[i].Workload.Key() < d.Excluded[j].Workload.Key() })
	for _, ep := range d.Endpoints {
		d.Merge(ep.Decision)
	}
	for _, ep := range d.Excluded {
		d.By = append(d.By, ep.By...)
	}
	switch {
	case len(d.Endpoints) > 0:
		d.Reason = "Service " + svc.Key() + " selects " + strings.Join(names, ", ")
	case len(d.Excluded) > 0:
		var why []string
		for _, ep := range d.Excluded {
			why = append(why, ep.Reason)
		}
		d.Reason = fmt.Sprintf("Service %s has no endpoints: %s", svc.Key(), strings.Join(why, "; "))
	case subsetMiss > 0:
		d.Reason = fmt.Sprintf("Service %s selects %d workload(s) but none has the subset labels %s", svc.Key(), subsetMiss, routeLabelString(subsetLabels))
	}
	return d
}

// epLivePods decides a workload's endpoints from its running pods: a pod is
// an endpoint when it has an IP, is not finished or terminating, and is Ready
// (or the Service publishes not-ready addresses). That is the EndpointSlice
// controller's ready condition (k8s.io/kubernetes pkg/controller/endpointslice
// utils.go podToEndpoint: ready = publishNotReadyAddresses || (serving &&
// !terminating); ShouldPodBeInEndpoints drops pods without IP and finished
// pods), and Istio sends no endpoint whose ready condition is false
// (pilot/pkg/serviceregistry/kube/controller/endpointslice.go
// endpointHealthStatus: UnHealthy or Terminating; pilot/pkg/xds/endpoints/
// endpoint_builder.go filters both unless the Service asks for unhealthy
// endpoints). The selector and the subset labels are matched against the
// pod's own labels, which may have been changed on the running pod (a pod
// relabelled out of a Service to debug it). It reports whether at least one
// pod is an endpoint, and fills ep's reason and pods.
func (e *Engine) epLivePods(svc *mesh.Service, w *mesh.Workload, subsetLabels map[string]string, ep *Endpoint) bool {
	var why []string
	for _, p := range w.Pods {
		var not string
		switch {
		case !mesh.SubsetOf(svc.Selector, p.Labels):
			not = "its labels do not match the selector"
		case len(subsetLabels) > 0 && !mesh.SubsetOf(subsetLabels, p.Labels):
			not = "its labels lack the subset labels"
		case p.Done():
			not = "phase " + p.Phase
		case p.Terminating:
			not = "terminating"
		case p.IP == "":
			not = "no pod IP"
		case !p.Ready && !svc.PublishNotReadyAddresses:
			not = "not Ready"
		}
		if not != "" {
			why = append(why, p.Name+" ("+not+")")
			ep.By = append(ep.By, p.Obj.Ref("status"))
			continue
		}
		ep.Pods = append(ep.Pods, p.Name)
		ep.By = append(ep.By, p.Obj.Ref("status.podIP"))
	}
	if len(ep.Pods) == 0 {
		ep.Reason = fmt.Sprintf("%s %s matches the selector of Service %s, but none of its pods is an endpoint: %s", w.Kind, w.Key(), svc.Key(), strings.Join(why, ", "))
		return false
	}
	ready := "Ready"
	if svc.PublishNotReadyAddresses {
		ready = "running (the Service publishes not-ready addresses)"
	}
	ep.Reason = fmt.Sprintf("%s %s matches the selector of Service %s; its pod(s) %s are %s", w.Kind, w.Key(), svc.Key(), strings.Join(ep.Pods, ", "), ready)
	if len(why) > 0 {
		ep.Reason += "; not endpoints: " + strings.Join(why, ", ")
	}
	return true
}
