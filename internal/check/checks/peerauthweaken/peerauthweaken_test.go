package peerauthweaken_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/peerauthweaken"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestPeerAuthWeaken(t *testing.T) {
	checktest.Run(t, "testdata", peerauthweaken.Check)
}
