package portlevelmtls_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/portlevelmtls"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestPortLevelMTLS(t *testing.T) {
	checktest.Run(t, "testdata", portlevelmtls.WithoutSelector, portlevelmtls.ServicePort)
}
