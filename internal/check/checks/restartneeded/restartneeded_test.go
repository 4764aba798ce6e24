package restartneeded_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/restartneeded"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestRestartNeeded(t *testing.T) {
	checktest.Run(t, "testdata", restartneeded.Check)
}
