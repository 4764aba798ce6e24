package serviceport_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/serviceport"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestServicePort(t *testing.T) { checktest.Run(t, "testdata", serviceport.Check) }
