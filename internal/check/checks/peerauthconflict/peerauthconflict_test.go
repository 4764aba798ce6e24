package peerauthconflict_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/peerauthconflict"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestPeerAuthConflict(t *testing.T) {
	checktest.Run(t, "testdata", peerauthconflict.Namespace, peerauthconflict.Workload)
}
