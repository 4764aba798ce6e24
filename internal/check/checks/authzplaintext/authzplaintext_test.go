package authzplaintext_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/authzplaintext"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestAuthzPlaintext(t *testing.T) { checktest.Run(t, "testdata", authzplaintext.Check) }
