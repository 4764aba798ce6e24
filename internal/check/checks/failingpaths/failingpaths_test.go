package failingpaths_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/failingpaths"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

var all = []*check.Check{
	failingpaths.PlaintextToStrict, failingpaths.MTLSToNonMesh, failingpaths.SANMismatch, failingpaths.TLSToSidecar,
	failingpaths.AuthzDenied, failingpaths.PortNotListening, failingpaths.NoEndpoints, failingpaths.UnknownSubset,
	failingpaths.UnknownHost, failingpaths.NoRoute,
}

func TestFailingPaths(t *testing.T) {
	checktest.Run(t, "testdata/main", all...)
}

// A VirtualService route to a port the Service lacks: the finding points at
// the route's port, and the fix names the Service's port.
func TestRoutePort(t *testing.T) {
	checktest.Run(t, "testdata/routeport", all...)
}
