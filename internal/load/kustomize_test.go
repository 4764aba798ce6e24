package load

import (
	"fmt"
	"strings"
	"testing"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestKustomizeOverlay renders testdata/kustomize/overlay (namePrefix, the
// namespace transformer, a patch, a configMapGenerator and a secretGenerator
// over a base) in process. Each object points at its source document: the
// "# at:" comments in the base and overlay files, not lines of the rendering.
func TestKustomizeOverlay(t *testing.T) {
	r := Load(Options{Kustomizations: []string{"testdata/kustomize/overlay"}})
	wantNoErrors(t, r)
	if len(r.Warnings) > 0 {
		t.Errorf("warnings %q", errorStrings(r.Warnings))
	}
	checkExpectations(t, r,
		"testdata/kustomize/base/app.yaml",
		"testdata/kustomize/base/peer-authentication.yaml",
		"testdata/kustomize/overlay/destination-rule.yaml",
		"testdata/kustomize/overlay/kustomization.yaml")

	got := map[string]string{}
	for _, o := range r.Objects {
		got[o.Kind+" "+o.Namespace+"/"+o.Name] = o.Pos.String()
		if mo, ok := o.Typed.(interface{ GetAnnotations() map[string]string }); ok && mo.GetAnnotations()[originAnnotation] != "" {
			t.Errorf("%s keeps kustomize's origin annotation", o.Key())
		}
		if o.Origin == "" {
			t.Errorf("%s has no origin", o.Key())
		}
	}
	want := map[string]string{
		"Service titanium-prod/prod-blog":                       "testdata/kustomize/base/app.yaml:2",
		"Deployment titanium-prod/prod-blog":                    "testdata/kustomize/base/app.yaml:14",
		"PeerAuthentication titanium-prod/prod-blog":            "testdata/kustomize/base/peer-authentication.yaml:1",
		"DestinationRule titanium-prod/prod-blog":               "testdata/kustomize/overlay/destination-rule.yaml:1",
		"ConfigMap titanium-prod/prod-blog-config-" + cmHash(r): "testdata/kustomize/overlay/kustomization.yaml:11",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("objects:\n got %v\nwant %v", got, want)
	}
	if r.Skipped["v1/Secret"] != 1 || r.Files != 1 || r.Documents != 6 {
		t.Errorf("skipped %v, %d files, %d documents", r.Skipped, r.Files, r.Documents)
	}

	// The patch applied (replicas: 3); the field is not in the source document,
	// so its line is its nearest ancestor's there (spec:), never a line of the
	// rendering.
	var d *appsv1.Deployment
	for _, o := range r.Objects {
		if dd, ok := o.Typed.(*appsv1.Deployment); ok {
			d = dd
			if line := o.Line("spec.replicas"); line != 18 {
				t.Errorf("spec.replicas at line %d, want 18 (spec: in base/app.yaml)", line)
			}
			if o.Origin != "path: ../base/app.yaml" {
				t.Errorf("origin %q", o.Origin)
			}
		}
		if pa, ok := o.Typed.(*securityv1.PeerAuthentication); ok && pa.Spec.PortLevelMtls[8005].GetMode().String() != "PERMISSIVE" {
			t.Errorf("PeerAuthentication port 8005: %v", pa.Spec.PortLevelMtls)
		}
		if cm, ok := o.Typed.(*corev1.ConfigMap); ok && cm.Data["LOG_LEVEL"] != "debug" {
			t.Errorf("ConfigMap data %v", cm.Data)
		}
	}
	if d == nil || d.Spec.Replicas == nil || *d.Spec.Replicas != 3 || d.Namespace != "titanium-prod" {
		t.Errorf("Deployment %+v", d)
	}
}

func cmHash(r *Result) string {
	for _, o := range r.Objects {
		if o.Kind == "ConfigMap" {
			return strings.TrimPrefix(o.Name, "prod-blog-config-")
		}
	}
	return ""
}

// TestKustomizeErrorsPointAtSource: a document kustomize renders but
// meshdoctor cannot decode is reported at its source line.
func TestKustomizeErrorsPointAtSource(t *testing.T) {
	r := Load(Options{Kustomizations: []string{"testdata/kustomize/broken"}})
	want := `testdata/kustomize/broken/policies.yaml:7: PeerAuthentication shop/typo: spec.mtls.mode: unknown value "STRICTT" (want one of UNSET, DISABLE, PERMISSIVE, STRICT)`
	if len(r.Errors) != 1 || r.Errors[0].Error() != want {
		t.Errorf("errors %q\nwant %q", errorStrings(r.Errors), want)
	}
	if len(r.Objects) != 1 || r.Objects[0].Name != "strict" || r.Objects[0].Pos.String() != "testdata/kustomize/broken/policies.yaml:9" {
		t.Errorf("objects %v", names(r))
	}
}

// TestKustomizeSyntaxError: when kustomize cannot render, the kustomization
// fails and the broken file is reported with its line.
func TestKustomizeSyntaxError(t *testing.T) {
	r := Load(Options{Kustomizations: []string{"testdata/kustomize/syntax"}})
	got := errorStrings(r.Errors)
	if len(got) != 2 || !strings.HasPrefix(got[0], "testdata/kustomize/syntax/kustomization.yaml: kustomize: ") ||
		got[1] != "testdata/kustomize/syntax/service.yaml:5: invalid YAML: mapping values are not allowed in this context" {
		t.Errorf("errors %q", got)
	}
}

func TestKustomizeNoKustomization(t *testing.T) {
	r := Load(Options{Kustomizations: []string{"testdata/mixed"}})
	if len(r.Errors) != 1 || r.Errors[0].Error() != "testdata/mixed: no kustomization.yaml, kustomization.yml or Kustomization in this directory" {
		t.Errorf("errors %q", errorStrings(r.Errors))
	}
}

func memFS(t *testing.T, files map[string]string) filesys.FileSystem {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for name, data := range files {
		if err := fs.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return fs
}

// TestKustomizeRemoteRefused: a remote base would make kustomize run git or
// fetch over HTTP; meshdoctor reads local files only.
func TestKustomizeRemoteRefused(t *testing.T) {
	for _, remote := range []string{
		"github.com/example/manifests//base?ref=v1.0.0",
		"https://github.com/example/manifests.git//base",
		"https://example.com/manifest.yaml",
	} {
		var r Result
		kustomizeFS(memFS(t, map[string]string{
			"/app/kustomization.yaml": "resources:\n- service.yaml\n- " + remote + "\n",
			"/app/service.yaml":       fmt.Sprintf(service, "local"),
		}), "/app", &r)
		want := fmt.Sprintf("/app/kustomization.yaml:3: remote resource %q not read: meshdoctor reads local files only", remote)
		if len(r.Errors) != 1 || !strings.HasPrefix(r.Errors[0].Error(), want) {
			t.Errorf("errors %q, want %q...", errorStrings(r.Errors), want)
		}
		if len(r.Objects) != 1 {
			t.Errorf("the local resources still load: %v", names(&r))
		}
	}
}

// TestKustomizeAliasBomb: kustomize expands YAML aliases; a billion laughs
// resource is refused before it does.
func TestKustomizeAliasBomb(t *testing.T) {
	bomb := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a: &a [x,x,x,x,x,x,x,x,x]\n"
	for c := 'b'; c <= 'j'; c++ {
		bomb += fmt.Sprintf("  %c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1)
	}
	var r Result
	kustomizeFS(memFS(t, map[string]string{
		"/app/kustomization.yaml": "resources:\n- lol.yaml\n",
		"/app/lol.yaml":           bomb,
	}), "/app", &r)
	got := errorStrings(r.Errors)
	if len(got) != 2 || !strings.HasPrefix(got[0], "/app/lol.yaml:14: YAML aliases expand this document by more than 100000 nodes") || !strings.HasPrefix(got[1], "/app/kustomization.yaml: kustomize: ") {
		t.Errorf("errors %q", got)
	}
}

// TestKustomizeKeepsBuildMetadata: the user's own buildMetadata stays.
func TestKustomizeKeepsBuildMetadata(t *testing.T) {
	var r Result
	kustomizeFS(memFS(t, map[string]string{
		"/app/kustomization.yaml": "buildMetadata: [managedByLabel]\nresources:\n- service.yaml\n",
		"/app/service.yaml":       fmt.Sprintf(service, "s"),
	}), "/app", &r)
	wantNoErrors(t, &r)
	if len(r.Objects) != 1 || !strings.HasPrefix(r.Objects[0].Typed.(*corev1.Service).Labels["app.kubernetes.io/managed-by"], "kustomize-") {
		t.Fatalf("objects %v", r.Objects)
	}
	if o := r.Objects[0]; o.Pos.String() != "/app/service.yaml:1" || o.Line("spec.selector.app") != 7 {
		t.Errorf("object at %s", o.Pos)
	}
}

// TestKustomizeGeneratorInBase: a generated ConfigMap points at its generator
// entry, in whichever kustomization declared it, and data.KEY at its source.
func TestKustomizeGeneratorInBase(t *testing.T) {
	var r Result
	kustomizeFS(memFS(t, map[string]string{
		"/app/overlay/kustomization.yaml": "namePrefix: p-\nresources:\n- ../base\n",
		"/app/base/kustomization.yaml":    "configMapGenerator:\n- name: istio\n  namespace: istio-system\n  files:\n  - mesh=mesh.yaml\n  literals:\n  - \"meshNetworks=networks: {}\"\n",
		"/app/base/mesh.yaml":             "trustDomain: example.org\n",
	}), "/app/overlay", &r)
	wantNoErrors(t, &r)
	if len(r.Objects) != 1 {
		t.Fatalf("objects %v", names(&r))
	}
	o := r.Objects[0]
	if o.Pos.String() != "/app/base/kustomization.yaml:2" || o.Namespace != "istio-system" || !strings.HasPrefix(o.Name, "p-istio-") {
		t.Errorf("%s at %s", o.Key(), o.Pos)
	}
	for path, want := range map[string]int{"metadata.name": 2, "metadata.namespace": 3, "data.mesh": 5, "data.meshNetworks": 7} {
		if got, _ := o.Fields.Lookup(path); got != want {
			t.Errorf("%s at line %d, want %d", path, got, want)
		}
	}
	if got := o.Typed.(*corev1.ConfigMap).Data["mesh"]; got != "trustDomain: example.org\n" {
		t.Errorf("data.mesh = %q", got)
	}
}
