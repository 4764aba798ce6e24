package resolve

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// What a client puts on the wire (ClientTLSDecision.Mode).
const (
	TLSMutualIstio = "mtls"      // Istio mTLS (ISTIO_MUTUAL, explicit or auto)
	TLSPlaintext   = "plaintext" // no TLS from the proxy
	TLSSimple      = "tls"       // DestinationRule SIMPLE: TLS origination, no client certificate
	TLSMutualUser  = "mutual"    // DestinationRule MUTUAL: the user's certificates
)

// Causes of a rejected connection (SPEC.md cause codes, and one new one).
const (
	CausePlaintextToStrict = "PLAINTEXT_TO_STRICT"
	CauseMTLSToNonMesh     = "MTLS_TO_NON_MESH"
	CauseSANMismatch       = "SAN_MISMATCH"
	// CauseTLSToSidecar is new: the client originates its own TLS
	// (DestinationRule SIMPLE or MUTUAL) to a sidecar that cannot take it: STRICT
	// needs a client certificate issued by the mesh, and an HTTP port (or any
	// port under DISABLE) has no filter chain that passes foreign TLS on.
	CauseTLSToSidecar = "TLS_TO_SIDECAR"
)

// ClientTLSDecision is what the client's proxy sends to one endpoint of a
// service port.
type ClientTLSDecision struct {
	// Mode is "mtls", "plaintext", "tls" (SIMPLE) or "mutual" (MUTUAL with user
	// certificates); "" when it depends on an endpoint that was not given.
	Mode string `json:"mode"`
	// Auto is true when no DestinationRule set TLS and auto mTLS decided.
	Auto bool `json:"auto,omitempty"`
	// SANs are the identities the client accepts from the server.
	SANs []string `json:"sans,omitempty"`
	// SANsFrom is the DestinationRule field the SANs come from; nil when they
	// are the service accounts of the service's endpoints.
	SANsFrom *objects.Ref `json:"sans_from,omitempty"`
	SNI      string       `json:"sni,omitempty"`
	Decision
}

// ClientTLS decides what the client's proxy sends to endpoint (a pod of svc)
// on targetPort, for service port port and route subset (ISTIO-SEMANTICS.md
// §3): ClusterBuilder.buildUpstreamTLSSettings and
// buildUpstreamClusterTLSContext (pilot/pkg/networking/core/cluster_tls.go)
// for the cluster, and the EDS mtlsChecker (pilot/pkg/xds/endpoints/mtls_checker.go)
// for the endpoint's tlsMode metadata under auto mTLS.
func (e *Engine) ClientTLS(client *mesh.Workload, svc *mesh.Service, port *mesh.ServicePort, subset string, endpoint *mesh.Workload, targetPort int32) ClientTLSDecision {
	if client == nil || svc == nil {
		return ClientTLSDecision{Mode: TLSPlaintext, Decision: Decision{Reason: "no client or service"}}
	}
	sc := e.Sidecar(client)
	if !sc.HasProxy {
		// Without a proxy nothing originates TLS: DestinationRules and auto mTLS
		// are proxy configuration.
		d := ClientTLSDecision{Mode: TLSPlaintext}
		d.Reason = fmt.Sprintf("%s has no Istio proxy: it sends what the application sends (plaintext here); DestinationRules and auto mTLS do not apply", client.Key())
		if sc.Ambient {
			d.Reason += "; it is in ambient mode, where ztunnel would tunnel it over HBONE"
			d.Assume(secAmbientAssumption)
		}
		return d
	}
	var pn int32
	if port != nil {
		pn = port.Port
	}
	key := ctlsKey{kind: sc.Kind, class: e.drClientClass(client), svc: svc, port: pn, subset: subset, ep: endpoint, targetPort: targetPort}
	if c, ok := e.sec.ctlsMemo[key]; ok {
		d := *c
		d.Decision = secClip(d.Decision)
		return d
	}
	d := e.clientTLS(client, sc, svc, pn, subset, endpoint, targetPort)
	d.By = secDedup(d.By)
	if e.sec.ctlsMemo == nil || len(e.sec.ctlsMemo) >= secCacheMax {
		e.sec.ctlsMemo = map[ctlsKey]*ClientTLSDecision{}
	}
	c := d
	e.sec.ctlsMemo[key] = &c
	d.Decision = secClip(d.Decision)
	return d
}

func (e *Engine) clientTLS(client *mesh.Workload, sc SidecarDecision, svc *mesh.Service, port int32, subset string, ep *mesh.Workload, targetPort int32) ClientTLSDecision {
	var d ClientTLSDecision
	drd := e.DestinationRule(client, svc.Host)
	rule := drd.Rule
	defaultSNI := "outbound_." + strconv.Itoa(int(port)) + "_." + subset + "_." + svc.Host // model.BuildDNSSrvSubsetKey
	for _, a := range drd.Assumptions {
		d.Assume(a)
	}
	var tls DRTLS
	if rule != nil {
		tls = rule.TLS(port, subset)
	}

	if s := tls.Settings; s != nil {
		d.By = append(d.By, tls.From.Obj.Ref(objects.Join(tls.Path, "mode")))
		d.By = append(d.By, rule.Refs()...)
		prefix := tls.Reason
		// buildUpstreamClusterTLSContext: a credentialName (not a ConfigMap) in a
		// rule without workloadSelector is dropped for sidecars: SIMPLE and MUTUAL
		// then get no TLS context at all.
		if s.CredentialName != "" && !strings.HasPrefix(s.CredentialName, "configmap://") && sc.Kind == ProxySidecar && !rule.HasWorkloadSelector &&
			(s.Mode == networking.ClientTLSSettings_SIMPLE || s.Mode == networking.ClientTLSSettings_MUTUAL) {
			d.Mode = TLSPlaintext
			d.Reason = fmt.Sprintf("%s, but with credentialName %q in a rule without workloadSelector a sidecar gets no TLS context (Istio drops it so that every sidecar does not need the secret): plaintext", prefix, s.CredentialName)
			d.By = append(d.By, tls.From.Obj.Ref(objects.Join(tls.Path, "credentialName")))
			return d
		}
		sanField := objects.Join(tls.Path, "subjectAltNames")
		switch s.Mode {
		case networking.ClientTLSSettings_DISABLE:
			d.Mode = TLSPlaintext
			d.Reason = prefix + ": the client sends plaintext to every endpoint"
		case networking.ClientTLSSettings_SIMPLE:
			d.Mode, d.SNI = TLSSimple, s.Sni
			d.Reason = prefix + ": the client originates TLS without a client certificate"
			if len(s.SubjectAltNames) > 0 {
				d.SANs = append([]string(nil), s.SubjectAltNames...)
				r := tls.From.Obj.Ref(sanField)
				d.SANsFrom = &r
			}
		case networking.ClientTLSSettings_MUTUAL:
			d.Mode, d.SNI = TLSMutualUser, s.Sni
			d.Reason = prefix + ": the client originates TLS with the certificates the rule names (not the mesh identity)"
			if len(s.SubjectAltNames) > 0 {
				d.SANs = append([]string(nil), s.SubjectAltNames...)
				r := tls.From.Obj.Ref(sanField)
				d.SANsFrom = &r
			}
		case networking.ClientTLSSettings_ISTIO_MUTUAL:
			// One transport socket for the cluster: mTLS to every endpoint, with or
			// without a sidecar. SNI: the rule's, else outbound_.<port>_.<subset>_.<host>;
			// SANs: the rule's, else the service accounts of the service.
			d.Mode = TLSMutualIstio
			d.SNI = s.Sni
			if d.SNI == "" {
				d.SNI = defaultSNI
			}
			if s.SubjectAltNames != nil {
				d.SANs = append([]string(nil), s.SubjectAltNames...)
				r := tls.From.Obj.Ref(sanField)
				d.SANsFrom = &r
			} else {
				d.SANs = e.secServiceInfo(svc).sans
			}
			d.Reason = prefix + ": Istio mTLS to every endpoint, with or without a sidecar"
		}
		return d
	}

	// No TLS from a DestinationRule: auto mTLS.
	why := "no DestinationRule applies"
	if rule != nil {
		why = tls.Reason
		d.By = append(d.By, rule.Refs()...)
		if tls.From != nil {
			d.By = append(d.By, tls.Ref())
		}
	}
	if !e.X.Mesh.EnableAutoMtls {
		d.Mode = TLSPlaintext
		d.Reason = why + ", and auto mTLS is off (enableAutoMtls: false): plaintext"
		if src := e.X.Mesh.Source; src != nil {
			d.By = append(d.By, src.Ref("data.mesh"))
		}
		return d
	}
	d.Auto = true
	d.AssumeKey(e.X, mesh.AssumeAutoMTLS)
	if svc.Type == "ExternalName" && svc.ExternalName != "" {
		// An ExternalName Service is MeshExternal: BestEffortInferServiceMTLSMode
		// is MTLSUnknown, and buildUpstreamTLSSettings sets no TLS.
		d.Auto = false
		d.Mode = TLSPlaintext
		d.Reason = why + fmt.Sprintf(", and %s is an ExternalName Service (outside the mesh): auto mTLS does not apply, plaintext", svc.Key())
		d.By = append(d.By, svc.Obj.Ref("spec.externalName"))
		return d
	}

	// The policy that decides the service mode: the rule's top-level policy, or
	// the subset's own for a subset cluster (buildSubsetCluster passes
	// subset.GetTrafficPolicy() to BestEffortInferServiceMTLSMode).
	var modeTP *networking.TrafficPolicy
	if rule != nil {
		modeTP = rule.TrafficPolicy
		if subset != "" {
			if s, ok := rule.Subset(subset); ok {
				modeTP = s.TrafficPolicy
			}
		}
	}
	svcMode, sd := e.secServiceMode(svc, port, modeTP)
	d.By = append(d.By, sd.By...)
	for _, a := range sd.Assumptions {
		d.Assume(a)
	}
	if svcMode == ModeDisable {
		d.Mode = TLSPlaintext
		d.Reason = fmt.Sprintf("%s; auto mTLS infers the service mode DISABLE (%s), so the client sends plaintext to every endpoint, whatever their own policies", why, sd.Reason)
		return d
	}
	if od, odWhy, odBy := secOriginalDst(sc.Kind, svc, port, subset, rule); od {
		// ORIGINAL_DST clusters keep one mTLS socket (applyUpstreamTLSSettings
		// adds no tlsMode transport_socket_matches to them): mTLS to every
		// endpoint once the service mode allows it, sidecar or not.
		d.Mode = TLSMutualIstio
		d.SNI, d.SANs = defaultSNI, e.secServiceInfo(svc).sans
		d.By = append(d.By, odBy...)
		d.Reason = fmt.Sprintf("%s; the cluster is ORIGINAL_DST (%s), which keeps one TLS socket for every endpoint instead of choosing per endpoint, and the service mode is %s (%s): auto mTLS sends Istio mTLS to every endpoint, with or without a sidecar", why, odWhy, svcMode, sd.Reason)
		return d
	}
	if ep == nil {
		d.Reason = fmt.Sprintf("%s; auto mTLS: Istio mTLS to endpoints whose pods are labelled security.istio.io/tlsMode=istio (a sidecar) and whose port is not DISABLE, plaintext to the others", why)
		return d
	}
	// Per endpoint (mtls_checker.go checkMtlsEnabled and the tlsMode-istio
	// transport socket match).
	tlsMode, tlsRef := e.secEndpointTLSMode(ep)
	if tlsMode != "istio" {
		d.Mode = TLSPlaintext
		switch {
		case tlsRef != nil:
			d.Reason = fmt.Sprintf("%s; auto mTLS: the pods of %s are labelled security.istio.io/tlsMode=%s (not istio), so the client sends plaintext", why, ep.Key(), tlsMode)
			d.By = append(d.By, *tlsRef)
		case e.Sidecar(ep).Kind == ProxyGateway:
			d.Reason = fmt.Sprintf("%s; auto mTLS: %s is a gateway, whose pods carry no security.istio.io/tlsMode=istio label, so the client sends plaintext", why, ep.Key())
		default:
			d.Reason = fmt.Sprintf("%s; auto mTLS: %s has no sidecar (no security.istio.io/tlsMode=istio label), so the client sends plaintext", why, ep.Key())
		}
		return d
	}
	if rule != nil {
		if mode, src := rule.endpointTLSMode(port, subset); mode != nil {
			// The EDS checker reads the rule's tls differently from the cluster
			// (a port-level entry without tls does not clear it there).
			d.By = append(d.By, src.Ref())
			if *mode == networking.ClientTLSSettings_ISTIO_MUTUAL {
				d.Mode, d.SNI, d.SANs = TLSMutualIstio, defaultSNI, e.secServiceInfo(svc).sans
				d.Reason = fmt.Sprintf("%s; auto mTLS: the endpoint metadata keeps tlsMode=istio because the rule's %s is ISTIO_MUTUAL (mtls_checker.go), so %s gets Istio mTLS", why, src.Path, ep.Key())
			} else {
				d.Mode = TLSPlaintext
				d.Reason = fmt.Sprintf("%s; auto mTLS: the rule's %s is %s, which makes the endpoint metadata drop tlsMode (mtls_checker.go), so %s gets plaintext", why, src.Path, mode.String(), ep.Key())
			}
			return d
		}
	}
	sm := e.ServerMTLS(ep, targetPort)
	if sm.Mode == ModeDisable {
		d.Mode = TLSPlaintext
		d.Reason = fmt.Sprintf("%s; auto mTLS: %s has a sidecar but its port %d is DISABLE (%s), so the client sends plaintext", why, ep.Key(), targetPort, sm.Reason)
		d.By = append(d.By, sm.By...)
		for _, a := range sm.Assumptions {
			d.Assume(a)
		}
		return d
	}
	d.Mode, d.SNI, d.SANs = TLSMutualIstio, defaultSNI, e.secServiceInfo(svc).sans
	d.Reason = why + "; auto mTLS: " + ep.Key() + " has a sidecar (security.istio.io/tlsMode=istio) and its port " + itoa(targetPort) + " is not DISABLE, so the client sends Istio mTLS"
	return d
}

// drLBPassthrough reports loadBalancer.simple: PASSTHROUGH.
func drLBPassthrough(tp *networking.TrafficPolicy) bool {
	return tp.GetLoadBalancer().GetSimple() == networking.LoadBalancerSettings_PASSTHROUGH
}

// secOriginalDst reports whether the cluster outbound|port|subset|host of a
// proxy of the given kind is an ORIGINAL_DST cluster, why, and the fields that
// made it so:
//   - convertResolution (pilot/pkg/networking/core/cluster.go): a headless
//     Service (Passthrough resolution) gives sidecars an ORIGINAL_DST cluster,
//     but gateways an EDS one ("Gateways cannot use passthrough clusters";
//     PILOT_ENABLE_EDS_FOR_HEADLESS_SERVICES is off by default);
//   - applyLoadBalancer (cluster_traffic_policy.go): loadBalancer.simple
//     PASSTHROUGH in the port-resolved policy (GetPortLevelTrafficPolicy: a
//     port-level entry replaces it whole) turns the cluster into ORIGINAL_DST;
//   - buildSubsetCluster (cluster_builder.go): a subset cluster starts with the
//     type of the service's default cluster, so it stays ORIGINAL_DST whatever
//     the subset's loadBalancer says, and becomes ORIGINAL_DST when the
//     subset's own loadBalancer is PASSTHROUGH (isPassthrough) or the merged
//     subset policy's is (MergeSubsetTrafficPolicy: the subset's port-level
//     entry wins).
func secOriginalDst(kind string, svc *mesh.Service, port int32, subset string, rule *MergedDR) (bool, string, []objects.Ref) {
	name := func(dr *mesh.DestinationRule) string { return dr.Namespace + "/" + dr.Name }
	var why string
	var by []objects.Ref
	switch {
	case svc.Headless && kind == ProxySidecar:
		why = fmt.Sprintf("%s is a headless Service, whose cluster is ORIGINAL_DST for a sidecar", svc.Key())
		by = append(by, svc.Obj.Ref("spec.clusterIP"))
	case rule != nil && rule.TrafficPolicy != nil:
		tp, path := rule.TrafficPolicy, "spec.trafficPolicy.loadBalancer"
		if i, pl := drPortLevel(tp, port); pl != nil {
			tp = &networking.TrafficPolicy{LoadBalancer: pl.LoadBalancer}
			path = objects.Path("spec", "trafficPolicy", "portLevelSettings", i, "loadBalancer")
		}
		if drLBPassthrough(tp) {
			why = fmt.Sprintf("%s of DestinationRule %s is PASSTHROUGH", path, name(rule.PolicyFrom))
			by = append(by, rule.PolicyFrom.Obj.Ref(objects.Join(path, "simple")))
		}
	}
	if subset == "" || rule == nil {
		return why != "", why, by
	}
	s, ok := rule.Subset(subset)
	if !ok {
		return why != "", why, by
	}
	if why != "" {
		why = fmt.Sprintf("the subset %q cluster keeps the type of the service's default cluster: %s", subset, why)
		return true, why, by
	}
	if s.TrafficPolicy == nil {
		return false, "", nil
	}
	if drLBPassthrough(s.TrafficPolicy) {
		path := objects.Join(s.Path, "trafficPolicy.loadBalancer")
		return true, fmt.Sprintf("%s of DestinationRule %s is PASSTHROUGH", path, name(s.From)), []objects.Ref{s.From.Obj.Ref(objects.Join(path, "simple"))}
	}
	if i, pl := drPortLevel(s.TrafficPolicy, port); pl != nil && drLBPassthrough(&networking.TrafficPolicy{LoadBalancer: pl.LoadBalancer}) {
		path := objects.Join(s.Path, objects.Path("trafficPolicy", "portLevelSettings", i, "loadBalancer"))
		return true, fmt.Sprintf("%s of DestinationRule %s is PASSTHROUGH", path, name(s.From)), []objects.Ref{s.From.Obj.Ref(objects.Join(path, "simple"))}
	}
	return false, "", nil
}

// secServiceMode is BestEffortInferServiceMTLSMode (push_context.go): for a
// passthrough service (headless, or loadBalancer PASSTHROUGH) DISABLE when it
// has no endpoint or any endpoint is tlsMode "disabled"; then the namespace (or
// mesh) mode of the service's namespace (NamespaceMTLS); else PERMISSIVE —
// never unknown for a Service in the mesh.
func (e *Engine) secServiceMode(svc *mesh.Service, port int32, tp *networking.TrafficPolicy) (string, Decision) {
	var d Decision
	if svc.Headless || drLBPassthrough(tp) {
		info := e.secServiceInfo(svc)
		if len(info.endpoints) == 0 {
			d.Reason = fmt.Sprintf("the passthrough service %s has no endpoints", svc.Key())
			d.By = append(d.By, svc.Obj.Ref("spec.selector"))
			return ModeDisable, d
		}
		for _, w := range info.endpoints {
			if m, _ := e.secEndpointTLSMode(w); m == "disabled" {
				d.Reason = fmt.Sprintf("%s, an endpoint of the passthrough service %s, has no sidecar", w.Key(), svc.Key())
				d.By = append(d.By, svc.Obj.Ref("spec.selector"))
				return ModeDisable, d
			}
		}
	}
	nm := e.NamespaceMTLS(svc.Namespace)
	if nm.Mode != "" {
		return nm.Mode, nm.Decision
	}
	d = nm.Decision
	d.Reason = fmt.Sprintf("%s, so auto mTLS falls back to PERMISSIVE", nm.Reason)
	return ModePermissive, d
}

// secServiceInfo returns the endpoints of a Service and their identities:
// PushContext.ServiceAccounts, the sorted spiffe URIs of the service accounts
// of its endpoints (push_context.go addServiceAccounts).
func (e *Engine) secServiceInfo(svc *mesh.Service) *secServiceInfo {
	if si, ok := e.sec.svcInfo[svc]; ok {
		return si
	}
	si := &secServiceInfo{endpoints: e.X.Select(svc.Namespace, svc.Selector)}
	seen := map[string]bool{}
	for _, w := range si.endpoints {
		id := e.Identity(w)
		if !seen[id] {
			seen[id] = true
			si.sans = append(si.sans, id)
		}
	}
	sort.Strings(si.sans)
	si.sans = si.sans[:len(si.sans):len(si.sans)]
	if e.sec.svcInfo == nil {
		e.sec.svcInfo = map[*mesh.Service]*secServiceInfo{}
	}
	e.sec.svcInfo[svc] = si
	return si
}

// AcceptDecision says whether an endpoint accepts what the client sends.
type AcceptDecision struct {
	Accepted bool `json:"accepted"`
	// Cause is one of the Cause* codes when not accepted.
	Cause string `json:"cause,omitempty"`
	// Security is what the connection carries when accepted: "mtls",
	// "plaintext" or "tls".
	Security string `json:"security,omitempty"`
	Decision
}

// ServerAccepts decides whether endpoint accepts, on targetPort, what the
// client sends (tls), for protocol "http" (also http2, grpc) or "tcp":
// the inbound filter chains per PeerAuthentication mode
// (pilot/pkg/networking/core/filterchain_options.go getFilterChainMatchOptions;
// the matrix of sidecar_simulation_test.go TestInbound, ISTIO-SEMANTICS.md
// §5.1, §5.3) and the client's SAN verification (§3.6).
func (e *Engine) ServerAccepts(endpoint *mesh.Workload, targetPort int32, tls ClientTLSDecision, protocol string) AcceptDecision {
	if endpoint == nil {
		return AcceptDecision{Decision: Decision{Reason: "no endpoint"}}
	}
	if tls.Mode == "" {
		return AcceptDecision{Decision: Decision{Reason: "the client's TLS is unknown"}}
	}
	isHTTP := false
	switch strings.ToLower(protocol) {
	case "http", "http2", "grpc", "grpc-web", "h2c":
		isHTTP = true
	}
	key := acceptKey{ep: endpoint, port: targetPort, mode: tls.Mode, http: isHTTP}
	cached, ok := e.sec.accept[key]
	if !ok {
		b := e.serverAccepts(endpoint, targetPort, tls.Mode, isHTTP)
		cached = &b
		if e.sec.accept == nil {
			e.sec.accept = map[acceptKey]*acceptBase{}
		}
		e.sec.accept[key] = cached
	}
	base := *cached
	d := base.d
	d.Decision = secClip(d.Decision)
	// The client verifies the server's certificate against its SANs (§3.6).
	if d.Accepted && d.Security == TLSMutualIstio && base.sidecar && len(tls.SANs) > 0 {
		id := e.Identity(endpoint)
		found := false
		for _, s := range tls.SANs {
			if s == id {
				found = true
				break
			}
		}
		if !found {
			d.Accepted, d.Security, d.Cause = false, "", CauseSANMismatch
			d.Reason = fmt.Sprintf("the client verifies the server certificate against %s, but %s presents %s: CERTIFICATE_VERIFY_FAILED", strings.Join(tls.SANs, ", "), endpoint.Key(), id)
			var by []objects.Ref
			if tls.SANsFrom != nil {
				by = append(by, *tls.SANsFrom)
			}
			d.By = secDedup(append(append(by, tls.By...), d.By...))
			return d
		}
	}
	if base.clientRefs && len(tls.By) > 0 {
		d.By = secDedup(append(d.By, tls.By...))
	}
	return d
}

// acceptKey identifies a cached inbound decision.
type acceptKey struct {
	ep   *mesh.Workload
	port int32
	mode string
	http bool
}

// acceptBase is an inbound decision before the client's own refs and SANs.
type acceptBase struct {
	d AcceptDecision
	// clientRefs: the client's TLS refs belong to the decision (a rejection
	// that the client's TLS caused).
	clientRefs bool
	// sidecar: the endpoint's sidecar terminates mTLS (SANs are checked).
	sidecar bool
}

func (e *Engine) serverAccepts(endpoint *mesh.Workload, targetPort int32, mode string, isHTTP bool) acceptBase {
	var b acceptBase
	d := &b.d
	sc := e.Sidecar(endpoint)
	accept := func(sec, reason string) acceptBase {
		d.Accepted, d.Security, d.Reason = true, sec, reason
		d.By = secDedup(d.By)
		return b
	}
	reject := func(cause, reason string) acceptBase {
		d.Accepted, d.Cause, d.Reason = false, cause, reason
		d.By = secDedup(d.By)
		b.clientRefs = true
		return b
	}

	// A gateway's listeners follow its Gateway servers, not PeerAuthentication.
	if sc.Kind == ProxyGateway {
		d.By = append(d.By, sc.By...)
		if mode == TLSPlaintext {
			return accept(TLSPlaintext, fmt.Sprintf("%s is a gateway: callers reach its listener in plaintext (PeerAuthentication does not apply to gateways; its Gateway servers decide TLS)", endpoint.Key()))
		}
		d.Assume(fmt.Sprintf("the Gateway server of %s on port %d is assumed to accept what the client sends; Gateway server TLS is not checked for calls into a gateway", endpoint.Key(), targetPort))
		return accept(secWire(mode), fmt.Sprintf("%s is a gateway: what it accepts on port %d is decided by its Gateway server's tls, not by PeerAuthentication", endpoint.Key(), targetPort))
	}

	// No sidecar: the bytes reach the application as sent.
	if !sc.HasProxy {
		d.By = append(d.By, sc.By...)
		if sc.Ambient {
			d.Assume(secAmbientAssumption)
		}
		switch mode {
		case TLSPlaintext:
			return accept(TLSPlaintext, fmt.Sprintf("%s has no sidecar: the application receives plaintext", endpoint.Key()))
		case TLSMutualIstio:
			return reject(CauseMTLSToNonMesh, fmt.Sprintf("the client sends Istio mTLS but %s has no sidecar to terminate it: the TLS handshake fails (WRONG_VERSION_NUMBER against a plaintext application)", endpoint.Key()))
		default:
			d.Assume(fmt.Sprintf("the application of %s terminates TLS itself on port %d", endpoint.Key(), targetPort))
			return accept(TLSSimple, fmt.Sprintf("%s has no sidecar: the application itself must terminate the client's TLS", endpoint.Key()))
		}
	}

	// A port the sidecar does not capture: the bytes reach the application
	// (or the proxy's own endpoint) as sent, whatever PeerAuthentication says.
	if cd := e.InboundCapture(endpoint, targetPort); !cd.Captured {
		d.By = append(d.By, cd.By...)
		switch mode {
		case TLSPlaintext:
			return accept(TLSPlaintext, cd.Reason+"; the plaintext connection is accepted there and PeerAuthentication does not apply")
		case TLSMutualIstio:
			return reject(CauseMTLSToNonMesh, fmt.Sprintf("the client's sidecar sends Istio mTLS, but nothing terminates it on port %d of %s (auto mTLS does not know which inbound ports a server's sidecar skips): %s", targetPort, endpoint.Key(), cd.Reason))
		default:
			d.Assume(fmt.Sprintf("the application of %s terminates TLS itself on port %d", endpoint.Key(), targetPort))
			return accept(TLSSimple, cd.Reason+"; the application itself must terminate the client's TLS")
		}
	}

	b.sidecar = true
	mt := e.ServerMTLS(endpoint, targetPort)
	d.By = append(d.By, mt.By...)
	for _, a := range mt.Assumptions {
		d.Assume(a)
	}
	if sc.Ambient {
		d.Assume(secAmbientAssumption)
	}
	pa := mt.Mode
	switch mode {
	case TLSMutualIstio:
		if pa == ModeDisable {
			return reject(CauseMTLSToNonMesh, fmt.Sprintf("the client sends Istio mTLS but port %d of %s is DISABLE: the sidecar only has a plaintext chain there and passes the TLS bytes to the application (%s)", targetPort, endpoint.Key(), mt.Reason))
		}
		return accept(TLSMutualIstio, "port "+itoa(targetPort)+" of "+endpoint.Key()+" is "+pa+" and the client sends Istio mTLS: the sidecar terminates it ("+mt.Reason+")")
	case TLSPlaintext:
		if pa == ModeStrict {
			return reject(CausePlaintextToStrict, "the client sends plaintext but port "+itoa(targetPort)+" of "+endpoint.Key()+" is STRICT: no filter chain accepts it and the connection is closed ("+mt.Reason+")")
		}
		return accept(TLSPlaintext, "port "+itoa(targetPort)+" of "+endpoint.Key()+" is "+pa+": it accepts plaintext ("+mt.Reason+")")
	default: // TLS originated by the client itself (SIMPLE or MUTUAL)
		switch {
		case pa == ModeStrict:
			return reject(CauseTLSToSidecar, fmt.Sprintf("the client originates its own TLS (DestinationRule %s) but port %d of %s is STRICT, which requires a client certificate issued by the mesh: the handshake fails (%s)", secDRModeName(mode), targetPort, endpoint.Key(), mt.Reason))
		case isHTTP:
			return reject(CauseTLSToSidecar, fmt.Sprintf("the client originates its own TLS (DestinationRule %s) to the HTTP port %d of %s (%s): the sidecar has no filter chain that takes non-Istio TLS on an HTTP port", secDRModeName(mode), targetPort, endpoint.Key(), pa))
		default:
			d.Assume(fmt.Sprintf("the application of %s terminates TLS itself on port %d", endpoint.Key(), targetPort))
			b.clientRefs = true
			return accept(TLSSimple, fmt.Sprintf("port %d of %s is %s: the sidecar passes the client's own TLS through to the application on this TCP port", targetPort, endpoint.Key(), pa))
		}
	}
}

// secWire maps a client mode to what the connection carries.
func secWire(mode string) string {
	switch mode {
	case TLSMutualIstio, TLSPlaintext:
		return mode
	}
	return TLSSimple
}

func secDRModeName(mode string) string {
	if mode == TLSMutualUser {
		return "MUTUAL"
	}
	return "SIMPLE"
}
