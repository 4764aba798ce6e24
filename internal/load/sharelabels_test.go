package load

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Equal label maps of one object become one map; different ones stay apart
// (a change through one must never reach a map with other labels).
func TestShareLabels(t *testing.T) {
	var r Result
	Decode("d.yaml", []byte(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop, labels: {team: a}}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, version: v1}}
    spec: {containers: [{name: api, image: api}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {selector: {app: web}, ports: [{port: 80}]}
`), &r)
	if len(r.Errors) > 0 || len(r.Objects) != 3 {
		t.Fatalf("%d objects, %v", len(r.Objects), r.Errors)
	}
	same := func(a, b map[string]string) bool {
		if len(a) == 0 || len(b) == 0 {
			return false
		}
		a["\x00probe"] = "x"
		defer delete(a, "\x00probe")
		return b["\x00probe"] == "x"
	}
	web := r.Objects[0].Typed.(*appsv1.Deployment)
	if !same(web.Labels, web.Spec.Template.Labels) || !same(web.Spec.Selector.MatchLabels, web.Spec.Template.Labels) {
		t.Error("web: equal label maps are not shared")
	}
	api := r.Objects[1].Typed.(*appsv1.Deployment)
	if same(api.Labels, api.Spec.Template.Labels) || same(api.Spec.Selector.MatchLabels, api.Spec.Template.Labels) {
		t.Error("api: different label maps are shared")
	}
	svc := r.Objects[2].Typed.(*corev1.Service)
	if !same(svc.Labels, svc.Spec.Selector) {
		t.Error("Service: equal labels and selector are not shared")
	}
}
