package failingpaths_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/failingpaths"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestFailingPaths(t *testing.T) {
	checktest.Run(t, "testdata",
		failingpaths.PlaintextToStrict, failingpaths.MTLSToNonMesh, failingpaths.SANMismatch, failingpaths.TLSToSidecar,
		failingpaths.AuthzDenied, failingpaths.PortNotListening, failingpaths.NoEndpoints, failingpaths.UnknownSubset,
		failingpaths.UnknownHost, failingpaths.NoRoute)
}
