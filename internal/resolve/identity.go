package resolve

import "github.com/meshdoctor/meshdoctor/internal/mesh"

// Identity returns the workload's SPIFFE identity,
// spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>: the URI SAN of the
// certificate its proxy presents (pkg/spiffe/spiffe.go genSpiffeURI). The
// gateway presents the identity of its own pod (ISTIO-SEMANTICS.md §4).
func (e *Engine) Identity(w *mesh.Workload) string {
	return "spiffe://" + e.Principal(w)
}

// Principal returns the identity without the spiffe:// prefix, as
// AuthorizationPolicy principals write it
// (<trustDomain>/ns/<namespace>/sa/<serviceAccount>; istio.io
// authorization_policy.proto Source.principals).
func (e *Engine) Principal(w *mesh.Workload) string {
	if w == nil {
		return ""
	}
	sa := w.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	return e.X.Mesh.TrustDomain + "/ns/" + w.Namespace + "/sa/" + sa
}
