package loopbackbind_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/loopbackbind"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestLoopbackBind(t *testing.T) {
	checktest.Run(t, "testdata", loopbackbind.Check)
}
