// Package trace follows one request hop by hop on top of package resolve: the
// client proxy, the route, the destination, the DestinationRule and client TLS,
// the endpoints, the server's inbound mTLS, authorization and the application
// port. It returns the verdict a user would see (result, cause, HTTP status,
// Envoy flags and text), the object that decided each hop, and fixes verified by
// tracing again on the patched mesh. It never touches files or the cluster.
package trace

import (
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Results.
const (
	ResultOK     = "ok"
	ResultFail   = "fail"
	ResultDenied = "denied"
)

// Hop statuses.
const (
	HopOK   = "ok"
	HopFail = "fail"
	HopInfo = "info"
)

// Trace is the answer for one request; its JSON is the stable "trace JSON" of
// SPEC.md.
type Trace struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	Result      string   `json:"result"`
	Security    string   `json:"security"`
	Cause       string   `json:"cause"`
	HTTPStatus  int      `json:"http_status"`
	Envoy       Envoy    `json:"envoy"`
	Hops        []Hop    `json:"hops"`
	Assumptions []string `json:"assumptions"`
	Fixes       []Fix    `json:"fixes"`
	// Summary is one sentence saying why, for the text output.
	Summary string `json:"summary,omitempty"`
	// Service and Port are the Kubernetes Service port the request reached
	// (nil when it failed before, or went to a ServiceEntry host).
	Service *mesh.Service     `json:"-"`
	Port    *mesh.ServicePort `json:"-"`
	// AuthzEvaluated is true when a server's AuthorizationPolicies were
	// evaluated: the only decision that depends on who the client is.
	AuthzEvaluated bool `json:"-"`
}

// Hop is one step of the request.
type Hop struct {
	Step    string        `json:"step"`
	Status  string        `json:"status"`
	Detail  string        `json:"detail"`
	Objects []objects.Ref `json:"objects"`
}

// Fix is a change that turns the trace to ok, verified by tracing again on the
// mesh with the change applied.
type Fix struct {
	Summary string `json:"summary"`
	// Patch is YAML: a whole new object, or a patch of an existing one (strategic
	// merge for Kubernetes kinds, JSON merge for Istio kinds).
	Patch string `json:"patch"`
	// Security says what the fix costs in security ("none" when it costs nothing).
	Security string `json:"security"`
	// Target is the object the fix changes or adds.
	Target objects.Ref `json:"target"`
	// Verified is true when the patched mesh traces ok.
	Verified bool `json:"verified"`
}
