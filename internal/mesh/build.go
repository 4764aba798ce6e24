package mesh

import (
	"fmt"
	"sort"
	"strings"

	meshapi "istio.io/api/mesh/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Options tune Build.
type Options struct {
	// DefaultNamespace is the namespace of objects that name none (-n, else "default").
	DefaultNamespace string
	// Unread maps a kind that could not be read from a live cluster (RBAC
	// forbidden, CRD not installed) to why. Build states, for each, the
	// assumption that there are none (key AssumeUnread(kind)).
	Unread map[string]string
}

// Build indexes objects. It never fails: what it cannot use it skips, and what
// it has to assume it records in Index.Assumed.
func Build(objs []*objects.Object, opts Options) *Index {
	x := &Index{
		Namespaces:    map[string]*Namespace{},
		Assumed:       map[string]string{},
		workloadsByNS: map[string][]*Workload{},
		servicesByNS:  map[string][]*Service{},
		serviceByHost: map[string]*Service{},
		Objects:       objs,
	}
	defNS := opts.DefaultNamespace
	if defNS == "" {
		defNS = DefaultNamespace
	}
	unnamespaced := 0
	for _, o := range objs {
		if o.Namespace == "" && o.Kind != "Namespace" {
			o.Namespace = defNS
			unnamespaced++
		}
	}
	if unnamespaced > 0 {
		x.Assumed[AssumeDefaultNS] = fmt.Sprintf("%d object(s) without metadata.namespace are placed in namespace %q, as kubectl apply would", unnamespaced, defNS)
	}
	for kind, why := range opts.Unread {
		x.Assumed[AssumeUnread(kind)] = fmt.Sprintf("%s objects could not be read from the cluster (%s): assumed there are none", kind, why)
	}
	x.Mesh = x.meshConfig(objs)

	owners := map[ownerKey]ownerKey{} // owned ReplicaSets and Jobs -> their owner
	var pods []*objects.Object
	for _, o := range objs {
		switch t := o.Typed.(type) {
		case *corev1.Namespace:
			x.Namespaces[o.Name] = &Namespace{Name: o.Name, Labels: t.Labels, Obj: o}
		case *corev1.Service:
			x.addService(o, t)
		case *appsv1.Deployment:
			x.addWorkload(o, &t.Spec.Template, "spec.template", replicas(t.Spec.Replicas))
		case *appsv1.StatefulSet:
			x.addWorkload(o, &t.Spec.Template, "spec.template", replicas(t.Spec.Replicas))
		case *appsv1.DaemonSet:
			x.addWorkload(o, &t.Spec.Template, "spec.template", 1)
		case *appsv1.ReplicaSet:
			if len(t.OwnerReferences) == 0 {
				x.addWorkload(o, &t.Spec.Template, "spec.template", replicas(t.Spec.Replicas))
			} else if ref, ok := controllerOf(t.OwnerReferences); ok {
				owners[ownerKey{o.Kind, o.Namespace, o.Name}] = ownerKey{ref.Kind, o.Namespace, ref.Name}
			}
		case *batchv1.Job:
			if len(t.OwnerReferences) == 0 {
				x.addWorkload(o, &t.Spec.Template, "spec.template", 1)
			} else if ref, ok := controllerOf(t.OwnerReferences); ok {
				owners[ownerKey{o.Kind, o.Namespace, o.Name}] = ownerKey{ref.Kind, o.Namespace, ref.Name}
			}
		case *batchv1.CronJob:
			x.addWorkload(o, &t.Spec.JobTemplate.Spec.Template, "spec.jobTemplate.spec.template", 1)
		case *corev1.Pod:
			if len(t.OwnerReferences) == 0 {
				tpl := &corev1.PodTemplateSpec{ObjectMeta: t.ObjectMeta, Spec: t.Spec}
				x.addWorkload(o, tpl, "", 1)
			}
			if t.Status.Phase != "" {
				pods = append(pods, o)
			}
		case *securityv1.PeerAuthentication:
			x.PeerAuthentications = append(x.PeerAuthentications, &PeerAuthentication{cfg(o), &t.Spec})
		case *securityv1.AuthorizationPolicy:
			x.AuthorizationPolicies = append(x.AuthorizationPolicies, &AuthorizationPolicy{cfg(o), &t.Spec})
		case *securityv1.RequestAuthentication:
			x.RequestAuthentications = append(x.RequestAuthentications, &RequestAuthentication{cfg(o), &t.Spec})
		case *networkingv1.DestinationRule:
			x.DestinationRules = append(x.DestinationRules, &DestinationRule{cfg(o), &t.Spec})
		case *networkingv1.VirtualService:
			x.VirtualServices = append(x.VirtualServices, &VirtualService{cfg(o), &t.Spec})
		case *networkingv1.Gateway:
			x.Gateways = append(x.Gateways, &Gateway{cfg(o), &t.Spec})
		case *networkingv1.Sidecar:
			x.Sidecars = append(x.Sidecars, &Sidecar{cfg(o), &t.Spec})
		case *networkingv1.ServiceEntry:
			x.ServiceEntries = append(x.ServiceEntries, &ServiceEntry{cfg(o), &t.Spec})
		}
	}
	x.attachPods(pods, owners)
	x.addImplicitGateway()

	// Every namespace that something lives in exists, even if not in the input;
	// its labels are then unknown, which injection decisions must state.
	ensure := func(ns string) {
		if _, ok := x.Namespaces[ns]; !ok && ns != "" {
			x.Namespaces[ns] = &Namespace{Name: ns}
		}
	}
	ensure(x.Mesh.RootNamespace)
	for _, o := range objs {
		ensure(o.Namespace)
	}
	for _, w := range x.Workloads {
		ensure(w.Namespace)
	}

	sortWorkloads(x.Workloads)
	for _, w := range x.Workloads {
		w.key = w.Namespace + "/" + w.Name
		x.workloadsByNS[w.Namespace] = append(x.workloadsByNS[w.Namespace], w)
	}
	sort.SliceStable(x.Services, func(i, j int) bool {
		if x.Services[i].Namespace != x.Services[j].Namespace {
			return x.Services[i].Namespace < x.Services[j].Namespace
		}
		return x.Services[i].Name < x.Services[j].Name
	})
	for _, s := range x.Services {
		s.key = s.Namespace + "/" + s.Name
		x.servicesByNS[s.Namespace] = append(x.servicesByNS[s.Namespace], s)
		if _, dup := x.serviceByHost[s.Host]; !dup {
			x.serviceByHost[s.Host] = s
		}
	}
	sortConfigs(x.PeerAuthentications)
	sortConfigs(x.AuthorizationPolicies)
	sortConfigs(x.RequestAuthentications)
	sortConfigs(x.DestinationRules)
	sortConfigs(x.VirtualServices)
	sortConfigs(x.Gateways)
	sortConfigs(x.Sidecars)
	sortConfigs(x.ServiceEntries)
	return x
}

func cfg(o *objects.Object) Config { return Config{Namespace: o.Namespace, Name: o.Name, Obj: o} }

// sortConfigs orders configs as Istio does (CreationOrder), load order last.
func sortConfigs[T Configurable](cs []T) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i].Meta(), cs[j].Meta()
		if CreationOrder(a, b) {
			return true
		}
		if CreationOrder(b, a) {
			return false
		}
		return a.Seq < b.Seq
	})
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func (x *Index) addWorkload(o *objects.Object, tpl *corev1.PodTemplateSpec, tplPath string, replicas int32) {
	specPath := objects.Join(tplPath, "spec")
	w := &Workload{
		Kind:           o.Kind,
		Namespace:      o.Namespace,
		Name:           o.Name,
		Obj:            o,
		Labels:         tpl.Labels,
		Annotations:    tpl.Annotations,
		ServiceAccount: tpl.Spec.ServiceAccountName,
		HostNetwork:    tpl.Spec.HostNetwork,
		Replicas:       replicas,
		PodSpecPath:    specPath,
		TemplatePath:   objects.Join(tplPath, "metadata"),
	}
	if w.ServiceAccount == "" {
		w.ServiceAccount = tpl.Spec.DeprecatedServiceAccount
	}
	if w.ServiceAccount == "" {
		w.ServiceAccount = "default"
	}
	add := func(cs []corev1.Container, field string, init bool) {
		for i, c := range cs {
			mc := Container{
				Name: c.Name, Image: c.Image, Command: c.Command, Args: c.Args, Env: c.Env, Init: init,
				Path: objects.Index(objects.Join(specPath, field), i),
			}
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				mc.RestartAlways = true
			}
			for _, p := range c.Ports {
				proto := string(p.Protocol)
				if proto == "" {
					proto = "TCP"
				}
				mc.Ports = append(mc.Ports, ContainerPort{Name: p.Name, Port: p.ContainerPort, Protocol: proto})
			}
			w.Containers = append(w.Containers, mc)
		}
	}
	add(tpl.Spec.Containers, "containers", false)
	add(tpl.Spec.InitContainers, "initContainers", true)
	x.Workloads = append(x.Workloads, w)
}

func (x *Index) addService(o *objects.Object, s *corev1.Service) {
	svc := &Service{
		Namespace:                o.Namespace,
		Name:                     o.Name,
		Obj:                      o,
		Selector:                 s.Spec.Selector,
		Type:                     string(s.Spec.Type),
		ClusterIP:                s.Spec.ClusterIP,
		ExternalName:             s.Spec.ExternalName,
		Headless:                 s.Spec.ClusterIP == corev1.ClusterIPNone,
		PublishNotReadyAddresses: s.Spec.PublishNotReadyAddresses,
		Host:                     FQDN(o.Name, o.Namespace, DefaultDomain),
	}
	if svc.Type == "" {
		svc.Type = string(corev1.ServiceTypeClusterIP)
	}
	for i, p := range s.Spec.Ports {
		tp := p.TargetPort
		if tp.Type == intstr.Int && tp.IntVal == 0 && tp.StrVal == "" {
			tp = intstr.FromInt32(p.Port) // Kubernetes defaults targetPort to port
		}
		proto := string(p.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		ap := ""
		if p.AppProtocol != nil {
			ap = *p.AppProtocol
		}
		svc.Ports = append(svc.Ports, ServicePort{
			Name: p.Name, Port: p.Port, TargetPort: tp, Protocol: proto, AppProtocol: ap, NodePort: p.NodePort,
			Path: objects.Index("spec.ports", i),
		})
	}
	x.Services = append(x.Services, svc)
}

// addImplicitGateway adds the ingress gateway that SPEC.md assumes when no
// ingress gateway workload is in the input: istio-system/istio-ingressgateway
// with the labels and service account of Istio's gateways/istio-ingress chart
// (manifests/charts/gateways/istio-ingress/templates/deployment.yaml).
func (x *Index) addImplicitGateway() {
	root := x.Mesh.RootNamespace
	for _, w := range x.Workloads {
		if w.Labels["istio"] == "ingressgateway" || (w.Namespace == root && w.Name == DefaultGatewayName) {
			return
		}
	}
	x.Workloads = append(x.Workloads, &Workload{
		Kind:           "Deployment",
		Namespace:      root,
		Name:           DefaultGatewayName,
		Labels:         map[string]string{"istio": "ingressgateway", "app": DefaultGatewayName},
		ServiceAccount: DefaultGatewaySA,
		Replicas:       1,
		Implicit:       true,
		Containers: []Container{{Name: ProxyContainerName, Ports: []ContainerPort{
			{Name: "http2", Port: 8080, Protocol: "TCP"}, {Name: "https", Port: 8443, Protocol: "TCP"},
		}}},
	})
	x.Assumed[AssumeIngressGateway] = fmt.Sprintf("the ingress gateway is %s/%s (labels istio=ingressgateway, app=%s; service account %s): it is not in the input",
		root, DefaultGatewayName, DefaultGatewayName, DefaultGatewaySA)
}

// meshConfig reads the `istio` ConfigMap (data.mesh) when present; otherwise the
// defaults of Istio's DefaultMeshConfig (pkg/config/mesh/mesh.go): root namespace
// istio-system, trust domain cluster.local, enableAutoMtls true, outbound
// ALLOW_ANY.
func (x *Index) meshConfig(objs []*objects.Object) MeshConfig {
	mc := MeshConfig{
		RootNamespace:  DefaultRootNamespace,
		TrustDomain:    DefaultTrustDomain,
		EnableAutoMtls: true,
		OutboundPolicy: OutboundAllowAny,
	}
	var src *objects.Object
	var cm *corev1.ConfigMap
	for _, o := range objs {
		if c, ok := o.Typed.(*corev1.ConfigMap); ok && o.Name == "istio" && c.Data["mesh"] != "" {
			if src == nil || o.Namespace == DefaultRootNamespace {
				src, cm = o, c
			}
		}
	}
	var set struct{ root, td, auto, outbound bool }
	if cm != nil {
		mc.Source = src
		var api meshapi.MeshConfig
		if js, err := yaml.YAMLToJSON([]byte(cm.Data["mesh"])); err == nil && api.UnmarshalJSON(js) == nil {
			if api.RootNamespace != "" {
				mc.RootNamespace, set.root = api.RootNamespace, true
			}
			if api.TrustDomain != "" {
				mc.TrustDomain, set.td = api.TrustDomain, true
			}
			if api.EnableAutoMtls != nil {
				mc.EnableAutoMtls, set.auto = api.EnableAutoMtls.Value, true
			}
			if api.OutboundTrafficPolicy != nil {
				mc.OutboundPolicy, set.outbound = api.OutboundTrafficPolicy.Mode.String(), true
			}
			mc.DefaultDestinationRuleExportTo = api.DefaultDestinationRuleExportTo
		}
	}
	why := "no istio ConfigMap in the input"
	if src != nil {
		why = "not set in " + src.At("data.mesh").String()
	}
	if !set.root {
		x.Assumed[AssumeRootNamespace] = "the root namespace is istio-system (Istio's default; " + why + ")"
	}
	if !set.td {
		x.Assumed[AssumeTrustDomain] = "the trust domain is cluster.local (Istio's default; " + why + ")"
	}
	if !set.auto {
		x.Assumed[AssumeAutoMTLS] = "auto mTLS is on (enableAutoMtls defaults to true; " + why + ")"
	}
	if !set.outbound {
		x.Assumed[AssumeOutboundPolicy] = "the outbound traffic policy is ALLOW_ANY (Istio's default; " + why + ")"
	}
	return mc
}

// ownerKey names a workload object: kind, namespace, name.
type ownerKey struct{ kind, ns, name string }

// controllerOf returns the owner reference with controller=true, else the
// first one (objects written by hand often omit the flag).
func controllerOf(refs []metav1.OwnerReference) (metav1.OwnerReference, bool) {
	for _, r := range refs {
		if r.Controller != nil && *r.Controller {
			return r, true
		}
	}
	if len(refs) > 0 {
		return refs[0], true
	}
	return metav1.OwnerReference{}, false
}

// attachPods gives each workload the pods of the input that run it: pods that
// carry a status (a pod manifest without one was never run, so it stays a
// template). A pod belongs to the workload its controller owner reference
// leads to: a ReplicaSet's owner (the Deployment), a Job's owner (the
// CronJob), or a StatefulSet, DaemonSet, ReplicaSet, Job or Deployment
// directly; a pod without owner is its own workload. When the ReplicaSet is
// not in the input, its name is the Deployment's name, "-" and the pod's
// pod-template-hash label (k8s.io/kubernetes pkg/controller/deployment/sync.go
// getNewReplicaSet: Name = deployment.Name + "-" + podTemplateSpecHash).
func (x *Index) attachPods(pods []*objects.Object, owners map[ownerKey]ownerKey) {
	if len(pods) == 0 {
		return
	}
	byKey := map[ownerKey]*Workload{}
	for _, w := range x.Workloads {
		byKey[ownerKey{w.Kind, w.Namespace, w.Name}] = w
	}
	for _, o := range pods {
		t := o.Typed.(*corev1.Pod)
		k := ownerKey{"Pod", o.Namespace, o.Name}
		if ref, ok := controllerOf(t.OwnerReferences); ok {
			k = ownerKey{ref.Kind, o.Namespace, ref.Name}
			if up, ok := owners[k]; ok {
				k = up
			} else if _, ok := byKey[k]; !ok && k.kind == "ReplicaSet" {
				if h := t.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(k.name, "-"+h) {
					k = ownerKey{"Deployment", o.Namespace, strings.TrimSuffix(k.name, "-"+h)}
				}
			}
		}
		w := byKey[k]
		if w == nil {
			continue // owned by something meshdoctor does not model (a Node, an operator's object)
		}
		// A workload from a file layered over the cluster (--kube -f) replaced
		// the cluster's object; applying a changed pod template makes its
		// controller replace the pods (a rollout), so the running pods would
		// describe the old template. Predict from the file instead.
		if fromCluster(o) && w.Obj != nil && !fromCluster(w.Obj) && w.Kind != "Pod" {
			w.LivePodsIgnored = true
			continue
		}
		w.Pods = append(w.Pods, newPod(o, t))
	}
	var replaced []string
	for _, w := range x.Workloads {
		if w.LivePodsIgnored {
			replaced = append(replaced, w.Kind+" "+w.Key())
		}
	}
	if len(replaced) > 0 {
		sort.Strings(replaced)
		x.Assumed[AssumeFileWorkloads] = fmt.Sprintf("workloads from files replace the cluster's objects (%s): their running pods are not used; the pods are predicted from the files' templates, as the rollout after kubectl apply would create them", strings.Join(replaced, ", "))
	}
	for _, w := range x.Workloads {
		sort.Slice(w.Pods, func(i, j int) bool { return w.Pods[i].Name < w.Pods[j].Name })
	}
}

// fromCluster reports whether o was read from a live cluster.
func fromCluster(o *objects.Object) bool { return o.Pos.File == ClusterFile && o.Pos.Line == 0 }

func newPod(o *objects.Object, t *corev1.Pod) *Pod {
	p := &Pod{
		Namespace: o.Namespace, Name: o.Name, Obj: o,
		Labels: t.Labels, Annotations: t.Annotations,
		Phase: string(t.Status.Phase), IP: t.Status.PodIP,
		Terminating: t.DeletionTimestamp != nil,
	}
	for _, c := range t.Status.Conditions {
		if c.Type == corev1.PodReady {
			p.Ready = c.Status == corev1.ConditionTrue
		}
	}
	for i, c := range t.Spec.Containers {
		if c.Name == ProxyContainerName {
			p.Proxy = objects.Index("spec.containers", i)
		}
	}
	// The native sidecar: an init container istio-proxy with restartPolicy
	// Always (injection-template.yaml with ENABLE_NATIVE_SIDECARS).
	for i, c := range t.Spec.InitContainers {
		if c.Name == ProxyContainerName && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			p.Proxy, p.NativeSidecar = objects.Index("spec.initContainers", i), true
		}
	}
	return p
}
