package authzrefs_test

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check/checks/authzrefs"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
)

func TestAuthzRefs(t *testing.T) {
	checktest.Run(t, "testdata/main", authzrefs.SpiffePrefix, authzrefs.SelectsNothing, authzrefs.UnknownIdentity)
}

// A mesh with its own trust domain and root namespace: cluster.local stands
// for the trust domain, and istio-system is an ordinary namespace.
func TestTrustDomainAndRoot(t *testing.T) {
	checktest.Run(t, "testdata/trustdomain", authzrefs.SpiffePrefix, authzrefs.SelectsNothing, authzrefs.UnknownIdentity)
}

// Without the workloads or Namespace objects of a namespace, MD0403 and
// MD0404 say nothing: the namespace may be deployed from elsewhere.
func TestPartialInput(t *testing.T) {
	checktest.Run(t, "testdata/partial", authzrefs.SpiffePrefix, authzrefs.SelectsNothing, authzrefs.UnknownIdentity)
}
