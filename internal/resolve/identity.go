package resolve

import "github.com/meshdoctor/meshdoctor/internal/mesh"

// Identity returns the workload's SPIFFE identity,
// spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>: the URI SAN of the
// certificate its proxy presents (pkg/spiffe/spiffe.go genSpiffeURI). The
// gateway presents the identity of its own pod (ISTIO-SEMANTICS.md §4).
func (e *Engine) Identity(w *mesh.Workload) string {
	if w == nil {
		return ""
	}
	if id, ok := e.sec.ids[w]; ok {
		return id
	}
	id := "spiffe://" + e.Principal(w)
	if e.sec.ids == nil {
		e.sec.ids = map[*mesh.Workload]string{}
	}
	e.sec.ids[w] = id
	return id
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
