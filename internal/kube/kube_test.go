package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// fakeAPI is a minimal API server: discovery, paginated lists, 403s. It
// records every request, so tests can check that only GETs are sent. The
// real-server tests are in live_test.go (build tag kubeapiserver).
type fakeAPI struct {
	mu       sync.Mutex
	requests []string
	groups   []string // API groups served at v1 besides the core group
	forbid   map[string]bool
	items    map[string][]string // cluster-wide collection path -> JSON items
	objects  map[string]string   // object path -> JSON
}

// collection returns the items at path: a cluster-wide collection, or the
// namespace's part of one (/api/v1/namespaces/NS/services).
func (f *fakeAPI) collection(path string) ([]string, bool) {
	if items, ok := f.items[path]; ok {
		return items, true
	}
	i := strings.Index(path, "/namespaces/")
	if i < 0 {
		return nil, false
	}
	rest := strings.SplitN(path[i+len("/namespaces/"):], "/", 2)
	if len(rest) != 2 || strings.Contains(rest[1], "/") {
		return nil, false
	}
	all, ok := f.items[path[:i]+"/"+rest[1]]
	if !ok {
		return nil, false
	}
	var out []string
	for _, it := range all {
		if strings.Contains(it, `"namespace":"`+rest[0]+`"`) {
			out = append(out, it)
		}
	}
	return out, true
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api":
		fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
		return
	case r.URL.Path == "/apis":
		var gs []string
		for _, g := range f.groups {
			gs = append(gs, fmt.Sprintf(`{"name":%q,"versions":[{"groupVersion":"%s/v1","version":"v1"}],"preferredVersion":{"groupVersion":"%s/v1","version":"v1"}}`, g, g, g))
		}
		fmt.Fprintf(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[%s]}`, strings.Join(gs, ","))
		return
	}
	if f.forbid[r.URL.Path] {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"user \"u\" cannot list resource at %s"}`, r.URL.Path)
		return
	}
	if obj, ok := f.objects[r.URL.Path]; ok {
		fmt.Fprint(w, obj)
		return
	}
	items, ok := f.collection(r.URL.Path)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"not found"}`)
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	start, _ := strconv.Atoi(r.URL.Query().Get("continue"))
	end := len(items)
	cont := ""
	if limit > 0 && start+limit < end {
		end = start + limit
		cont = strconv.Itoa(end)
	}
	fmt.Fprintf(w, `{"metadata":{"continue":%q},"items":[%s]}`, cont, strings.Join(items[start:end], ","))
}

func svcJSON(ns, name string) string {
	return fmt.Sprintf(`{"metadata":{"name":%q,"namespace":%q,"creationTimestamp":"2026-01-02T03:04:05Z","managedFields":[{"manager":"kubectl"}]},"spec":{"ports":[{"port":80}]}}`, name, ns)
}

func newFake(t *testing.T, f *fakeAPI) *rest.Config {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}
}

func emptyCollections(f *fakeAPI) {
	for _, k := range Kinds {
		if k.Group != "" && !contains(f.groups, k.Group) {
			continue
		}
		p := gvPath(k.Group, "v1") + "/" + k.Resource
		if _, ok := f.items[p]; !ok {
			f.items[p] = nil
		}
	}
}

func TestLoadPaginatesDecodesAndReportsUnreadKinds(t *testing.T) {
	f := &fakeAPI{
		groups: []string{"apps", "batch", "security.istio.io"},
		forbid: map[string]bool{"/apis/security.istio.io/v1/authorizationpolicies": true},
		items:  map[string][]string{},
	}
	var svcs []string
	for i := 0; i < 7; i++ {
		svcs = append(svcs, svcJSON("ns"+strconv.Itoa(i%2), fmt.Sprintf("svc-%d", i)))
	}
	f.items["/api/v1/services"] = svcs
	f.items["/apis/security.istio.io/v1/peerauthentications"] = []string{
		`{"apiVersion":"security.istio.io/v1","kind":"PeerAuthentication","metadata":{"name":"default","namespace":"istio-system"},"spec":{"mtls":{"mode":"STRICT"}}}`,
	}
	emptyCollections(f)
	res, err := Load(context.Background(), Options{Config: newFake(t, f), PageSize: 3, Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, o := range res.Objects {
		if o.Kind != "Service" {
			continue
		}
		n++
		s, ok := o.Typed.(*corev1.Service)
		if !ok {
			t.Fatalf("Service decoded as %T", o.Typed)
		}
		if o.Pos.File != Source || o.APIVersion != "v1" || s.Kind != "Service" || s.APIVersion != "v1" {
			t.Errorf("service %s: pos %v apiVersion %q typeMeta %v", o.Name, o.Pos, o.APIVersion, s.TypeMeta)
		}
		if len(s.ManagedFields) != 0 {
			t.Errorf("managedFields kept")
		}
		if o.Created.IsZero() || o.Namespace == "" {
			t.Errorf("service %s: created %v namespace %q", o.Name, o.Created, o.Namespace)
		}
	}
	if n != 7 {
		t.Errorf("read %d services over pages of 3, want 7", n)
	}
	var pa *securityv1.PeerAuthentication
	for _, o := range res.Objects {
		if p, ok := o.Typed.(*securityv1.PeerAuthentication); ok {
			pa = p
		}
	}
	if pa == nil || pa.Spec.GetMtls().GetMode().String() != "STRICT" {
		t.Errorf("PeerAuthentication not decoded: %v", pa)
	}
	got := map[string]string{}
	for _, u := range res.Unread {
		got[u.Kind] = u.Reason
	}
	if !strings.HasPrefix(got["AuthorizationPolicy"], "forbidden:") || !strings.Contains(got["AuthorizationPolicy"], `user "u" cannot list`) {
		t.Errorf("AuthorizationPolicy unread reason = %q, want forbidden", got["AuthorizationPolicy"])
	}
	if !strings.Contains(got["VirtualService"], "no networking.istio.io API group") {
		t.Errorf("VirtualService unread reason = %q, want not installed", got["VirtualService"])
	}
	pages := 0
	for _, r := range f.requests {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("non-GET request %s", r)
		}
		if strings.Contains(r, "secrets") {
			t.Errorf("Secrets touched: %s", r)
		}
		if strings.Contains(r, "configmaps") && !strings.Contains(r, "/namespaces/istio-system/configmaps/istio?") {
			t.Errorf("a ConfigMap other than the mesh config was read: %s", r)
		}
		if strings.HasPrefix(r, "GET /api/v1/services?") {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("%d pages of services, want 3 (7 items, limit 3)", pages)
	}
	if res.Requests != len(f.requests)-1 { // discovery asks /api and /apis in one ServerGroups call
		t.Errorf("Requests = %d, server saw %d", res.Requests, len(f.requests))
	}
}

func TestLoadNamespaceScope(t *testing.T) {
	f := &fakeAPI{groups: []string{"apps", "batch"}, items: map[string][]string{
		"/api/v1/services": {svcJSON("a", "x"), svcJSON("b", "y"), svcJSON("istio-system", "istiod")},
	}, objects: map[string]string{
		"/api/v1/namespaces/a": `{"metadata":{"name":"a","labels":{"istio-injection":"enabled"}}}`,
	}}
	emptyCollections(f)
	f.forbid = map[string]bool{"/apis/apps/v1/namespaces/istio-system/deployments": true}
	res, err := Load(context.Background(), Options{Config: newFake(t, f), Namespaces: []string{"istio-system", "a", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range res.Objects {
		if o.Kind == "Service" {
			names = append(names, o.Namespace+"/"+o.Name)
		}
	}
	if strings.Join(names, " ") != "a/x istio-system/istiod" {
		t.Errorf("services = %v", names)
	}
	for _, r := range f.requests {
		if strings.HasPrefix(r, "GET /api/v1/services") {
			t.Errorf("cluster-wide list under a namespace scope: %s", r)
		}
	}
	// 3 security.istio.io kinds and 5 networking.istio.io kinds are not
	// installed; Deployments are forbidden in one namespace.
	if len(res.Unread) != 9 || res.Unread[1].Kind != "Deployment" || !strings.Contains(res.Unread[1].Reason, "in namespace(s) istio-system") {
		t.Errorf("unread = %+v", res.Unread)
	}
	var ns []string
	for _, o := range res.Objects {
		if n, ok := o.Typed.(*corev1.Namespace); ok {
			ns = append(ns, n.Name+":"+n.Labels["istio-injection"])
		}
	}
	if strings.Join(ns, " ") != "a:enabled" { // istio-system is not found: skipped
		t.Errorf("namespaces = %v", ns)
	}
}

func TestLoadDeadServerFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	start := time.Now()
	_, err = Load(context.Background(), Options{Config: &rest.Config{Host: "http://" + addr}, Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the cluster at http://"+addr) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to fail", d)
	}
}

func TestLoadSlowServerTimesOut(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	start := time.Now()
	_, err := Load(context.Background(), Options{Config: &rest.Config{Host: srv.URL}, Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s to time out", d)
	}
}

func TestNoSecretsInKinds(t *testing.T) {
	for _, k := range Kinds {
		if strings.EqualFold(k.Resource, "secrets") || k.Kind == "Secret" || k.Kind == "ConfigMap" {
			t.Errorf("%s must never be listed", k.Kind)
		}
	}
}

func TestRESTConfigErrors(t *testing.T) {
	t.Setenv("KUBECONFIG", t.TempDir()+"/missing")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, _, err := RESTConfig(t.TempDir()+"/nope.yaml", "")
	if err == nil {
		t.Fatal("want an error for a missing kubeconfig")
	}
	b, _ := json.Marshal(err.Error())
	if !strings.Contains(string(b), "nope.yaml") {
		t.Errorf("error does not name the file: %v", err)
	}
}

// The engine recognises live objects by their position file.
func TestSourceIsMeshClusterFile(t *testing.T) {
	if Source != mesh.ClusterFile {
		t.Errorf("Source %q != mesh.ClusterFile %q", Source, mesh.ClusterFile)
	}
}
