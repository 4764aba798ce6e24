//go:build kubeapiserver

// Tests against a real etcd and kube-apiserver, started on 127.0.0.1 from the
// binaries that .ci/steps/30-kube.sh builds (MESHDOCTOR_KUBE_BIN names their
// folder). They run meshdoctor (cli.Main) with a token whose RBAC is exactly
// docs/rbac.yaml and read the apiserver's audit log.
//
//	MESHDOCTOR_KUBE_BIN=$HOME/.cache/meshdoctor/kube-v1.37.2 go test -tags kubeapiserver ./internal/kube/
//
// MESHDOCTOR_KUBE_SERVICES (default 1000) sets how many extra Services the
// load-time measurement creates (10000 for the benchmark).
package kube_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/cli"
	"github.com/meshdoctor/meshdoctor/internal/kube"
	"github.com/meshdoctor/meshdoctor/internal/load"
)

const (
	example      = "examples/titanium/k8s-manifests/overlays/gcp"
	traceFrom    = "istio-system/istio-ingressgateway"
	traceTo      = "http://titanium.example.com/blog/"
	readerUser   = "meshdoctor-reader"
	noAuthzUser  = "meshdoctor-noauthz"
	adminToken   = "admin-token-0123456789"
	readerToken  = "reader-token-0123456789"
	noAuthzToken = "noauthz-token-0123456789"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

type cluster struct {
	t      *testing.T
	dir    string
	bin    string
	server string
	audit  string
	api    *exec.Cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func start(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s log tail:\n%s", name, b)
		}
	})
	return cmd
}

// startCluster starts etcd and kube-apiserver with RBAC, static tokens and an
// audit log of every request at Metadata level.
func startCluster(t *testing.T) *cluster {
	bin := os.Getenv("MESHDOCTOR_KUBE_BIN")
	if bin == "" {
		t.Fatal("MESHDOCTOR_KUBE_BIN is not set: run .ci/steps/30-kube.sh, which builds etcd and kube-apiserver and sets it")
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s: %v (run .ci/steps/30-kube.sh build)", b, err)
		}
	}
	dir := t.TempDir()
	c := &cluster{t: t, dir: dir, bin: bin, audit: filepath.Join(dir, "audit.log")}

	etcdPort, peerPort, apiPort := freePort(t), freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	start(t, dir, filepath.Join(bin, "etcd"),
		"--data-dir", filepath.Join(dir, "etcd"), "--unsafe-no-fsync",
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", peerPort))

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	write(t, filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	write(t, filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	write(t, filepath.Join(dir, "tokens.csv"), []byte(
		adminToken+",admin,admin-uid,system:masters\n"+
			readerToken+","+readerUser+","+readerUser+"-uid\n"+
			noAuthzToken+","+noAuthzUser+","+noAuthzUser+"-uid\n"))
	write(t, filepath.Join(dir, "audit-policy.yaml"), []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n"))
	c.api = start(t, dir, filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", "--secure-port", strconv.Itoa(apiPort),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount",
		"--cert-dir", filepath.Join(dir, "certs"),
		"--audit-policy-file", filepath.Join(dir, "audit-policy.yaml"),
		"--audit-log-path", c.audit, "--audit-log-mode=blocking")
	c.server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest("GET", c.server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-apiserver not ready after 60 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, u := range []struct{ name, token string }{{"admin", adminToken}, {readerUser, readerToken}, {noAuthzUser, noAuthzToken}} {
		write(t, filepath.Join(dir, u.name+".kubeconfig"), []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: %s
  user: {token: %q}
contexts:
- name: %s@test
  context: {cluster: test, user: %s}
current-context: %s@test
`, c.server, u.name, u.token, u.name, u.name, u.name)))
	}
	return c
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) kubeconfig(user string) string { return filepath.Join(c.dir, user+".kubeconfig") }

// kubectl runs the built kubectl as admin.
func (c *cluster) kubectl(stdin []byte, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, "kubectl"), append([]string{"--kubeconfig", c.kubeconfig("admin")}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *cluster) apply(objs []any) {
	c.t.Helper()
	var items []json.RawMessage
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			c.t.Fatal(err)
		}
		items = append(items, b)
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	c.kubectl(b, "create", "-f", "-")
}

// meshdoctor runs the CLI and returns stdout, stderr and the exit status.
func meshdoctor(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

type traceJSON struct {
	Result      string   `json:"result"`
	Security    string   `json:"security"`
	Cause       string   `json:"cause"`
	HTTPStatus  int      `json:"http_status"`
	Assumptions []string `json:"assumptions"`
	Hops        []struct {
		Step    string `json:"step"`
		Status  string `json:"status"`
		Detail  string `json:"detail"`
		Objects []struct {
			Kind      string `json:"kind"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
			Field     string `json:"field"`
		} `json:"objects"`
	} `json:"hops"`
}

func decodeTrace(t *testing.T, out string) traceJSON {
	t.Helper()
	var tr traceJSON
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("trace output is not JSON: %v\n%s", err, out)
	}
	return tr
}

// seedExample creates the example's objects (rendered by the loader), the
// namespaces they live in, and for each Deployment its Pods with a status,
// as the controllers and the sidecar injector would have.
func seedExample(t *testing.T, c *cluster, root string) {
	crds, err := os.ReadFile(istioCRDs(t))
	if err != nil {
		t.Fatal(err)
	}
	c.kubectl(crds, "apply", "-f", "-")
	c.kubectl(nil, "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
	// Discovery of the new groups can lag the Established condition.
	for i := 0; i < 50 && !strings.Contains(c.kubectl(nil, "api-resources", "--api-group=security.istio.io"), "authorizationpolicies"); i++ {
		time.Sleep(100 * time.Millisecond)
	}

	res := load.Load(load.Options{Kustomizations: []string{filepath.Join(root, example)}})
	if len(res.Errors) > 0 {
		t.Fatalf("example: %v", res.Errors)
	}
	nsSeen := map[string]bool{}
	var namespaces, rest []any
	var deployments []*appsv1.Deployment
	for _, o := range res.Objects {
		if o.Kind == "Namespace" {
			nsSeen[o.Name] = true
			namespaces = append(namespaces, o.Typed)
			continue
		}
		rest = append(rest, o.Typed)
		if d, ok := o.Typed.(*appsv1.Deployment); ok {
			deployments = append(deployments, d)
		}
	}
	for _, o := range res.Objects {
		if o.Namespace != "" && !nsSeen[o.Namespace] {
			nsSeen[o.Namespace] = true
			namespaces = append(namespaces, &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: objectMeta("", o.Namespace)})
		}
	}
	c.apply(namespaces)
	c.apply(rest)

	// Pods owned by their Deployment (so the engine counts them through the
	// Deployment, as it does in files), with the istio-proxy container where
	// the namespace asks for injection, and a Running, Ready status.
	injected := map[string]bool{}
	for _, o := range res.Objects {
		if ns, ok := o.Typed.(*corev1.Namespace); ok && ns.Labels["istio-injection"] == "enabled" {
			injected[ns.Name] = true
		}
	}
	ip := 10
	for _, d := range deployments {
		uid := strings.TrimSpace(c.kubectl(nil, "get", "deployment", "-n", d.Namespace, d.Name, "-o", "jsonpath={.metadata.uid}"))
		n := 1
		if d.Spec.Replicas != nil {
			n = int(*d.Spec.Replicas)
		}
		for i := 0; i < n; i++ {
			p := &corev1.Pod{TypeMeta: typeMeta("v1", "Pod"), ObjectMeta: d.Spec.Template.ObjectMeta, Spec: *d.Spec.Template.Spec.DeepCopy()}
			p.Name = fmt.Sprintf("%s-%d", d.Name, i)
			p.Namespace = d.Namespace
			p.OwnerReferences = nil
			p.Labels = map[string]string{}
			for k, v := range d.Spec.Template.Labels {
				p.Labels[k] = v
			}
			p.ObjectMeta.OwnerReferences = append(p.ObjectMeta.OwnerReferences, ownerRef(d.Name, uid))
			if injected[d.Namespace] && d.Spec.Template.Labels["sidecar.istio.io/inject"] != "false" {
				inject(p)
			}
			c.apply([]any{p})
			ip++
			c.setStatus(p.Namespace, p.Name, fmt.Sprintf("10.1.0.%d", ip), true)
		}
	}
}

// inject does to a pod what the sidecar injector does to it at creation
// (injection-template.yaml): the istio-proxy container, the tlsMode label
// that auto mTLS reads on the endpoint, and the status annotation.
func inject(p *corev1.Pod) {
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.32.0"})
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	if _, ok := p.Labels["security.istio.io/tlsMode"]; !ok {
		p.Labels["security.istio.io/tlsMode"] = "istio"
	}
	p.Annotations = map[string]string{}
	for k, v := range p.ObjectMeta.Annotations {
		p.Annotations[k] = v
	}
	p.Annotations["sidecar.istio.io/status"] = `{"containers":["istio-proxy"]}`
}

// setStatus gives a pod the status the kubelet would report.
func (c *cluster) setStatus(ns, name, ip string, ready bool) {
	r := "False"
	if ready {
		r = "True"
	}
	status := fmt.Sprintf(`{"status":{"phase":"Running","podIP":%q,"podIPs":[{"ip":%q}],"conditions":[{"type":"Ready","status":%q}]}}`, ip, ip, r)
	c.kubectl(nil, "patch", "pod", "-n", ns, name, "--subresource=status", "--type=merge", "-p", status)
}

// istioCRDs is Istio's CRD file in the istio.io/api module of go.mod.
func istioCRDs(t *testing.T) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "istio.io/api").Output()
	if err != nil {
		t.Fatalf("go list istio.io/api: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "kubernetes", "customresourcedefinitions.gen.yaml")
}

// applyRBAC binds docs/rbac.yaml's ClusterRole to the reader, and a copy of
// it without authorizationpolicies to the second user.
func applyRBAC(t *testing.T, c *cluster, root string) {
	data, err := os.ReadFile(filepath.Join(root, "docs", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c.kubectl(data, "apply", "-f", "-")
	c.kubectl(nil, "create", "clusterrolebinding", "reader", "--clusterrole=meshdoctor", "--user="+readerUser)

	var role map[string]any
	for _, doc := range strings.Split(string(data), "\n---") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err == nil && m["kind"] == "ClusterRole" {
			role = m
		}
	}
	if role == nil {
		t.Fatal("docs/rbac.yaml has no ClusterRole")
	}
	role["metadata"] = map[string]any{"name": "meshdoctor-no-authz"}
	removed := false
	for _, r := range role["rules"].([]any) {
		rule := r.(map[string]any)
		var keep []any
		for _, res := range rule["resources"].([]any) {
			if res == "authorizationpolicies" {
				removed = true
				continue
			}
			keep = append(keep, res)
		}
		rule["resources"] = keep
	}
	if !removed {
		t.Fatal("docs/rbac.yaml does not grant authorizationpolicies")
	}
	b, _ := json.Marshal(role)
	c.kubectl(b, "apply", "-f", "-")
	c.kubectl(nil, "create", "clusterrolebinding", "no-authz", "--clusterrole=meshdoctor-no-authz", "--user="+noAuthzUser)
}

func TestLiveCluster(t *testing.T) {
	root := repoRoot(t)
	c := startCluster(t)
	applyRBAC(t, c, root)
	seedExample(t, c, root)

	// The files trace of the incident, and the same trace read from the cluster.
	fout, ferr, fcode := meshdoctor(t, "-k", filepath.Join(root, example), "-o", "json", "trace", traceFrom, traceTo)
	lout, lerr, lcode := meshdoctor(t, "--kube", "--kubeconfig", c.kubeconfig(readerUser), "-o", "json", "trace", traceFrom, traceTo)
	ft, lt := decodeTrace(t, fout), decodeTrace(t, lout)
	t.Logf("files: exit %d %s %s; live: exit %d %s %s", fcode, ft.Result, ft.Cause, lcode, lt.Result, lt.Cause)
	if lerr != "" {
		t.Errorf("live run wrote to stderr:\n%s", lerr)
	}
	_ = ferr
	if fcode != lcode || ft.Result != lt.Result || ft.Cause != lt.Cause || ft.HTTPStatus != lt.HTTPStatus {
		t.Errorf("live (%d %s %s %d) differs from files (%d %s %s %d)", lcode, lt.Result, lt.Cause, lt.HTTPStatus, fcode, ft.Result, ft.Cause, ft.HTTPStatus)
	}
	if ft.Cause != "PORT_NOT_LISTENING" {
		t.Errorf("files cause = %s, want the incident's PORT_NOT_LISTENING", ft.Cause)
	}
	if len(ft.Hops) != len(lt.Hops) {
		t.Fatalf("hops: live %d, files %d", len(lt.Hops), len(ft.Hops))
	}
	for i := range ft.Hops {
		f, l := ft.Hops[i], lt.Hops[i]
		if f.Step != l.Step || f.Status != l.Status {
			t.Errorf("hop %d: live %s/%s, files %s/%s\n  live:  %s\n  files: %s", i, l.Step, l.Status, f.Step, f.Status, l.Detail, f.Detail)
		}
	}

	// Files layered on top of the cluster replace the cluster's objects.
	out, errOut, code := meshdoctor(t, "--kube", "--kubeconfig", c.kubeconfig(readerUser), "-k", filepath.Join(root, example), "-o", "json", "trace", traceFrom, traceTo)
	if code != fcode || decodeTrace(t, out).Cause != ft.Cause {
		t.Errorf("cluster+files: exit %d, cause %s; stderr %s", code, decodeTrace(t, out).Cause, errOut)
	}
	// The files' workloads replace the cluster's: their pods are predicted
	// from the files (a rollout would replace the running ones), and said so.
	if as := strings.Join(decodeTrace(t, out).Assumptions, "\n"); !strings.Contains(as, "workloads from files replace the cluster's objects (") {
		t.Errorf("cluster+files: the trace does not say the running pods are not used: %q", as)
	}

	// A user that may not list AuthorizationPolicies: a warning, an answer,
	// and the answer states what it assumes.
	nout, nerr, ncode := meshdoctor(t, "--kube", "--kubeconfig", c.kubeconfig(noAuthzUser), "-o", "json", "trace", traceFrom, traceTo)
	if !strings.Contains(nerr, "warning: cluster: AuthorizationPolicy not read: forbidden") || !strings.Contains(nerr, `User "`+noAuthzUser+`" cannot list resource "authorizationpolicies"`) {
		t.Errorf("no warning for forbidden AuthorizationPolicies; stderr:\n%s", nerr)
	}
	t.Logf("user without authorizationpolicies: %s", strings.TrimSpace(nerr))
	nt := decodeTrace(t, nout)
	if ncode != lcode || nt.Cause != lt.Cause {
		t.Errorf("without authz: exit %d cause %s, want %d %s", ncode, nt.Cause, lcode, lt.Cause)
	}
	if !strings.Contains(strings.Join(nt.Assumptions, "\n"), "AuthorizationPolicy objects could not be read from the cluster") {
		t.Errorf("the answer does not state the unread AuthorizationPolicies: %q", nt.Assumptions)
	}

	liveOnly(t, c)

	// Scale: extra Services, then one timed load as the reader.
	n := 1000
	if s := os.Getenv("MESHDOCTOR_KUBE_SERVICES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	c.kubectl(nil, "create", "namespace", "bulk")
	for start := 0; start < n; start += 500 {
		var svcs []any
		for i := start; i < n && i < start+500; i++ {
			svcs = append(svcs, &corev1.Service{TypeMeta: typeMeta("v1", "Service"), ObjectMeta: objectMeta("bulk", fmt.Sprintf("svc-%05d", i)),
				Spec: corev1.ServiceSpec{ClusterIP: "None", Selector: map[string]string{"app": fmt.Sprintf("a%d", i)}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})
		}
		c.apply(svcs)
	}
	cfg := &rest.Config{Host: c.server, BearerToken: readerToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	t0 := time.Now()
	res, err := kube.Load(context.Background(), kube.Options{Config: cfg})
	took := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	services := 0
	for _, o := range res.Objects {
		if o.Kind == "Service" {
			services++
		}
	}
	if services < n {
		t.Errorf("read %d services, created %d", services, n)
	}
	t.Logf("kube.Load: %d objects (%d services) in %s, %d requests", len(res.Objects), services, took.Round(time.Millisecond), res.Requests)
	t0 = time.Now()
	_, _, code = meshdoctor(t, "--kube", "--kubeconfig", c.kubeconfig(readerUser), "-o", "json", "trace", traceFrom, traceTo)
	t.Logf("meshdoctor --kube trace with %d services: %s (exit %d)", services, time.Since(t0).Round(time.Millisecond), code)

	// The audit log: meshdoctor's users only read, and never Secrets.
	checkAudit(t, c.audit)

	// A stopped server fails fast with a clear message and exit 2.
	_ = c.api.Process.Kill()
	_ = c.api.Wait()
	t0 = time.Now()
	_, serr, scode := meshdoctor(t, "--kube", "--kubeconfig", c.kubeconfig(readerUser), "--request-timeout", "5s", "trace", traceFrom, traceTo)
	if scode != 2 || !strings.Contains(serr, "cannot reach the cluster at "+c.server) {
		t.Errorf("stopped server: exit %d, stderr %q", scode, serr)
	}
	if d := time.Since(t0); d > 6*time.Second {
		t.Errorf("stopped server: took %s", d)
	}
	t.Logf("stopped server: %s in %s", strings.TrimSpace(serr), time.Since(t0).Round(time.Millisecond))
}

func checkAudit(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	verbs := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev struct {
			Verb       string `json:"verb"`
			RequestURI string `json:"requestURI"`
			User       struct {
				Username string `json:"username"`
			} `json:"user"`
			ObjectRef *struct {
				Resource string `json:"resource"`
			} `json:"objectRef"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit log: %v", err)
		}
		if ev.User.Username != readerUser && ev.User.Username != noAuthzUser {
			continue
		}
		verbs[ev.Verb]++
		switch ev.Verb {
		case "get", "list", "watch":
		default:
			t.Errorf("audit: %s issued %s %s", ev.User.Username, ev.Verb, ev.RequestURI)
		}
		if ev.ObjectRef != nil && ev.ObjectRef.Resource == "secrets" {
			t.Errorf("audit: %s touched secrets: %s", ev.User.Username, ev.RequestURI)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if verbs["list"] == 0 {
		t.Fatalf("audit: no list by meshdoctor's users: the audit check would prove nothing (%v)", verbs)
	}
	t.Logf("audit: meshdoctor's users issued %v", verbs)
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}

func ownerRef(deployment, uid string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: deployment, UID: types.UID(uid)}
}

// liveOnly asserts what only a cluster can tell, in a namespace "live" with
// istio-injection=enabled: a pod that is not Ready is no endpoint (and with
// no Ready pod the Service has none), and a pod created without istio-proxy
// where the namespace now asks for injection needs a restart (MD0201).
func liveOnly(t *testing.T, c *cluster) {
	const ns = "live"
	c.apply([]any{&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"istio-injection": "enabled"}}}})
	tpl := func(app string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: app + ":1", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}}
	}
	var objs []any
	for _, app := range []string{"client", "api", "legacy"} {
		objs = append(objs, &appsv1.Deployment{TypeMeta: typeMeta("apps/v1", "Deployment"), ObjectMeta: objectMeta(ns, app),
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, Template: tpl(app)}})
	}
	objs = append(objs, &corev1.Service{TypeMeta: typeMeta("v1", "Service"), ObjectMeta: objectMeta(ns, "api"),
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "api"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}})
	// api's pods belong to a ReplicaSet owned by the Deployment; legacy's
	// ReplicaSet is not in the cluster (found by the pod-template-hash rule).
	ctrl := true
	for _, app := range []string{"client", "api"} {
		objs = append(objs, &appsv1.ReplicaSet{TypeMeta: typeMeta("apps/v1", "ReplicaSet"),
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app + "-7c9d", OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: app, UID: types.UID(app + "-uid"), Controller: &ctrl}}},
			Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, Template: tpl(app)}})
	}
	c.apply(objs)
	pod := func(app, name string, proxy, ready bool, ip string) {
		tp := tpl(app)
		p := &corev1.Pod{TypeMeta: typeMeta("v1", "Pod"), ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels:          map[string]string{"app": app, "pod-template-hash": "7c9d"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: app + "-7c9d", UID: types.UID(app + "-rs-uid"), Controller: &ctrl}}},
			Spec: tp.Spec}
		if proxy {
			inject(p)
		}
		c.apply([]any{p})
		c.setStatus(ns, name, ip, ready)
	}
	pod("client", "client-7c9d-a", true, true, "10.2.0.1")
	pod("api", "api-7c9d-a", true, true, "10.2.0.2")
	pod("api", "api-7c9d-b", true, false, "10.2.0.3")
	pod("legacy", "legacy-7c9d-a", false, true, "10.2.0.4") // created before the namespace label

	trace := func() traceJSON {
		t.Helper()
		out, errOut, _ := meshdoctor(t, "--kube", "--kubeconfig", c.kubeconfig(readerUser), "-o", "json", "trace", ns+"/client", "http://api."+ns+"/")
		if errOut != "" {
			t.Errorf("trace wrote to stderr: %s", errOut)
		}
		return decodeTrace(t, out)
	}
	endpoints := func(tr traceJSON) (string, string, map[string]string) {
		pods := map[string]string{}
		for _, h := range tr.Hops {
			if h.Step == "endpoints" {
				for _, o := range h.Objects {
					if o.Kind == "Pod" {
						pods[o.Name] = o.Field
					}
				}
				return h.Status, h.Detail, pods
			}
		}
		t.Fatalf("no endpoints hop in %+v", tr.Hops)
		return "", "", nil
	}

	// One Ready and one not-Ready pod: the request works over the Ready one;
	// the not-Ready pod is named as no endpoint.
	tr := trace()
	status, _, pods := endpoints(tr)
	t.Logf("live: api with one Ready pod: %s %s, endpoints hop %s, pods %v", tr.Result, tr.Security, status, pods)
	if tr.Result != "ok" || tr.Security != "mtls" || status != "ok" || pods["api-7c9d-a"] != "status.podIP" || pods["api-7c9d-b"] != "status" {
		t.Errorf("one Ready pod: result %s security %s, endpoints %s, pods %v", tr.Result, tr.Security, status, pods)
	}
	// Scale the ready set to zero: no endpoints, 503 no healthy upstream.
	c.setStatus(ns, "api-7c9d-a", "10.2.0.2", false)
	tr = trace()
	status, detail, _ := endpoints(tr)
	t.Logf("live: api with no Ready pod: %s %s %d; %s", tr.Result, tr.Cause, tr.HTTPStatus, detail)
	if tr.Cause != "NO_ENDPOINTS" || status != "fail" || !strings.Contains(detail, "api-7c9d-a (not Ready), api-7c9d-b (not Ready)") {
		t.Errorf("no Ready pod: cause %s, endpoints %s: %s", tr.Cause, status, detail)
	}

	// check: restart-needed for the legacy pod, and for no pod of the example.
	out, errOut, _ := meshdoctor(t, "--kube", "--kubeconfig", c.kubeconfig(readerUser), "-o", "json", "check", "--no-fixes")
	var res struct {
		Findings []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Object  struct {
				Kind, Namespace, Name string
			} `json:"object"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("check output is not JSON: %v\n%s\n%s", err, out, errOut)
	}
	var restart []string
	for _, f := range res.Findings {
		if f.Code == "MD0201" {
			restart = append(restart, f.Object.Kind+" "+f.Object.Namespace+"/"+f.Object.Name)
			t.Logf("live: MD0201 %s", f.Message)
		}
	}
	if strings.Join(restart, ",") != "Pod live/legacy-7c9d-a" {
		t.Errorf("restart-needed findings: %v, want only Pod live/legacy-7c9d-a", restart)
	}
}
