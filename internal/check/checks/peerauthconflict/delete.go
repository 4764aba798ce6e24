package peerauthconflict

import (
	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

func deleteChange(pa *mesh.PeerAuthentication) []trace.Change {
	return []trace.Change{check.Delete(pa.Obj)}
}
