package kube

import (
	"os"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// docs/rbac.yaml grants exactly what Load asks for: get and list on every
// kind of Kinds, get on the istio ConfigMap by name, nothing else.
func TestRBACMatchesKinds(t *testing.T) {
	data, err := os.ReadFile("../../docs/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	granted := map[string]string{}
	for _, r := range role.Rules {
		verbs := append([]string(nil), r.Verbs...)
		sort.Strings(verbs)
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				key := g + "/" + res
				if len(r.ResourceNames) > 0 {
					key += "/" + strings.Join(r.ResourceNames, ",")
				}
				granted[key] = strings.Join(verbs, ",")
			}
		}
	}
	want := map[string]string{"/configmaps/" + MeshConfigName: "get"}
	for _, k := range Kinds {
		want[k.Group+"/"+k.Resource] = "get,list"
	}
	for k, v := range want {
		if granted[k] != v {
			t.Errorf("%s: granted %q, want %q", k, granted[k], v)
		}
	}
	for k, v := range granted {
		if _, ok := want[k]; !ok {
			t.Errorf("%s (%s) is granted but never read", k, v)
		}
	}
}
