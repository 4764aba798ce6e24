package mesh_test

import (
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// A kind that could not be read from a cluster is stated as an assumption.
func TestUnreadKindsAreAssumptions(t *testing.T) {
	x := mesh.Build(nil, mesh.Options{Unread: map[string]string{"AuthorizationPolicy": "forbidden: no list"}})
	s, ok := x.Assumption(mesh.AssumeUnread("AuthorizationPolicy"))
	if !ok || !strings.Contains(s, "AuthorizationPolicy objects could not be read from the cluster (forbidden: no list)") {
		t.Errorf("assumption = %q, %v", s, ok)
	}
	if _, ok := mesh.Build(nil, mesh.Options{}).Assumption(mesh.AssumeUnread("AuthorizationPolicy")); ok {
		t.Error("assumed without --kube")
	}
}
