package trace

// Cause codes of SPEC.md ("trace JSON"). They never change meaning.
const (
	CausePlaintextToStrict = "PLAINTEXT_TO_STRICT"
	CauseMTLSToNonMesh     = "MTLS_TO_NON_MESH"
	CauseSANMismatch       = "SAN_MISMATCH"
	CauseAuthzDenied       = "AUTHZ_DENIED"
	CausePortNotListening  = "PORT_NOT_LISTENING"
	CauseNoEndpoints       = "NO_ENDPOINTS"
	CauseNoRoute           = "NO_ROUTE"
	CauseUnknownSubset     = "UNKNOWN_SUBSET"
	CauseUnknownHost       = "UNKNOWN_HOST"
	// CauseTLSToSidecar is a code added to SPEC.md's table (docs/causes.md): the
	// client originates its own TLS (DestinationRule SIMPLE or MUTUAL) to a
	// sidecar that cannot take it (a STRICT port wants a mesh client
	// certificate; an HTTP port has no chain for non-Istio TLS).
	CauseTLSToSidecar = "TLS_TO_SIDECAR"
)

// Envoy is what a user sees: the HTTP status, the response flags in the access
// log of the proxy that answered, and the body or error text.
type Envoy struct {
	ResponseFlags string `json:"response_flags"`
	Message       string `json:"message"`
	// Details is Envoy's %RESPONSE_CODE_DETAILS% in the access log, when known.
	Details string `json:"details,omitempty"`
}

// Texts of Envoy's local replies, as Envoy builds them. Sources:
//   - upstream reset body: envoy source/common/router/router.cc Filter::onUpstreamReset
//     "upstream connect error or disconnect/reset before headers. " + ("retried and the
//     latest " when retried) + "reset reason: " + reason + (", transport failure reason: " + ...)
//   - reset reasons: source/common/http/utility.cc resetReasonToString
//   - "delayed connect error: <strerror>": source/common/network/connection_impl.cc
//     (older Envoy printed the errno: "delayed connect error: 111")
//   - TLS failure reasons: source/common/tls/ssl_socket.cc ("TLS_error:|...:TLS_error_end")
//   - "no healthy upstream": router.cc sendNoHealthyUpstreamResponse (503, UH)
//   - no route: router.cc decodeHeaders, 404 with an empty body, NR
//   - cluster not found: 503 (clusterNotFoundResponseCode default), empty body, NC
//   - "RBAC: access denied": source/extensions/filters/http/rbac/rbac_filter.cc, 403
//
// ISTIO-SEMANTICS.md §5.2 and §5.4 collect them with the Istio issues where they
// were observed (istio/istio#33208, #35870).
const (
	resetPrefix        = "upstream connect error or disconnect/reset before headers. "
	msgConnTermination = resetPrefix + "reset reason: connection termination"
	msgConnRefused     = resetPrefix + "retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused"
	msgWrongVersion    = resetPrefix + "retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end"
	msgVerifyFailed    = resetPrefix + "retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify cert failed: verify SAN list:TLS_error_end"
	msgHandshake       = resetPrefix + "retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435648:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE:TLS_error_end"
	msgNoHealthy       = "no healthy upstream"
	msgRBAC            = "RBAC: access denied"
)

// response returns what a caller sees for a cause. viaProxy says whether the
// caller's request goes through an Envoy (a sidecar or a gateway): without one,
// the application's own client sees the raw TCP outcome instead of a 503.
// http says whether the port carries HTTP (TCP ports see connection closes).
func response(cause string, viaProxy, http bool) (status int, e Envoy) {
	if !viaProxy {
		switch cause {
		case CausePlaintextToStrict:
			// istio.io mTLS migration task: curl prints 000 and exits 56 against STRICT.
			return 0, Envoy{Message: "connection reset by peer (curl: (56) Recv failure: Connection reset by peer)"}
		case CausePortNotListening:
			return 0, Envoy{Message: "connection refused (curl: (7) Failed to connect: Connection refused)"}
		case CauseAuthzDenied:
			if http {
				return 403, Envoy{Message: msgRBAC, Details: "rbac_access_denied_matched_policy[none]"}
			}
			return 0, Envoy{Message: "connection closed by the server's RBAC filter (curl: (52) Empty reply from server)"}
		case CauseNoEndpoints:
			return 0, Envoy{Message: "no pod answers on the service's cluster IP (curl: (7) Failed to connect, or a timeout)"}
		case CauseUnknownHost:
			// No proxy: the application's own DNS lookup decides; a name no
			// Service declares does not resolve inside the cluster.
			return 0, Envoy{Message: "no Service has this name: the lookup fails unless DNS resolves it outside the cluster (curl: (6) Could not resolve host)"}
		}
	}
	switch cause {
	case CausePlaintextToStrict:
		if !http {
			return 0, Envoy{ResponseFlags: "UC", Message: "connection closed by the server's sidecar (no filter chain matches plaintext)"}
		}
		return 503, Envoy{ResponseFlags: "UC", Message: msgConnTermination, Details: "upstream_reset_before_response_started{connection_termination}"}
	case CauseMTLSToNonMesh:
		return 503, Envoy{ResponseFlags: "UF,URX", Message: msgWrongVersion, Details: "upstream_reset_before_response_started{remote_connection_failure,TLS_error:_WRONG_VERSION_NUMBER}"}
	case CauseSANMismatch:
		return 503, Envoy{ResponseFlags: "UF,URX", Message: msgVerifyFailed, Details: "upstream_reset_before_response_started{remote_connection_failure,TLS_error:_CERTIFICATE_VERIFY_FAILED}"}
	case CausePortNotListening:
		return 503, Envoy{ResponseFlags: "UF,URX", Message: msgConnRefused, Details: "upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_Connection_refused}"}
	case CauseTLSToSidecar:
		// INFERRED (ISTIO-SEMANTICS.md §5.4, "TLS without client certificate"):
		// the server aborts the handshake; Istio's simulation reports ErrMTLSError.
		return 503, Envoy{ResponseFlags: "UF,URX", Message: msgHandshake, Details: "upstream_reset_before_response_started{remote_connection_failure,TLS_error:_SSLV3_ALERT_HANDSHAKE_FAILURE}"}
	case CauseNoEndpoints:
		return 503, Envoy{ResponseFlags: "UH", Message: msgNoHealthy, Details: "no_healthy_upstream"}
	case CauseNoRoute:
		return 404, Envoy{ResponseFlags: "NR", Message: "", Details: "route_not_found"}
	case CauseUnknownSubset:
		return 503, Envoy{ResponseFlags: "NC", Message: "", Details: "cluster_not_found"}
	case CauseAuthzDenied:
		if !http {
			return 0, Envoy{Message: "connection closed by the server's RBAC filter", Details: "rbac_access_denied_matched_policy[none]"}
		}
		return 403, Envoy{Message: msgRBAC, Details: "rbac_access_denied_matched_policy[none]"}
	case CauseUnknownHost:
		// REGISTRY_ONLY: the block_all virtual host answers 502 directly
		// (pilot/pkg/networking/core/httproute.go).
		return 502, Envoy{Message: "", Details: "direct_response"}
	}
	return 0, Envoy{}
}
