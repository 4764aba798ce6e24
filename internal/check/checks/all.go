// Package checks is the explicit, sorted list of every check meshdoctor runs.
// A test fails when the list is not sorted, a code is reused or a doc is
// missing (check.Validate).
package checks

import (
	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/authzplaintext"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/authzrefs"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/destrule"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/duplicateobject"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/failingpaths"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/gatewaybinding"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/loopbackbind"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/peerauthconflict"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/peerauthnoeffect"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/peerauthweaken"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/portlevelmtls"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/protocolselection"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/restartneeded"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/serviceport"
)

// All returns every check, sorted by code: the driver's own first.
func All() []*check.Check {
	return []*check.Check{
		check.InternalError,
		check.InvalidSuppression,
		check.UnusedSuppression,
		peerauthconflict.Namespace,
		peerauthconflict.Workload,
		peerauthnoeffect.Selector,
		peerauthnoeffect.StrictNoSidecar,
		portlevelmtls.WithoutSelector,
		portlevelmtls.ServicePort,
		peerauthweaken.Check,
		restartneeded.Check,
		destrule.UnknownHost,
		destrule.SelectorNothing,
		destrule.Merged,
		destrule.Subset,
		destrule.DisablesMTLS,
		gatewaybinding.MissingGateway,
		gatewaybinding.HostNotServed,
		gatewaybinding.NoWorkload,
		authzplaintext.Check,
		authzrefs.SpiffePrefix,
		authzrefs.SelectsNothing,
		authzrefs.UnknownIdentity,
		loopbackbind.Check,
		protocolselection.Check,
		serviceport.Check,
		failingpaths.PlaintextToStrict,
		failingpaths.MTLSToNonMesh,
		failingpaths.SANMismatch,
		failingpaths.TLSToSidecar,
		failingpaths.AuthzDenied,
		failingpaths.PortNotListening,
		failingpaths.NoEndpoints,
		failingpaths.UnknownSubset,
		failingpaths.UnknownHost,
		failingpaths.NoRoute,
		duplicateobject.Check,
	}
}
