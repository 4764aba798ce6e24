package load

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	apisecurity "istio.io/api/security/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

func decode(t *testing.T, name, data string) *Result {
	t.Helper()
	var r Result
	Decode(name, []byte(data), &r)
	return &r
}

func decodeFile(t *testing.T, file string) *Result {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	Decode(file, data, &r)
	return &r
}

func errorStrings(errs []Error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func wantNoErrors(t *testing.T, r *Result) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %q", errorStrings(r.Errors))
	}
}

// TestPositions pins the line of every field a decision can point at
// ("# at:" comments in testdata/positions).
func TestPositions(t *testing.T) {
	for _, f := range testdataFiles(t, "positions") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := decodeFile(t, f)
			wantNoErrors(t, r)
			if len(r.Warnings) > 0 {
				t.Errorf("warnings: %q", errorStrings(r.Warnings))
			}
			checkExpectations(t, r, f)
		})
	}
}

// TestBadInputs: each broken document gives "file:line: what is wrong" on the
// offending line and is skipped; every other document still loads ("# want",
// "# loaded", "# skipped" comments in testdata/bad).
func TestBadInputs(t *testing.T) {
	for _, f := range testdataFiles(t, "bad") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			checkExpectations(t, decodeFile(t, f), f)
		})
	}
}

func TestJSONPositions(t *testing.T) {
	const doc = `{
  "apiVersion": "security.istio.io/v1",
  "kind": "PeerAuthentication",
  "metadata": {"name": "json", "namespace": "shop"},
  "spec": {
    "mtls": {"mode": "STRICT"},
    "portLevelMtls": {
      "8005": {"mode": "PERMISSIVE"}
    }
  }
}`
	r := decode(t, "pa.json", doc)
	wantNoErrors(t, r)
	o := r.Objects[0]
	for path, want := range map[string]int{"": 1, "metadata.name": 4, "spec.mtls.mode": 6, "spec.portLevelMtls.8005": 8, "spec.portLevelMtls.8005.mode": 8} {
		if got := o.Line(path); got != want {
			t.Errorf("Line(%q) = %d, want %d", path, got, want)
		}
	}
	pa := o.Typed.(*securityv1.PeerAuthentication)
	if pa.Spec.PortLevelMtls[8005].GetMode() != apisecurity.PeerAuthentication_MutualTLS_PERMISSIVE {
		t.Errorf("port 8005 mode = %v", pa.Spec.PortLevelMtls[8005].GetMode())
	}
}

// TestKinds: Istio kinds decode into istio.io/client-go types whatever served
// version names them; Kubernetes kinds into k8s.io/api types.
func TestKinds(t *testing.T) {
	cases := []struct {
		apiVersion, kind string
		want             any
	}{
		{"v1", "Namespace", &corev1.Namespace{}},
		{"v1", "Pod", &corev1.Pod{}},
		{"v1", "Service", &corev1.Service{}},
		{"v1", "ServiceAccount", &corev1.ServiceAccount{}},
		{"v1", "ConfigMap", &corev1.ConfigMap{}},
		{"apps/v1", "Deployment", &appsv1.Deployment{}},
		{"apps/v1", "StatefulSet", &appsv1.StatefulSet{}},
		{"apps/v1", "DaemonSet", &appsv1.DaemonSet{}},
		{"apps/v1", "ReplicaSet", &appsv1.ReplicaSet{}},
		{"batch/v1", "Job", &batchv1.Job{}},
		{"batch/v1", "CronJob", &batchv1.CronJob{}},
	}
	for _, v := range []string{"v1beta1", "v1"} {
		cases = append(cases,
			struct {
				apiVersion, kind string
				want             any
			}{"security.istio.io/" + v, "PeerAuthentication", &securityv1.PeerAuthentication{}},
			struct {
				apiVersion, kind string
				want             any
			}{"security.istio.io/" + v, "AuthorizationPolicy", &securityv1.AuthorizationPolicy{}},
			struct {
				apiVersion, kind string
				want             any
			}{"security.istio.io/" + v, "RequestAuthentication", &securityv1.RequestAuthentication{}},
		)
	}
	for _, v := range []string{"v1alpha3", "v1beta1", "v1"} {
		for kind, want := range map[string]any{
			"DestinationRule": &networkingv1.DestinationRule{},
			"VirtualService":  &networkingv1.VirtualService{},
			"Gateway":         &networkingv1.Gateway{},
			"Sidecar":         &networkingv1.Sidecar{},
			"ServiceEntry":    &networkingv1.ServiceEntry{},
		} {
			cases = append(cases, struct {
				apiVersion, kind string
				want             any
			}{"networking.istio.io/" + v, kind, want})
		}
	}
	for _, c := range cases {
		r := decode(t, "k.yaml", fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: x\n  namespace: ns\n", c.apiVersion, c.kind))
		if len(r.Errors) > 0 || len(r.Objects) != 1 {
			t.Errorf("%s %s: errors %q, %d objects", c.apiVersion, c.kind, errorStrings(r.Errors), len(r.Objects))
			continue
		}
		o := r.Objects[0]
		if reflect.TypeOf(o.Typed) != reflect.TypeOf(c.want) {
			t.Errorf("%s %s decodes into %T, want %T", c.apiVersion, c.kind, o.Typed, c.want)
		}
		wantNS := "ns"
		if c.kind == "Namespace" {
			wantNS = "" // cluster-scoped
		}
		if o.APIVersion != c.apiVersion || o.Kind != c.kind || o.Name != "x" || o.Namespace != wantNS {
			t.Errorf("%s %s: object %+v", c.apiVersion, c.kind, o)
		}
	}
}

func TestIstioValues(t *testing.T) {
	r := decodeFile(t, "testdata/positions/istio.yaml")
	wantNoErrors(t, r)
	pa := r.Objects[0].Typed.(*securityv1.PeerAuthentication)
	if pa.Spec.GetMtls().GetMode() != apisecurity.PeerAuthentication_MutualTLS_STRICT ||
		pa.Spec.PortLevelMtls[8005].GetMode() != apisecurity.PeerAuthentication_MutualTLS_PERMISSIVE ||
		pa.Spec.PortLevelMtls[9000].GetMode() != apisecurity.PeerAuthentication_MutualTLS_DISABLE {
		t.Errorf("PeerAuthentication spec = %v", pa.Spec.String())
	}
	dr := r.Objects[1].Typed.(*networkingv1.DestinationRule)
	if got := dr.Spec.GetTrafficPolicy().GetTls().GetMode().String(); got != "ISTIO_MUTUAL" {
		t.Errorf("DestinationRule tls mode = %s", got)
	}
	ap := r.Objects[2].Typed.(*securityv1.AuthorizationPolicy)
	if got := ap.Spec.GetRules()[0].GetFrom()[0].GetSource().GetPrincipals(); len(got) != 2 {
		t.Errorf("principals = %v", got)
	}
}

func TestEmptyInputs(t *testing.T) {
	for _, in := range []string{"", "\n", "   \n\n", "---\n", "---\n---\n", "# only a comment\n", "---\n# c\n---\n", "null\n", "~\n", "--- null\n", "\xef\xbb\xbf", "\xef\xbb\xbf\n---\n"} {
		r := decode(t, "empty.yaml", in)
		if len(r.Errors) > 0 || len(r.Objects) > 0 || r.Documents != 0 || r.Files != 1 {
			t.Errorf("%q: errors %q, %d objects, %d documents, %d files", in, errorStrings(r.Errors), len(r.Objects), r.Documents, r.Files)
		}
	}
}

const service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n  selector:\n    app: x\n"

func TestBOM(t *testing.T) {
	r := decode(t, "bom.yaml", "\xef\xbb\xbf"+fmt.Sprintf(service, "a")+"---\n"+fmt.Sprintf(service, "b"))
	wantNoErrors(t, r)
	if len(r.Objects) != 2 || r.Objects[0].Pos.Line != 1 || r.Objects[1].Line("spec.selector") != 14 {
		t.Fatalf("objects %v", r.Objects)
	}
}

func TestUTF16(t *testing.T) {
	for _, bigEndian := range []bool{false, true} {
		src := fmt.Sprintf(service, "wide") + "  ports:\n  - port: 80\n"
		var b bytes.Buffer
		if bigEndian {
			b.WriteString("\xfe\xff")
		} else {
			b.WriteString("\xff\xfe")
		}
		for _, c := range src {
			if bigEndian {
				b.Write([]byte{0, byte(c)})
			} else {
				b.Write([]byte{byte(c), 0})
			}
		}
		r := decode(t, "utf16.yaml", b.String())
		wantNoErrors(t, r)
		if len(r.Objects) != 1 || r.Objects[0].Name != "wide" || r.Objects[0].Line("spec.ports[0].port") != 9 {
			t.Errorf("big endian %v: objects %v", bigEndian, r.Objects)
		}
	}
}

func TestCRLF(t *testing.T) {
	doc := strings.ReplaceAll(fmt.Sprintf(service, "a")+"---\n"+"apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: p\nspec:\n  mtls:\n    mode: STRICTT\n", "\n", "\r\n")
	r := decode(t, "crlf.yaml", doc)
	if len(r.Objects) != 1 || r.Objects[0].Name != "a" || r.Objects[0].Line("spec.selector.app") != 7 {
		t.Fatalf("objects %v", r.Objects)
	}
	if len(r.Errors) != 1 || r.Errors[0].Line != 15 {
		t.Fatalf("errors %q, want one at line 15", errorStrings(r.Errors))
	}
	if strings.Contains(r.Objects[0].Name, "\r") {
		t.Errorf("name %q keeps the CR", r.Objects[0].Name)
	}
}

// TestRareLineBreaks: YAML also breaks lines at a lone CR, NEL, LS and PS;
// positions still count lines as editors do (at LF).
func TestRareLineBreaks(t *testing.T) {
	// A lone CR ends a YAML line, not a file line: the whole file is one line.
	r := decode(t, "cr.yaml", strings.ReplaceAll(fmt.Sprintf(service, "a"), "\n", "\r"))
	wantNoErrors(t, r)
	if len(r.Objects) != 1 || r.Objects[0].Line("spec.selector.app") != 1 {
		t.Fatalf("objects %v", r.Objects)
	}
	// An error after a lone CR is on the file line of its LF-counted position.
	r = decode(t, "cr.yaml", "apiVersion: v1\rkind: Service\n\nmetadata:\r  name: [\r")
	if len(r.Errors) != 1 || r.Errors[0].Line != 3 {
		t.Fatalf("errors %q, want one at line 3", errorStrings(r.Errors))
	}
	// NEL (U+0085) inside a double-quoted value.
	r = decode(t, "nel.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nel\ndata:\n  a: \"x\u0085y\"\n  b: c\n")
	wantNoErrors(t, r)
	if got := r.Objects[0].Line("data.b"); got != 7 {
		t.Errorf("data.b at line %d, want 7", got)
	}
}

func TestTabs(t *testing.T) {
	r := decode(t, "tabs.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n\tselector: {}\n")
	if len(r.Errors) != 1 || r.Errors[0].Error() != "tabs.yaml:6: invalid YAML: a tab indents this line; YAML allows only spaces for indentation" {
		t.Fatalf("errors %q", errorStrings(r.Errors))
	}
	// Tabs are fine as JSON whitespace.
	r = decode(t, "tabs.json", "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Service\",\n\t\"metadata\": {\n\t\t\"name\": \"a\"\n\t}\n}\n")
	wantNoErrors(t, r)
	if len(r.Objects) != 1 || r.Objects[0].Line("metadata.name") != 5 {
		t.Fatalf("objects %v", r.Objects)
	}
}

// TestAnchors: anchors, aliases and merge keys give the values YAML defines.
func TestAnchors(t *testing.T) {
	r := decodeFile(t, "testdata/positions/anchors.yaml")
	wantNoErrors(t, r)
	d := r.Objects[0].Typed.(*appsv1.Deployment)
	if got := d.Spec.Selector.MatchLabels; !reflect.DeepEqual(got, map[string]string{"app": "anchored", "tier": "web"}) {
		t.Errorf("selector = %v", got)
	}
	if got := d.Spec.Template.Labels; !reflect.DeepEqual(got, map[string]string{"app": "anchored", "tier": "frontend", "version": "v2"}) {
		t.Errorf("template labels = %v (a key written in the mapping wins over a merged one)", got)
	}
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 2 || cs[0].Name != "main" || cs[1].Name != "sidecar" || cs[1].Image != "example/app:1" || !reflect.DeepEqual(cs[1].Args, []string{"--port=8080", "--verbose"}) {
		t.Errorf("containers = %+v", cs)
	}
	// Merge order: an earlier merged mapping wins over a later one.
	r = decode(t, "m.yaml", "a: &a {x: 1}\nb: &b {x: 2, y: 2}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata:\n  <<: [*a, *b]\n  z: \"3\"\n")
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Msg, "data.x: expected a string, got the number 1") {
		t.Fatalf("errors %q", errorStrings(r.Errors))
	}
}

// TestYAML11Scalars: plain scalars are read as kubectl reads them.
func TestYAML11Scalars(t *testing.T) {
	r := decode(t, "s.yaml", `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostNetwork: yes
  automountServiceAccountToken: off
  volumes:
  - name: v
    configMap: {name: c, defaultMode: 0644}
  containers:
  - name: c
    ports: [{containerPort: 0x1F90}]
    env: [{name: A, value: "yes"}]
`)
	wantNoErrors(t, r)
	p := r.Objects[0].Typed.(*corev1.Pod)
	if !p.Spec.HostNetwork || p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken {
		t.Errorf("booleans: hostNetwork %v, automount %v", p.Spec.HostNetwork, p.Spec.AutomountServiceAccountToken)
	}
	if m := p.Spec.Volumes[0].ConfigMap.DefaultMode; m == nil || *m != 0o644 {
		t.Errorf("defaultMode = %v, want 420 (octal 0644)", m)
	}
	if got := p.Spec.Containers[0].Ports[0].ContainerPort; got != 8080 {
		t.Errorf("containerPort = %d, want 8080", got)
	}
	if got := p.Spec.Containers[0].Env[0].Value; got != "yes" {
		t.Errorf("quoted yes = %q", got)
	}
}

// TestBillionLaughs: a document whose aliases expand exponentially fails at
// once, in bounded memory, with an error on the alias that expands the most.
func TestBillionLaughs(t *testing.T) {
	data, err := os.ReadFile("testdata/bad/billion-laughs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	run := func() {
		r = Result{}
		Decode("lol.yaml", data, &r)
	}
	allocs := testing.AllocsPerRun(5, run)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	run()
	runtime.ReadMemStats(&after)
	bytesAllocated := after.TotalAlloc - before.TotalAlloc
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Msg, "billion laughs") || r.Errors[0].Line != 15 {
		t.Fatalf("errors %q", errorStrings(r.Errors))
	}
	// Expanded, the document has 387 million nodes. Refusing it costs a few
	// thousand allocations and well under a megabyte.
	if allocs > 5000 || bytesAllocated > 1<<20 {
		t.Errorf("refusing the document took %.0f allocations and %d bytes", allocs, bytesAllocated)
	}
	t.Logf("%.0f allocations, %d bytes", allocs, bytesAllocated)

	// The same with merge keys, which expand as much.
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: merge-laughs}\nl0: &l0 {a: 1, b: 2}\n")
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&b, "l%d: &l%d\n  <<: [", i, i)
		for j := 0; j < 8; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		fmt.Fprintf(&b, "]\n  k%d: v\n", i)
	}
	r = Result{}
	Decode("merge.yaml", []byte(b.String()), &r)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Msg, "billion laughs") {
		t.Fatalf("merge laughs: errors %q", errorStrings(r.Errors))
	}
}

// TestDeepNesting: field paths grow with the square of the depth; a document
// nested beyond MaxDepth is refused.
func TestDeepNesting(t *testing.T) {
	const depth = 5000
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: " + strings.Repeat("{a: ", depth) + "x" + strings.Repeat("}", depth) + "\n"
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := decode(t, "deep.yaml", doc)
	runtime.ReadMemStats(&after)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Msg, "nest more than 200 levels") || r.Errors[0].Line != 4 {
		t.Fatalf("errors %q", errorStrings(r.Errors))
	}
	if b := after.TotalAlloc - before.TotalAlloc; b > 64<<20 {
		t.Errorf("allocated %d bytes", b)
	}
}

// TestLongLine: a 5 MB value on one line.
func TestLongLine(t *testing.T) {
	value := strings.Repeat("0123456789abcdef", 5<<20/16)
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: " + value + "\n  after: x\n---\n" + fmt.Sprintf(service, "next")
	r := decode(t, "long.yaml", doc)
	wantNoErrors(t, r)
	if len(r.Objects) != 2 {
		t.Fatalf("%d objects", len(r.Objects))
	}
	cm := r.Objects[0].Typed.(*corev1.ConfigMap)
	if len(cm.Data["blob"]) != len(value) || r.Objects[0].Line("data.blob") != 6 || r.Objects[0].Line("data.after") != 7 {
		t.Errorf("blob of %d bytes at line %d", len(cm.Data["blob"]), r.Objects[0].Line("data.blob"))
	}
	if got := r.Objects[1].Line("spec.selector"); got != 14 {
		t.Errorf("next document's selector at line %d, want 14", got)
	}
}

// realisticStream is a multi-document stream like the manifests of a small
// mesh: per service a Deployment, a Service, a DestinationRule, a
// PeerAuthentication and an AuthorizationPolicy.
func realisticStream(services int) []byte {
	var b bytes.Buffer
	for i := 0; i < services; i++ {
		fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-%[1]d
  namespace: ns-%[2]d
  labels: {app: svc-%[1]d, version: v1}
spec:
  replicas: 2
  selector:
    matchLabels: {app: svc-%[1]d}
  template:
    metadata:
      labels: {app: svc-%[1]d, version: v1}
      annotations:
        sidecar.istio.io/inject: "true"
    spec:
      serviceAccountName: svc-%[1]d
      containers:
      - name: app
        image: registry.example.com/svc-%[1]d:1.2.3
        args: [serve, --port=8080, --log-level=info]
        ports:
        - {name: http, containerPort: 8080}
        resources:
          limits: {cpu: 500m, memory: 256Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: svc-%[1]d
  namespace: ns-%[2]d
spec:
  selector: {app: svc-%[1]d}
  ports:
  - {name: http, port: 80, targetPort: 8080}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: svc-%[1]d
  namespace: ns-%[2]d
spec:
  host: svc-%[1]d.ns-%[2]d.svc.cluster.local
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    connectionPool:
      tcp: {connectTimeout: 5s}
  subsets:
  - name: v1
    labels: {version: v1}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: svc-%[1]d
  namespace: ns-%[2]d
spec:
  selector:
    matchLabels: {app: svc-%[1]d}
  mtls: {mode: STRICT}
  portLevelMtls:
    8080: {mode: PERMISSIVE}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: svc-%[1]d
  namespace: ns-%[2]d
spec:
  selector:
    matchLabels: {app: svc-%[1]d}
  action: ALLOW
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account]
    to:
    - operation: {ports: ["8080"], methods: [GET]}
---
`, i, i%10)
	}
	return b.Bytes()
}

// largeBlock is a slice of a large manifest file as they come: a service's
// workload and policies, a CRD with a long schema (skipped) and a ConfigMap
// with a dashboard (about 28 KB).
func largeBlock(i int) []byte {
	var b bytes.Buffer
	b.Write(realisticStream(1))
	text := strings.Repeat("x", 70)
	fmt.Fprintf(&b, "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: w%d.example.com\nspec:\n  group: example.com\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n", i)
	for j := 0; j < 100; j++ {
		fmt.Fprintf(&b, "          field%d:\n            type: string\n            description: %s\n", j, text)
	}
	fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dashboard-%d\ndata:\n  dashboard.json: |\n", i)
	for j := 0; j < 150; j++ {
		fmt.Fprintf(&b, "    {\"panel\": %d, \"title\": \"%s\"}\n", j, text)
	}
	b.WriteString("---\n")
	return b.Bytes()
}

// TestLargeFile: a 50 MB file loads whole, every object with its line. It
// takes several seconds of CPU, so -short skips it.
func TestLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("a 50 MB file takes several seconds; run without -short")
	}
	block := largeBlock(0)
	lines := bytes.Count(block, []byte{'\n'})
	n := 50<<20/len(block) + 1
	path := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		w.Write(block)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	start := time.Now()
	r := Load(Options{Files: []string{path}})
	t.Logf("%d objects from %d MB in %v", len(r.Objects), n*len(block)>>20, time.Since(start))
	wantNoErrors(t, r)
	if len(r.Objects) != 6*n || r.Documents != 7*n || r.Skipped["apiextensions.k8s.io/v1/CustomResourceDefinition"] != n {
		t.Fatalf("%d objects, %d documents, skipped %v; want %d blocks of 6 objects and a CRD", len(r.Objects), r.Documents, r.Skipped, n)
	}
	last := r.Objects[len(r.Objects)-1]
	if want := (n-1)*lines + bytes.Count(block[:bytes.Index(block, []byte("kind: ConfigMap"))], []byte{'\n'}); last.Kind != "ConfigMap" || last.Seq != 6*n-1 || last.Pos.Line != want {
		t.Errorf("last object %s at %s, seq %d; want line %d", last.Key(), last.Pos, last.Seq, want)
	}
}

func TestErrorString(t *testing.T) {
	cases := map[string]Error{
		"a.yaml:3: PeerAuthentication ns/x: spec.mtls.mode: bad": {File: "a.yaml", Line: 3, Object: "PeerAuthentication ns/x", Msg: "spec.mtls.mode: bad"},
		"a.yaml: no such file or directory":                      {File: "a.yaml", Msg: "no such file or directory"},
		"<input>: oops":                                          {Msg: "oops"},
	}
	for want, e := range cases {
		if got := e.Error(); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
}

func TestCounts(t *testing.T) {
	r := decode(t, "c.yaml", "# c\n---\n"+fmt.Sprintf(service, "a")+"---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\nnot: [valid\n---\n---\n")
	if r.Files != 1 || r.Documents != 3 || len(r.Objects) != 1 || len(r.Errors) != 1 || r.Skipped["v1/Secret"] != 1 || r.SkippedTotal() != 1 {
		t.Errorf("files %d, documents %d, objects %d, errors %q, skipped %v", r.Files, r.Documents, len(r.Objects), errorStrings(r.Errors), r.Skipped)
	}
}

// TestFieldsAreTheObjects: objects of one file, and the items of a List, each
// have their own fields.
func TestFieldsAreTheObjects(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, "- apiVersion: v1\n  kind: Service\n  metadata: {name: s%d}\n", i)
	}
	r := decode(t, "l.yaml", b.String())
	wantNoErrors(t, r)
	for i, o := range r.Objects {
		if want := 4 + 3*i; o.Pos.Line != want || o.Line("metadata.name") != want+2 || o.Fields.Len() != 4 {
			t.Errorf("item %d at %d, name at %d, fields %v", i, o.Pos.Line, o.Line("metadata.name"), o.Fields)
		}
	}
}

// TestSyntaxErrorLines: a YAML syntax error is reported on the line of the
// token the parser could not accept (or, at the end of the input, where the
// unclosed quote or bracket opened), counted in the file.
func TestSyntaxErrorLines(t *testing.T) {
	cases := []struct {
		doc  string
		line int
		msg  string
	}{
		{"a: 1\nb:\n  c: 2\n d: 3\n", 4, "did not find expected key"},
		{"metadata:\n  name: a\n - b\n", 3, "did not find expected key"},
		{"{\n \"a\": 1,\n \"b\": 2\n \"c\": 3\n}\n", 4, "did not find expected ',' or '}'"},
		{"{\n \"a\": 1,\n \"b\": [1, 2\n}\n", 4, "did not find expected ',' or ']'"},
		{"a: 1\nb: \"unterminated\nc: 2\n", 2, "found unexpected end of stream"},
		{"a: 1\nb:\n  c: d\n    e: f\n", 4, "mapping values are not allowed in this context"},
		{"x:\n  y:\n    - a\n    b: c\n", 4, "did not find expected '-' indicator"},
		{"a: 1\nb: 2\nc: @x\n", 3, "found character that cannot start any token"},
		{"a: b: c\n", 1, "mapping values are not allowed in this context"},
		{"a: 1\nb: *nowhere\n", 2, "unknown anchor 'nowhere' referenced"},
		{"a: 1\nb: \x01\n", 2, "control characters are not allowed"},
		{"# a comment\n---\n\na: 1\nb:\n  c: d\n    e: f\n", 7, "mapping values are not allowed in this context"},
	}
	for _, c := range cases {
		r := decode(t, "s.yaml", c.doc)
		if len(r.Errors) != 1 || r.Errors[0].Line != c.line || r.Errors[0].Msg != "invalid YAML: "+c.msg {
			t.Errorf("%q: errors %q, want one at line %d: %s", c.doc, errorStrings(r.Errors), c.line, c.msg)
		}
	}
}

func TestAppendPath(t *testing.T) {
	for _, c := range []struct{ path, key string }{{"", "spec"}, {"spec", "mtls"}, {"a[0]", "b"}, {"labels", "app.kubernetes.io/name"}, {"", "a.b"}, {"x", ""}, {"x", `q"uote`}, {"x", "[0]"}, {"", `a\"b`}} {
		if got, want := string(appendKey([]byte(c.path), c.key)), objects.Child(c.path, c.key); got != want {
			t.Errorf("appendKey(%q, %q) = %q, want %q", c.path, c.key, got, want)
		}
	}
	for _, c := range []struct {
		path string
		i    int
	}{{"", 0}, {"spec.rules", 12}, {"a[1]", 3}} {
		if got, want := string(appendIndex([]byte(c.path), c.i)), objects.Index(c.path, c.i); got != want {
			t.Errorf("appendIndex(%q, %d) = %q, want %q", c.path, c.i, got, want)
		}
	}
}

// TestParallelDecode: a large stream is decoded on every CPU, with the same
// result, in the same order, as one by one.
func TestParallelDecode(t *testing.T) {
	defer func(n int) { parallelBytes = n }(parallelBytes)
	parallelBytes = 16 << 10
	var b bytes.Buffer
	for b.Len() < 8*parallelBytes {
		b.Write(realisticStream(50))
		b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: broken}\nspec: {ports: 5}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n")
	}
	summary := func(r *Result) string {
		var s strings.Builder
		for _, o := range r.Objects {
			fmt.Fprintf(&s, "%d %s %s %d\n", o.Seq, o.Key(), o.Pos, o.Fields.Len())
		}
		fmt.Fprintln(&s, errorStrings(r.Errors), r.Skipped, r.Files, r.Documents)
		return s.String()
	}
	prev := runtime.GOMAXPROCS(1)
	var one Result
	Decode("p.yaml", b.Bytes(), &one)
	runtime.GOMAXPROCS(max(prev, 4))
	var many Result
	Decode("p.yaml", b.Bytes(), &many)
	runtime.GOMAXPROCS(prev)
	if len(many.Errors) == 0 || many.SkippedTotal() == 0 {
		t.Fatalf("the stream should have errors and skipped documents")
	}
	if a, b := summary(&one), summary(&many); a != b {
		t.Errorf("parallel decoding differs from sequential decoding")
	}
}

// TestParallelLoad: the files of a walk are decoded on every CPU, with the
// same result, in the same order, as one by one.
func TestParallelLoad(t *testing.T) {
	opts := Options{Files: []string{"testdata/mixed", "testdata/bad", "testdata/missing.yaml", "testdata/positions"}}
	summary := func(r *Result) string {
		var s strings.Builder
		for _, o := range r.Objects {
			fmt.Fprintf(&s, "%d %s %s %s\n", o.Seq, o.Key(), o.Pos, o.Fields)
		}
		fmt.Fprintln(&s, errorStrings(r.Errors), errorStrings(r.Warnings), r.Skipped, r.Files, r.Documents)
		return s.String()
	}
	prev := runtime.GOMAXPROCS(1)
	one := Load(opts)
	runtime.GOMAXPROCS(max(prev, 4))
	many := Load(opts)
	runtime.GOMAXPROCS(prev)
	if len(many.Objects) < 5 || len(many.Errors) < 5 || many.Files < 10 {
		t.Fatalf("%d objects, %d errors, %d files: the test data should load and fail", len(many.Objects), len(many.Errors), many.Files)
	}
	if a, b := summary(one), summary(many); a != b {
		t.Errorf("parallel loading differs from sequential loading:\n%s\nvs\n%s", a, b)
	}
}
