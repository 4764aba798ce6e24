package protocolselection_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/protocolselection"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestProtocolSelection(t *testing.T) { checktest.Run(t, "testdata", protocolselection.Check) }
