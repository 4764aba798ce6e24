package duplicateobject_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/duplicateobject"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestDuplicateObject(t *testing.T) { checktest.Run(t, "testdata", duplicateobject.Check) }
