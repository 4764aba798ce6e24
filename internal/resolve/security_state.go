package resolve

import (
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// securityState holds the caches of sidecar, PeerAuthentication, DestinationRule
// and client TLS decisions. Every index is built lazily, once, on first use:
//
//   - per workload (pointer): the sidecar decision, the composed
//     PeerAuthentication, the mTLS mode per port, the DestinationRule client
//     class (namespace plus the workload-selector DestinationRules its labels
//     match);
//   - per namespace: PeerAuthentications (paIndex) and DestinationRules
//     (drIndex: Istio's namespaceLocal / exportedByNamespace / rootNamespaceLocal
//     tables, each keyed by host);
//   - per Service: endpoints' service accounts and TLS modes;
//   - per request (client class, host, port, subset, endpoint): DestinationRule
//     and client TLS decisions, bounded by secCacheMax.
//
// Clients that share namespace, proxy kind and the labels that DestinationRule
// workload selectors read share one class, so a run over every (client,
// service port) pair of a large mesh computes each decision once per class,
// never scanning all DestinationRules or PeerAuthentications per call.
type securityState struct {
	sidecars map[*mesh.Workload]SidecarDecision
	gwSel    []*mesh.Gateway // Gateways with a non-empty selector (gateway detection)
	gwSelOK  bool

	pa       *paIndex
	paComp   map[*mesh.Workload]*paComposed
	mtls     map[secPortKey]*MTLSDecision
	nsMTLS   map[string]MTLSDecision
	drIdx    *drIndex
	drClass  map[*mesh.Workload]string
	drCache  map[drCacheKey]*DRDecision
	svcInfo  map[*mesh.Service]*secServiceInfo
	ctlsMemo map[ctlsKey]*ClientTLSDecision
	accept   map[acceptKey]*acceptBase
	ids      map[*mesh.Workload]string
}

// secCacheMax bounds the caches keyed by request (DestinationRule per
// (client class, host), client TLS per (class, service port, endpoint)). Over
// every (client, service port) pair of a 10,000-service mesh they would grow
// with the product; when full they start over. Callers that iterate clients
// namespace by namespace (workloads are sorted by namespace) still hit them.
const secCacheMax = 1 << 16

// secPortKey identifies a per-workload, per-port decision.
type secPortKey struct {
	w    *mesh.Workload
	port int32
}

// drCacheKey identifies a DestinationRule decision: the client's class (see
// Engine.drClientClass) and the host.
type drCacheKey struct {
	class, host string
}

// ctlsKey identifies a client TLS decision.
type ctlsKey struct {
	kind       string // the client's proxy kind
	class      string // the client's DestinationRule class
	svc        *mesh.Service
	port       int32
	subset     string
	ep         *mesh.Workload
	targetPort int32
}

// secServiceInfo is what client TLS needs of a Service, computed once.
type secServiceInfo struct {
	endpoints []*mesh.Workload // pods the selector selects
	sans      []string         // their spiffe identities, sorted, unique
}

// secClip returns d with its slices clipped, so that a caller appending to a
// cached decision never writes into the cache.
func secClip(d Decision) Decision {
	d.By = d.By[:len(d.By):len(d.By)]
	d.Assumptions = d.Assumptions[:len(d.Assumptions):len(d.Assumptions)]
	return d
}

// secDedup drops repeated (and empty) references, keeping the first, most
// decisive, one. Decisions carry a handful of refs: a quadratic scan beats a map.
func secDedup(refs []objects.Ref) []objects.Ref {
	// Most lists have nothing to drop: return them (clipped, so that an
	// append copies) instead of building a copy ref by ref.
	clean := true
	for i := 0; i < len(refs) && clean; i++ {
		if refs[i].Kind == "" {
			clean = false
		}
		for _, o := range refs[:i] {
			if o == refs[i] {
				clean = false
				break
			}
		}
	}
	if clean {
		return refs[:len(refs):len(refs)]
	}
	out := make([]objects.Ref, 0, len(refs))
	for _, r := range refs {
		if r.Kind == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == r {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}
