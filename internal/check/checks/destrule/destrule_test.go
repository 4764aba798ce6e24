package destrule_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/destrule"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestDestinationRules(t *testing.T) {
	checktest.Run(t, "testdata", destrule.UnknownHost, destrule.SelectorNothing, destrule.Merged, destrule.Subset, destrule.DisablesMTLS)
}
