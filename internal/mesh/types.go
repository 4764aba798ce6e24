package mesh

import (
	"time"

	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// MeshConfig is the part of Istio's mesh config that meshdoctor uses, from the
// `istio` ConfigMap of the root namespace when present, else Istio's defaults
// (pkg/config/mesh/mesh.go DefaultMeshConfig).
type MeshConfig struct {
	RootNamespace  string
	TrustDomain    string
	EnableAutoMtls bool
	// OutboundPolicy is ALLOW_ANY or REGISTRY_ONLY.
	OutboundPolicy string
	// DefaultDestinationRuleExportTo is meshConfig.defaultDestinationRuleExportTo
	// (empty means ["*"]).
	DefaultDestinationRuleExportTo []string
	// Source is the ConfigMap it came from, nil when every field is a default.
	Source *objects.Object
}

// Namespace is a namespace and its labels.
type Namespace struct {
	Name   string
	Labels map[string]string
	Obj    *objects.Object // nil when the namespace is only referenced by other objects
}

// Implicit reports whether the namespace was not in the input.
func (n *Namespace) Implicit() bool { return n.Obj == nil }

// ContainerPort is one declared container port.
type ContainerPort struct {
	Name     string
	Port     int32
	Protocol string
}

// Container is one container of a pod template.
type Container struct {
	Name    string
	Image   string
	Ports   []ContainerPort
	Command []string
	Args    []string
	Env     []corev1.EnvVar
	Init    bool
	// Path is the container's field path in its object,
	// e.g. "spec.template.spec.containers[0]".
	Path string
	// RestartAlways marks a native sidecar (an init container with restartPolicy Always).
	RestartAlways bool
}

// Workload is a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or
// Pod: what its pods look like.
type Workload struct {
	Kind, Namespace, Name string
	Obj                   *objects.Object // nil for the implied ingress gateway
	// Labels and Annotations are the pod template's.
	Labels      map[string]string
	Annotations map[string]string
	// ServiceAccount is the pod's service account ("default" when not set).
	ServiceAccount string
	Containers     []Container // app containers, then init containers
	HostNetwork    bool
	Replicas       int32
	// PodSpecPath is the field path of the pod spec, e.g. "spec.template.spec".
	PodSpecPath string
	// TemplatePath is the field path of the pod metadata, e.g. "spec.template.metadata".
	TemplatePath string
	// Implicit marks the ingress gateway that SPEC.md assumes when absent.
	Implicit bool
	// Pods are the workload's pods as they run: Pods of the input that carry a
	// status (read from a cluster, or a dump of one) and belong to the workload
	// (see Build). Sorted by name; nil when the input has none, and then the
	// engine predicts the pods from the template.
	Pods []*Pod
	// LivePodsIgnored marks a workload read from a file that replaces the
	// cluster's object (--kube with -f): the cluster's pods run the old
	// template, so the engine predicts the pods the file's template rolls out.
	LivePodsIgnored bool

	key string // "ns/name", set by Build
}

// Pod is one running pod of a workload, with the facts only a cluster knows.
type Pod struct {
	Namespace, Name string
	Obj             *objects.Object
	Labels          map[string]string
	Annotations     map[string]string
	// Phase is status.phase (Pending, Running, Succeeded, Failed, Unknown).
	Phase string
	// IP is status.podIP ("" before the pod is scheduled and networked).
	IP string
	// Ready is the status condition Ready=True.
	Ready bool
	// Terminating is set when metadata.deletionTimestamp is.
	Terminating bool
	// Proxy is the pod's istio-proxy container: its field path, e.g.
	// "spec.containers[1]", or "" when the pod has none.
	Proxy string
	// NativeSidecar marks a proxy that is an init container with
	// restartPolicy Always.
	NativeSidecar bool
}

// Key returns "ns/name".
func (p *Pod) Key() string { return p.Namespace + "/" + p.Name }

// Done reports whether the pod has finished (Succeeded or Failed): it will
// never run again, so it neither serves nor needs a restart.
func (p *Pod) Done() bool { return p.Phase == "Succeeded" || p.Phase == "Failed" }

// Key returns "ns/name" (computed once by Build: every path of a large mesh
// asks for it).
func (w *Workload) Key() string {
	if w.key != "" {
		return w.key
	}
	return w.Namespace + "/" + w.Name
}

// At returns the position of a field of the workload's object (path relative to
// the object), or an empty position for an implied workload.
func (w *Workload) At(path string) objects.Pos {
	if w.Obj == nil {
		return objects.Pos{}
	}
	return w.Obj.At(path)
}

// Ref returns a reference to a field of the workload's object.
func (w *Workload) Ref(path string) objects.Ref {
	if w.Obj == nil {
		return objects.Ref{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, Field: path}
	}
	return w.Obj.Ref(path)
}

// ContainerPort finds the container port with the given number (app containers
// first). It returns nil when no container declares it.
func (w *Workload) ContainerPort(port int32) (*Container, *ContainerPort) {
	for i := range w.Containers {
		c := &w.Containers[i]
		for j := range c.Ports {
			if c.Ports[j].Port == port {
				return c, &c.Ports[j]
			}
		}
	}
	return nil, nil
}

// NamedPort finds the container port with the given name.
func (w *Workload) NamedPort(name string) (*Container, *ContainerPort) {
	for i := range w.Containers {
		c := &w.Containers[i]
		for j := range c.Ports {
			if c.Ports[j].Name == name {
				return c, &c.Ports[j]
			}
		}
	}
	return nil, nil
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name        string
	Port        int32
	TargetPort  intstr.IntOrString // as written; Port when not set
	Protocol    string
	AppProtocol string
	NodePort    int32
	Path        string // field path, e.g. "spec.ports[0]"
}

// Service is a Kubernetes Service.
type Service struct {
	Namespace, Name string
	Obj             *objects.Object
	Selector        map[string]string
	Ports           []ServicePort
	Type            string
	ClusterIP       string
	ExternalName    string
	Headless        bool
	// PublishNotReadyAddresses is spec.publishNotReadyAddresses: pods that are
	// not Ready are endpoints too.
	PublishNotReadyAddresses bool
	// Host is the FQDN name.ns.svc.<domain>.
	Host string
	key  string // "ns/name", set by Build
}

// Key returns "ns/name".
func (s *Service) Key() string {
	if s.key != "" {
		return s.key
	}
	return s.Namespace + "/" + s.Name
}

// Port returns the service port with the given number, or nil.
func (s *Service) Port(n int32) *ServicePort {
	for i := range s.Ports {
		if s.Ports[i].Port == n {
			return &s.Ports[i]
		}
	}
	return nil
}

// Config is what all Istio config objects share.
type Config struct {
	Namespace, Name string
	Obj             *objects.Object
}

// Created is metadata.creationTimestamp (zero when absent).
func (c *Config) Created() time.Time { return c.Obj.Created }

// Meta returns the config's object.
func (c *Config) Meta() *objects.Object { return c.Obj }

// PeerAuthentication with its spec (istio.io/api security/v1beta1, the type
// pilot uses for every served version).
type PeerAuthentication struct {
	Config
	Spec *security.PeerAuthentication
}

// AuthorizationPolicy with its spec.
type AuthorizationPolicy struct {
	Config
	Spec *security.AuthorizationPolicy
}

// RequestAuthentication with its spec.
type RequestAuthentication struct {
	Config
	Spec *security.RequestAuthentication
}

// DestinationRule with its spec.
type DestinationRule struct {
	Config
	Spec *networking.DestinationRule
}

// VirtualService with its spec.
type VirtualService struct {
	Config
	Spec *networking.VirtualService
}

// Gateway with its spec.
type Gateway struct {
	Config
	Spec *networking.Gateway
}

// Sidecar with its spec.
type Sidecar struct {
	Config
	Spec *networking.Sidecar
}

// ServiceEntry with its spec.
type ServiceEntry struct {
	Config
	Spec *networking.ServiceEntry
}

// Configurable is any Istio config object.
type Configurable interface {
	Meta() *objects.Object
}

// CreationOrder reports whether a comes before b in Istio's order for configs:
// creationTimestamp ascending, then name, then namespace
// (pilot/pkg/model/config.go configCompareByCreationTime). Objects from files
// usually have no timestamp, so the name decides.
func CreationOrder(a, b *objects.Object) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.Namespace < b.Namespace
}

// AssumeUnread is the assumption key for a kind that could not be read from a
// live cluster (see Options.Unread). Decisions that read that kind add it.
func AssumeUnread(kind string) string { return "unread-" + kind }

// AssumeFileWorkloads is the assumption key stated when workloads from files
// replace the cluster's and their running pods are not used.
const AssumeFileWorkloads = "file-workloads"

// ClusterFile is the position file of objects read from a live cluster
// (internal/kube Source; a test keeps them equal).
const ClusterFile = "cluster"
