package peerauthnoeffect_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/peerauthnoeffect"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestPeerAuthNoEffect(t *testing.T) {
	checktest.Run(t, "testdata", peerauthnoeffect.Selector, peerauthnoeffect.StrictNoSidecar)
}
