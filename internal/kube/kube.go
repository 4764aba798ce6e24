// Package kube reads a live cluster into the same positioned objects that the
// file loader (internal/load) produces, so that mesh, resolve and trace work
// on a cluster exactly as they work on manifests.
//
// It is strictly read-only: it issues GET requests only (discovery, list with
// pagination, get of single objects), never create, update, patch, delete or
// watch, and it never reads Secrets. The exact permissions it needs are
// docs/rbac.yaml.
//
// Each kind is listed once, in pages of Options.PageSize, with at most
// Options.Parallel kinds in flight. A kind that the user may not list (RBAC
// forbidden) or that the server does not serve (no Istio CRDs) is not fatal: it
// is reported in Result.Unread, and the analysis goes on with what was read.
// A server that cannot be reached is an error, within Options.Timeout.
//
// Live objects have the position {File: "cluster"} (Source): they have no file
// and no line; their kind, namespace and name say where they are.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	sigsjson "sigs.k8s.io/json"

	// Cloud and exec credential plugins, as kubectl links them (GKE, AKS,
	// OIDC); the exec plugin (EKS, gke-gcloud-auth-plugin) is built in.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Source is the file name of every object read from a cluster.
const Source = "cluster"

// MeshConfigNamespace and MeshConfigName name the ConfigMap that holds Istio's
// mesh config (istiod reads data.mesh of istio-system/istio by default:
// pilot/pkg/bootstrap/configcontroller.go, pkg/config/mesh/kubemesh). It is
// read with a single get, so that no other ConfigMap is ever read.
const (
	MeshConfigNamespace = "istio-system"
	MeshConfigName      = "istio"
)

// Options say which cluster to read and how.
type Options struct {
	// Kubeconfig is --kubeconfig; empty means KUBECONFIG, then ~/.kube/config,
	// then the in-cluster config, as kubectl does.
	Kubeconfig string
	// Context is --context; empty means the kubeconfig's current context.
	Context string
	// Namespaces limits what is read to these namespaces (plus nothing else);
	// empty means every namespace.
	Namespaces []string
	// Timeout bounds each request (--request-timeout); 0 means DefaultTimeout.
	Timeout time.Duration
	// Parallel is how many kinds are listed at once; 0 means 4.
	Parallel int
	// PageSize is the limit of each list request; 0 means 500 (kubectl's chunk size).
	PageSize int64
	// Config, when set, is used instead of the kubeconfig (tests).
	Config *rest.Config
}

// DefaultTimeout bounds each request when Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Unread is a kind that could not be read.
type Unread struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Result is what a cluster gave.
type Result struct {
	// Objects are sorted by kind (in the order of Kinds), namespace and name.
	Objects []*objects.Object
	// Unread are the kinds that could not be read, sorted by kind.
	Unread []Unread
	// Server and Context say which cluster was read.
	Server  string
	Context string
	// Requests counts the API requests made (discovery, pages, gets).
	Requests int
}

// Kind is one kind meshdoctor reads from a cluster. Its typed value is the one
// internal/load decodes the same kind into, so that the engine cannot tell a
// live object from a file object.
type Kind struct {
	Kind  string
	Group string
	// Versions are the versions to ask for, preferred first. Istio serves one
	// schema under every version of a kind (ISTIO-SEMANTICS.md §1.5), so any
	// served version decodes into the v1 client-go type.
	Versions   []string
	Resource   string
	Namespaced bool
	New        func() runtime.Object
}

var (
	istioNetworking = []string{"v1", "v1beta1", "v1alpha3"}
	istioSecurity   = []string{"v1", "v1beta1"}
)

// Kinds are the kinds listed, in this order. Secrets are deliberately absent;
// ConfigMaps are read with one get (MeshConfigName), never listed.
var Kinds = []Kind{
	{"Namespace", "", []string{"v1"}, "namespaces", false, func() runtime.Object { return &corev1.Namespace{} }},
	{"Service", "", []string{"v1"}, "services", true, func() runtime.Object { return &corev1.Service{} }},
	{"ServiceAccount", "", []string{"v1"}, "serviceaccounts", true, func() runtime.Object { return &corev1.ServiceAccount{} }},
	{"Pod", "", []string{"v1"}, "pods", true, func() runtime.Object { return &corev1.Pod{} }},
	{"Deployment", "apps", []string{"v1"}, "deployments", true, func() runtime.Object { return &appsv1.Deployment{} }},
	{"StatefulSet", "apps", []string{"v1"}, "statefulsets", true, func() runtime.Object { return &appsv1.StatefulSet{} }},
	{"DaemonSet", "apps", []string{"v1"}, "daemonsets", true, func() runtime.Object { return &appsv1.DaemonSet{} }},
	{"ReplicaSet", "apps", []string{"v1"}, "replicasets", true, func() runtime.Object { return &appsv1.ReplicaSet{} }},
	{"Job", "batch", []string{"v1"}, "jobs", true, func() runtime.Object { return &batchv1.Job{} }},
	{"CronJob", "batch", []string{"v1"}, "cronjobs", true, func() runtime.Object { return &batchv1.CronJob{} }},
	{"PeerAuthentication", "security.istio.io", istioSecurity, "peerauthentications", true, func() runtime.Object { return &securityv1.PeerAuthentication{} }},
	{"AuthorizationPolicy", "security.istio.io", istioSecurity, "authorizationpolicies", true, func() runtime.Object { return &securityv1.AuthorizationPolicy{} }},
	{"RequestAuthentication", "security.istio.io", istioSecurity, "requestauthentications", true, func() runtime.Object { return &securityv1.RequestAuthentication{} }},
	{"DestinationRule", "networking.istio.io", istioNetworking, "destinationrules", true, func() runtime.Object { return &networkingv1.DestinationRule{} }},
	{"VirtualService", "networking.istio.io", istioNetworking, "virtualservices", true, func() runtime.Object { return &networkingv1.VirtualService{} }},
	{"Gateway", "networking.istio.io", istioNetworking, "gateways", true, func() runtime.Object { return &networkingv1.Gateway{} }},
	{"Sidecar", "networking.istio.io", istioNetworking, "sidecars", true, func() runtime.Object { return &networkingv1.Sidecar{} }},
	{"ServiceEntry", "networking.istio.io", istioNetworking, "serviceentries", true, func() runtime.Object { return &networkingv1.ServiceEntry{} }},
}

// RESTConfig loads the client configuration as kubectl does: --kubeconfig,
// else KUBECONFIG, else ~/.kube/config, else the in-cluster service account;
// --context overrides the current context. It also returns the context used.
func RESTConfig(kubeconfig, kubeContext string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", errors.New("no cluster configured: give --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod")
		}
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	name := kubeContext
	if name == "" {
		if raw, err := cc.RawConfig(); err == nil {
			name = raw.CurrentContext
		}
	}
	if name == "" {
		name = "in-cluster"
	}
	return cfg, name, nil
}

// Load reads the cluster opts names.
func Load(ctx context.Context, opts Options) (*Result, error) {
	res := &Result{}
	cfg := opts.Config
	if cfg == nil {
		var err error
		cfg, res.Context, err = RESTConfig(opts.Kubeconfig, opts.Context)
		if err != nil {
			return nil, err
		}
	} else {
		cfg = rest.CopyConfig(cfg)
	}
	res.Server = cfg.Host
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cfg.Timeout = timeout
	cfg.UserAgent = "meshdoctor"
	// client-go's default rate limit (5 QPS) would make pages of a large cluster
	// wait on the client, not on the server.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Host, err)
	}
	r := &reader{
		ctx: ctx, rc: dc.RESTClient(), pageSize: opts.PageSize, res: res,
		namespaces: dedupe(opts.Namespaces), timeout: timeout, server: cfg.Host,
	}
	if r.pageSize <= 0 {
		r.pageSize = 500
	}
	served, err := r.servedVersions(dc)
	if err != nil {
		return nil, err
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	parts := make([][]*objects.Object, len(Kinds))
	unread := make([]*Unread, len(Kinds))
	fatal := make([]error, len(Kinds))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, k := range Kinds {
		version := pickVersion(k, served[k.Group])
		if version == "" {
			unread[i] = &Unread{k.Kind, notServed(k, served)}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			parts[i], unread[i], fatal[i] = r.kind(k, version)
		}()
	}
	wg.Wait()
	for _, err := range fatal {
		if err != nil {
			return nil, err
		}
	}
	cm, u, err := r.meshConfig()
	if err != nil {
		return nil, err
	}
	for i := range Kinds {
		res.Objects = append(res.Objects, parts[i]...)
		if unread[i] != nil {
			res.Unread = append(res.Unread, *unread[i])
		}
	}
	if cm != nil {
		res.Objects = append(res.Objects, cm)
	}
	if u != nil {
		res.Unread = append(res.Unread, *u)
	}
	for i, o := range res.Objects {
		o.Seq = i
	}
	sort.Slice(res.Unread, func(i, j int) bool { return res.Unread[i].Kind < res.Unread[j].Kind })
	return res, nil
}

type reader struct {
	ctx        context.Context
	rc         rest.Interface
	pageSize   int64
	namespaces []string
	timeout    time.Duration
	server     string

	mu  sync.Mutex
	res *Result
}

func (r *reader) count() {
	r.mu.Lock()
	r.res.Requests++
	r.mu.Unlock()
}

// servedVersions asks the server which versions each API group serves (GET
// /api and /apis). This is also where a dead server is found.
func (r *reader) servedVersions(dc *discovery.DiscoveryClient) (map[string][]string, error) {
	r.count()
	groups, err := dc.ServerGroups()
	if err != nil {
		return nil, r.unreachable(err)
	}
	out := map[string][]string{}
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			out[g.Name] = append(out[g.Name], v.Version)
		}
	}
	return out, nil
}

// unreachable turns an error of the first request into a clear message.
func (r *reader) unreachable(err error) error {
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("cluster %s: the credentials were refused (401 Unauthorized): check the kubeconfig user or token", r.server)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("cluster %s: API discovery is forbidden: %s", r.server, apiMessage(err))
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") || strings.Contains(err.Error(), "i/o timeout"):
		return fmt.Errorf("cluster %s did not answer within %s (--request-timeout): %v", r.server, r.timeout, err)
	}
	return fmt.Errorf("cannot reach the cluster at %s: %v", r.server, err)
}

func pickVersion(k Kind, served []string) string {
	for _, want := range k.Versions {
		for _, v := range served {
			if v == want {
				return v
			}
		}
	}
	return ""
}

func notServed(k Kind, served map[string][]string) string {
	vs, ok := served[k.Group]
	if !ok {
		return fmt.Sprintf("not installed: the server has no %s API group (are Istio's CRDs installed?)", k.Group)
	}
	return fmt.Sprintf("not installed: %s serves %s, not %s", k.Group, strings.Join(vs, ", "), strings.Join(k.Versions, ", "))
}

func gvPath(group, version string) string {
	if group == "" {
		return "/api/" + version
	}
	return "/apis/" + group + "/" + version
}

// kind lists every object of k (in each namespace of r.namespaces, or cluster
// wide). A forbidden or missing kind is an Unread; an unreachable server is an
// error.
func (r *reader) kind(k Kind, version string) ([]*objects.Object, *Unread, error) {
	gv := gvPath(k.Group, version)
	var out []*objects.Object
	add := func(raw []byte) error {
		o, err := decode(k, version, raw)
		if err != nil {
			return err
		}
		out = append(out, o)
		return nil
	}
	handle := func(err error, where string) (*Unread, error) {
		switch {
		case apierrors.IsForbidden(err):
			return &Unread{k.Kind, fmt.Sprintf("forbidden: cannot list %s %s (%s)", k.resourceName(), where, apiMessage(err))}, nil
		case apierrors.IsNotFound(err):
			return &Unread{k.Kind, fmt.Sprintf("not installed: %s/%s is not served", gv, k.Resource)}, nil
		}
		return nil, fmt.Errorf("listing %s %s: %w", k.resourceName(), where, r.unreachableIfNeeded(err))
	}
	if len(r.namespaces) == 0 {
		if err := r.list(gv+"/"+k.Resource, add); err != nil {
			u, ferr := handle(err, "cluster-wide")
			return nil, u, ferr
		}
		return out, nil, nil
	}
	if !k.Namespaced {
		// Namespaces under -n: get each one.
		for _, ns := range r.namespaces {
			raw, err := r.get(gv + "/" + k.Resource + "/" + url.PathEscape(ns))
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				u, ferr := handle(err, "named "+ns)
				return nil, u, ferr
			}
			if err := add(raw); err != nil {
				return nil, nil, err
			}
		}
		return out, nil, nil
	}
	var denied []string
	var firstDenied error
	for _, ns := range r.namespaces {
		if err := r.list(gv+"/namespaces/"+url.PathEscape(ns)+"/"+k.Resource, add); err != nil {
			if apierrors.IsForbidden(err) {
				denied = append(denied, ns)
				if firstDenied == nil {
					firstDenied = err
				}
				continue
			}
			u, ferr := handle(err, "in namespace "+ns)
			return nil, u, ferr
		}
	}
	if len(denied) > 0 {
		u, _ := handle(firstDenied, "in namespace(s) "+strings.Join(denied, ", "))
		return out, u, nil
	}
	return out, nil, nil
}

func (k Kind) resourceName() string {
	if k.Group == "" {
		return k.Resource
	}
	return k.Resource + "." + k.Group
}

func (r *reader) unreachableIfNeeded(err error) error {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return err
	}
	return r.unreachable(err)
}

// meshConfig gets istio-system/istio, the only ConfigMap read. Not found is
// normal (the engine then states Istio's defaults as assumptions).
func (r *reader) meshConfig() (*objects.Object, *Unread, error) {
	k := Kind{"ConfigMap", "", []string{"v1"}, "configmaps", true, func() runtime.Object { return &corev1.ConfigMap{} }}
	if len(r.namespaces) > 0 && !contains(r.namespaces, MeshConfigNamespace) {
		return nil, nil, nil
	}
	raw, err := r.get("/api/v1/namespaces/" + MeshConfigNamespace + "/configmaps/" + MeshConfigName)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil, nil
	case apierrors.IsForbidden(err):
		return nil, &Unread{"ConfigMap", fmt.Sprintf("forbidden: cannot get configmap %s/%s, the mesh config (%s)", MeshConfigNamespace, MeshConfigName, apiMessage(err))}, nil
	case err != nil:
		return nil, nil, fmt.Errorf("getting configmap %s/%s: %w", MeshConfigNamespace, MeshConfigName, r.unreachableIfNeeded(err))
	}
	o, err := decode(k, "v1", raw)
	return o, nil, err
}

// get fetches one object.
func (r *reader) get(path string) ([]byte, error) {
	r.count()
	return withServerMessage(r.rc.Get().AbsPath(path).DoRaw(r.ctx))
}

// serverError keeps the server's own message of a failed request (the
// discovery client's decoder leaves the error's message "unknown").
type serverError struct {
	err error
	msg string
}

func (e *serverError) Error() string { return e.err.Error() }
func (e *serverError) Unwrap() error { return e.err }

// withServerMessage adds the message of the Status the server answered with.
func withServerMessage(body []byte, err error) ([]byte, error) {
	if err == nil {
		return body, nil
	}
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		return nil, &serverError{err, st.Message}
	}
	return nil, err
}

// list fetches every page of a collection and hands each item to add.
func (r *reader) list(path string, add func([]byte) error) error {
	cont := ""
	for {
		req := r.rc.Get().AbsPath(path).Param("limit", strconv.FormatInt(r.pageSize, 10))
		if cont != "" {
			req = req.Param("continue", cont)
		}
		r.count()
		raw, err := withServerMessage(req.DoRaw(r.ctx))
		if err != nil {
			return err
		}
		var page struct {
			Metadata metav1.ListMeta   `json:"metadata"`
			Items    []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return fmt.Errorf("%s: the server's answer is not a list: %w", path, err)
		}
		for _, it := range page.Items {
			if err := add(it); err != nil {
				return err
			}
		}
		if page.Metadata.Continue == "" {
			return nil
		}
		cont = page.Metadata.Continue
	}
}

// decode turns one object of the server's JSON into a positioned object with
// the same typed value the file loader gives.
func decode(k Kind, version string, raw []byte) (*objects.Object, error) {
	typed := k.New()
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, typed); err != nil {
		return nil, fmt.Errorf("decoding a %s from the server: %w", k.Kind, err)
	}
	apiVersion := version
	if k.Group != "" {
		apiVersion = k.Group + "/" + version
	}
	// List items of built-in kinds come without apiVersion and kind.
	typed.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Group: k.Group, Version: version, Kind: k.Kind})
	mo, ok := typed.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%s has no object metadata", k.Kind)
	}
	mo.SetManagedFields(nil) // server bookkeeping, large and never read
	o := &objects.Object{
		APIVersion: apiVersion,
		Kind:       k.Kind,
		Name:       mo.GetName(),
		Pos:        objects.Pos{File: Source},
		Created:    mo.GetCreationTimestamp().Time,
		Typed:      typed,
	}
	if k.Namespaced {
		o.Namespace = mo.GetNamespace()
	}
	return o, nil
}

// apiMessage is the server's message of an API error.
func apiMessage(err error) string {
	var sm *serverError
	if errors.As(err, &sm) {
		return sm.msg
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Message != "" {
		return se.Status().Message
	}
	return err.Error()
}

func dedupe(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
