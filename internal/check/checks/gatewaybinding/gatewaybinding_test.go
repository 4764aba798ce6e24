package gatewaybinding_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/gatewaybinding"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestGatewayBinding(t *testing.T) {
	checktest.Run(t, "testdata/main", gatewaybinding.MissingGateway, gatewaybinding.HostNotServed, gatewaybinding.NoWorkload)
}

// Without gateway workloads in the input, MD0303 says nothing: the gateways
// may be installed separately.
func TestNoGatewayWorkloads(t *testing.T) {
	checktest.Run(t, "testdata/no-workloads", gatewaybinding.NoWorkload)
}

// MD0303 proposes a selector only for the one gateway workload of the input,
// and not when the Gateway was written for the other direction.
func TestGatewaySelectorNoFix(t *testing.T) {
	checktest.Run(t, "testdata/egress-only", gatewaybinding.NoWorkload)
	checktest.Run(t, "testdata/two-gateways", gatewaybinding.NoWorkload)
}
