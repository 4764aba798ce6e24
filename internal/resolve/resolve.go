// Package resolve is the one place where Istio's semantics live. Every answer it
// gives carries the objects that decided it (kind, namespace, name, file:line,
// field) and the assumptions it rests on, so that trace, check, describe,
// matrix and whatif all read the same decisions and cannot disagree.
//
// Each rule cites the Istio behaviour it implements (source file and function
// of istio/istio, or the istio.io doc) and is pinned by a test.
package resolve

import (
	"sort"
	"strconv"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Decision is the part every answer shares: why, by what, assuming what.
type Decision struct {
	// Reason is one sentence saying why the value is what it is.
	Reason string `json:"reason"`
	// By are the objects (and fields) that decided it, most decisive first.
	By []objects.Ref `json:"by,omitempty"`
	// Assumptions are the defaults or unknowns the value depends on.
	Assumptions []string `json:"assumptions,omitempty"`
}

// Assume adds an assumption once.
func (d *Decision) Assume(s string) {
	for _, a := range d.Assumptions {
		if a == s {
			return
		}
	}
	d.Assumptions = append(d.Assumptions, s)
}

// AssumeKey adds the index's sentence for an assumption key, if that default
// was used.
func (d *Decision) AssumeKey(x *mesh.Index, key string) {
	if s, ok := x.Assumption(key); ok {
		d.Assume(s)
	}
}

// Merge adds the refs and assumptions of o.
func (d *Decision) Merge(o Decision) {
	d.By = append(d.By, o.By...)
	for _, a := range o.Assumptions {
		d.Assume(a)
	}
}

// Engine answers questions about one mesh index. It caches what it computes;
// it is safe for use by one goroutine at a time unless stated otherwise.
type Engine struct {
	X *mesh.Index

	sec securityState // caches of the security decisions (security_state.go)
	rt  routingState  // caches of the routing decisions (routing_state.go)
	pt  pathState     // indexes for classes of clients (classes.go)
}

// New returns an engine over x.
func New(x *mesh.Index) *Engine {
	return &Engine{X: x}
}

// SortedAssumptions returns the assumptions sorted, without duplicates.
func SortedAssumptions(as []string) []string {
	// Sort a copy, then drop neighbours that repeat: no map, one slice (this
	// runs for every path of a mesh).
	return SortAssumptionsInPlace(append([]string(nil), as...))
}

// SortAssumptionsInPlace is SortedAssumptions for a slice the caller owns: it
// sorts and compacts as itself.
func SortAssumptionsInPlace(out []string) []string {
	sort.Strings(out)
	k := 0
	for i, a := range out {
		if i == 0 || a != out[k-1] {
			out[k] = a
			k++
		}
	}
	if k == 0 {
		return nil
	}
	return out[:k:k]
}

// itoa formats a port or count for a reason: the hottest reasons are
// concatenated rather than formatted with fmt (they are made for every path of
// a large mesh).
func itoa[T ~int | ~int32 | ~int64 | ~uint32](n T) string { return strconv.FormatInt(int64(n), 10) }
