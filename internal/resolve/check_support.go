package resolve

import (
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// ConfigHostMatches returns the Services and ServiceEntries whose hosts a
// host written in a DestinationRule or VirtualService of namespace ns
// covers: the host is resolved as Istio resolves config hosts
// (pilot/pkg/model/config.go ResolveShortnameToFQDN: a name without a dot is
// name.<ns>.svc.<domain>), then matched with wildcards on either side
// (pkg/config/host/name.go Name.Matches). It serves package check, which must
// not re-implement either rule.
func (e *Engine) ConfigHostMatches(ns, host string) ([]*mesh.Service, []*mesh.ServiceEntry) {
	h := drResolveHost(host, ns)
	var svcs []*mesh.Service
	for _, s := range e.X.Services {
		if routeHostMatches(h, s.Host) {
			svcs = append(svcs, s)
		}
	}
	var ses []*mesh.ServiceEntry
	for _, se := range e.X.ServiceEntries {
		for _, sh := range se.Spec.GetHosts() {
			if routeHostMatches(h, drResolveHost(sh, se.Namespace)) {
				ses = append(ses, se)
				break
			}
		}
	}
	return svcs, ses
}
