package check

import (
	"sync"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/paths"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// PathView is every (client, Service port) path and gateway route of the
// mesh as the engine decides it (package paths: the decisions trace makes),
// evaluated once per run for the checks that read paths. To bound the heap
// on a large mesh it keeps only the groups those checks read: the ones that
// fail, and the ones that work in plaintext, whose Trace then holds only the
// verdict (Result and Security); of the groups that work over mTLS it keeps
// which Service ports they reach. Once every path is evaluated it drops the
// denials of callers that are not gateways from Service ports that other
// callers reach (MD0605 takes those for an intended selection).
type PathView struct {
	*paths.Result
	reached map[portKey]bool
}

// okPlaintext is the verdict the view keeps of a path that works in
// plaintext: the checks read no more of it.
var okPlaintext = &trace.Trace{Result: trace.ResultOK, Security: resolve.TLSPlaintext}

type portKey struct {
	svc  *mesh.Service
	port *mesh.ServicePort
}

// Reached reports whether some caller that is not a gateway reaches the
// Service port and its request works.
func (v *PathView) Reached(svc *mesh.Service, port *mesh.ServicePort) bool {
	return v.reached[portKey{svc, port}]
}

// Paths returns the run's path view, evaluating it on first use.
func (p *Pass) Paths() *PathView {
	return p.Shared("check.paths", func() any {
		v := &PathView{reached: map[portKey]bool{}}
		var mu sync.Mutex // Keep runs on the evaluation's workers
		v.Result = paths.All(p.Engine, paths.Options{Keep: func(g *paths.Group) bool {
			if g.Trace == nil || g.Trace.Result != trace.ResultOK {
				return true
			}
			if !g.Gateway {
				mu.Lock()
				v.reached[portKey{g.Service, g.Port}] = true
				mu.Unlock()
			}
			if g.Trace.Security != resolve.TLSPlaintext {
				return false
			}
			g.Trace = okPlaintext
			return true
		}})
		kept := v.Groups[:0]
		for _, g := range v.Groups {
			if g.Trace.Cause == trace.CauseAuthzDenied && !g.Gateway && v.Reached(g.Service, g.Port) {
				continue
			}
			kept = append(kept, g)
		}
		clear(v.Groups[len(kept):])
		v.Groups = kept
		return v
	}).(*PathView)
}
