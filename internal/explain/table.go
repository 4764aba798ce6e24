// Package explain reads what a user saw — an Envoy response body, a curl error
// or an Istio access-log line — says what each part means, and ranks the
// cause codes of SPEC.md that can produce it. Every text and flag it knows is a
// row of one table (Table) that cites where Envoy or Istio produces it; the
// ranking is computed from the rows the input matched, never written per
// input. Narrow adds what the configuration says (a trace of the request).
// The package touches no files and no cluster.
package explain

import (
	"regexp"

	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Field is the part of the input a row reads.
type Field string

// Fields of an input. The access-log ones are the operators of Istio's default
// TEXT format (istio pilot/pkg/model/telemetry_logging.go EnvoyTextLogFormat).
const (
	FieldBody        Field = "body"                     // a sentence of Envoy's local reply body
	FieldRetried     Field = "retried"                  // "retried and the latest"
	FieldReset       Field = "reset reason"             // "reset reason: X"
	FieldTransport   Field = "transport failure reason" // %UPSTREAM_TRANSPORT_FAILURE_REASON%
	FieldStatus      Field = "response code"            // %RESPONSE_CODE%
	FieldFlag        Field = "response flag"            // one flag of %RESPONSE_FLAGS%
	FieldDetails     Field = "response code details"    // %RESPONSE_CODE_DETAILS%
	FieldTermination Field = "connection termination"   // %CONNECTION_TERMINATION_DETAILS%
	FieldCluster     Field = "upstream cluster"         // %UPSTREAM_CLUSTER_RAW%
	FieldCurl        Field = "curl error"               // curl: (N) ...
)

// Level is how strongly a row points at a cause.
type Level int

// Levels of support; Exclude rules a cause out.
const (
	Weak Level = iota + 1
	Medium
	Strong
	Exclude
)

// Effect is what one row says about one cause.
type Effect struct {
	Cause string
	Level Level
	// Why: for a support, why the row fits the cause; for Exclude, why the
	// cause cannot produce it.
	Why string
}

// Row is one text or flag meshdoctor recognises.
type Row struct {
	// ID is stable and unique: field-value.
	ID    string
	Field Field
	// Match is applied to the part's text normalised by Normalize (lower case,
	// underscores as spaces), so that a log's "delayed_connect_error:_111"
	// and a body's "delayed connect error: 111" meet one row.
	Match *regexp.Regexp
	// Meaning says what the part means, in one sentence.
	Meaning string
	// Source is where Envoy, Istio, Kubernetes or curl produce the text.
	Source string
	// Effects on the causes; causes not named are left as they are.
	Effects []Effect
	// Note is said when the row points at something no cause code covers.
	Note string
	// Example is an input (as a user would paste it) that contains the row.
	Example string
}

// Causes are the codes explain ranks, in SPEC.md's order, then the codes
// docs/causes.md adds. Ties in the ranking keep this order.
var Causes = []string{
	trace.CausePortNotListening,
	trace.CausePlaintextToStrict,
	trace.CauseMTLSToNonMesh,
	trace.CauseSANMismatch,
	trace.CauseTLSToSidecar,
	trace.CauseAuthzDenied,
	trace.CauseNoEndpoints,
	trace.CauseNoRoute,
	trace.CauseUnknownSubset,
	trace.CauseUnknownHost,
}

// tlsFamily are the causes that come from the TLS settings of the two sides.
var tlsFamily = []string{trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar}

// Reasons shared by several rows.
const (
	whyRefusedNotTLS = "ECONNREFUSED is a TCP refusal: the destination's kernel answered the SYN with a reset because nothing listens on that address and port, so no TLS byte was ever exchanged; an mTLS mode mismatch needs an accepted connection and shows as a reset after connect (connection termination, UC) or as a TLS error"
	whyAuthzAfter    = "authorization runs on a connection the server's sidecar has accepted: a deny is a 403 \"RBAC: access denied\" (HTTP) or a close (TCP), never a failed connect"
	whyNoEndpoint    = "with no endpoint Envoy does not connect at all: it answers 503 \"no healthy upstream\" (UH)"
	whyNoRoute       = "a missing route is answered before any connection: 404 with an empty body (NR)"
	whyNoSubset      = "a route to an undefined subset has no cluster and is answered before any connection: 503 with an empty body (NC)"
	whyUnknownHost   = "an unknown host is answered before any connection (502 under REGISTRY_ONLY, 503 NC at a gateway); under ALLOW_ANY it leaves through PassthroughCluster, and a connection error there is the external address's own"
	whyPlainIsUC     = "plaintext into a STRICT port connects, then the server's sidecar closes it (no filter chain matches): Envoy reports connection termination (UC), not a connection failure"
	whyRefuseIsUF    = "a port nobody listens on refuses the connect: that is a connection failure (UF) with \"Connection refused\", not a termination after connect"
	whyTLSIsUF       = "a TLS handshake failure is a connection failure (UF) with a TLS transport failure reason, not a termination after connect"
	whyConnected     = "the TCP connection was accepted, so something listens on the port"
	whyInboundTLSOK  = "the server's sidecar logged its inbound cluster: it had accepted the caller's connection (mTLS included) and was forwarding to the application, so the TLS hop worked"
	whySucceeded     = "the request succeeded"
)

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }

func support(level Level, why string, causes ...string) []Effect {
	out := make([]Effect, 0, len(causes))
	for _, c := range causes {
		out = append(out, Effect{Cause: c, Level: level, Why: why})
	}
	return out
}

func exclude(why string, causes ...string) []Effect { return support(Exclude, why, causes...) }

func effects(groups ...[]Effect) []Effect {
	var out []Effect
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// Sources cited by many rows.
const (
	srcFlags      = "Envoy docs, access log usage, %RESPONSE_FLAGS% (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#config-access-log-format-response-flags)"
	srcRouterBody = "Envoy source/common/router/router.cc Filter::onUpstreamReset (body \"upstream connect error or disconnect/reset before headers. \" [\"retried and the latest \"] \"reset reason: \" ...)"
	srcResetText  = "Envoy source/common/http/utility.cc resetReasonToString; flag from router.cc streamResetReasonToResponseFlag"
	srcDelayed    = "Envoy source/common/network/connection_impl.cc (setFailureReason(\"delayed connect error: \" + errorDetails(errno))); errorDetails is strerror since Envoy 1.27, the bare errno before"
	srcTLS        = "Envoy source/common/tls/ssl_socket.cc (failure reason \"TLS_error:|code:lib:func:reason:TLS_error_end\", older \"TLS error: code:...\"); istio/istio#33208, istio/istio#35870"
	srcDetails    = "Envoy source/common/stream_info/utility.h ResponseCodeDetailValues"
	srcIstioLog   = "Istio pilot/pkg/model/telemetry_logging.go EnvoyTextLogFormat; Istio docs, Envoy access logs (https://istio.io/latest/docs/tasks/observability/logs/access-log/)"
	srcClusters   = "Istio pilot/pkg/model/service.go BuildSubsetKey (\"direction|port|subset|host\"); pilot/pkg/util/network/constants.go PassthroughCluster, BlackHoleCluster, InboundPassthroughCluster"
	srcMTLSTask   = "istio.io mTLS migration task: a client without sidecar against STRICT gets 000 and curl exit code 56 (https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/)"
	srcCurl       = "curl man page, EXIT CODES (https://curl.se/docs/manpage.html#EXIT)"
)

// Table is every text and flag explain knows, with its source. Tests cover
// each row with its Example; docs/explain.md is generated from it.
var Table = []Row{
	// --- Envoy local reply bodies ---
	{
		ID: "body-upstream-reset", Field: FieldBody,
		Match:   re(`^upstream connect error or disconnect/reset before headers`),
		Meaning: "Envoy's router answered itself, 503: the connection to the upstream failed, or was reset before response headers came back",
		Source:  srcRouterBody,
		Effects: effects(
			support(Weak, "Envoy tried a connection to the upstream and it failed", trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar),
			exclude(whyAuthzAfter, trace.CauseAuthzDenied),
			exclude(whyNoEndpoint, trace.CauseNoEndpoints),
			exclude(whyNoRoute, trace.CauseNoRoute),
			exclude(whyNoSubset, trace.CauseUnknownSubset),
			exclude(whyUnknownHost, trace.CauseUnknownHost),
		),
		Example: "upstream connect error or disconnect/reset before headers.",
	},
	{
		ID: "body-no-healthy-upstream", Field: FieldBody,
		Match:   re(`^no healthy upstream$`),
		Meaning: "Envoy had no healthy endpoint for the cluster and did not connect (503, UH)",
		Source:  "Envoy source/common/router/router.cc Filter::sendNoHealthyUpstreamResponse",
		Effects: effects(
			support(Strong, "the cluster has no healthy endpoint: the Service selects no ready pod, or a subset's labels match none", trace.CauseNoEndpoints),
			exclude("Envoy did not connect: it had no endpoint to connect to", trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar, trace.CauseAuthzDenied),
			exclude("the cluster exists (a missing one is NC with an empty body)", trace.CauseUnknownSubset, trace.CauseNoRoute),
		),
		Example: "no healthy upstream",
	},
	{
		ID: "body-rbac-denied", Field: FieldBody,
		Match:   re(`^rbac: access denied$`),
		Meaning: "Envoy's HTTP RBAC filter, which enforces AuthorizationPolicy, denied the request (403)",
		Source:  "Envoy source/extensions/filters/http/rbac/rbac_filter.cc (sendLocalReply(Forbidden, \"RBAC: access denied\"))",
		Effects: effects(
			support(Strong, "an AuthorizationPolicy denies the request (a DENY rule matched, or ALLOW policies exist and none matched)", trace.CauseAuthzDenied),
			exclude("the request reached the server's sidecar over a working connection and was answered", trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar, trace.CauseNoEndpoints, trace.CauseNoRoute, trace.CauseUnknownSubset),
		),
		Example: "RBAC: access denied",
	},
	{
		ID: "body-upstream-timeout", Field: FieldBody,
		Match:   re(`^upstream request timeout$`),
		Meaning: "the upstream accepted the request but sent no response headers within the route's timeout (504, UT)",
		Source:  "Envoy source/common/router/router.cc Filter::onUpstreamTimeout",
		Effects: effects(
			exclude("the connection was made and the request sent: the upstream was too slow", trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar, trace.CauseNoEndpoints, trace.CauseNoRoute, trace.CauseUnknownSubset),
		),
		Note:    "a timeout is no configuration cause meshdoctor models: look at the application's latency and the VirtualService timeout",
		Example: "upstream request timeout",
	},
	{
		ID: "retried", Field: FieldRetried,
		Match:   re(`^retried and the latest$`),
		Meaning: "the router retried and reports the last attempt; Istio's default route retry policy retries connect failures twice (retryOn connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes)",
		Source:  "Envoy router.cc onUpstreamReset (is_retry_); Istio pilot/pkg/networking/core/route/retry/retry.go DefaultPolicy",
		Example: "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure",
	},
	// --- reset reasons ---
	{
		ID: "reset-remote-connection-failure", Field: FieldReset,
		Match: re(`^remote connection failure$`), Meaning: "the TCP connect or the TLS handshake with the upstream failed (UF)",
		Source: srcResetText, Effects: connectFailureEffects(), Example: "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
	},
	{
		ID: "reset-local-connection-failure", Field: FieldReset,
		Match: re(`^local connection failure$`), Meaning: "the connection to the upstream failed on Envoy's side of it, e.g. its own connect() or TLS setup (UF)",
		Source: srcResetText, Effects: connectFailureEffects(), Example: "upstream_reset_before_response_started{local_connection_failure}",
	},
	{
		ID: "reset-connection-failure", Field: FieldReset,
		Match: re(`^connection failure$`), Meaning: "older Envoy's single wording for a failed connect or TLS handshake (UF)",
		Source: srcResetText + "; older wording in istio/istio#35870", Effects: connectFailureEffects(),
		Example: "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
	},
	{
		ID: "reset-connection-termination", Field: FieldReset,
		Match:   re(`^connection termination$`),
		Meaning: "the upstream connection was established, then closed before response headers (UC)",
		Source:  srcResetText + "; ISTIO-SEMANTICS.md §5.4",
		Effects: effects(
			support(Strong, "a STRICT server's sidecar closes a plaintext connection: no filter chain matches it", trace.CausePlaintextToStrict),
			support(Weak, "an application without TLS may close the connection on a TLS client hello instead of answering in plaintext", trace.CauseMTLSToNonMesh),
			exclude(whyRefuseIsUF, trace.CausePortNotListening),
			exclude(whyTLSIsUF, trace.CauseSANMismatch, trace.CauseTLSToSidecar),
		),
		Example: "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
	},
	{
		ID: "reset-connection-timeout", Field: FieldReset,
		Match:   re(`^connection timeout$`),
		Meaning: "the TCP connect got no answer within the cluster's connect timeout (UF)",
		Source:  srcResetText,
		Effects: effects(
			exclude("a port nobody listens on refuses at once; a timeout means nothing answered at all", trace.CausePortNotListening),
			exclude("the TCP connection never completed, so no TLS was exchanged", tlsFamily...),
		),
		Note:    "a connect timeout is no configuration cause meshdoctor models: packets are dropped (NetworkPolicy, firewall) or the endpoint is gone",
		Example: "upstream connect error or disconnect/reset before headers. reset reason: connection timeout",
	},
	{
		ID: "reset-remote-reset", Field: FieldReset,
		Match:   re(`^remote reset$`),
		Meaning: "the upstream reset the stream after the connection was made (UR)",
		Source:  srcResetText,
		Effects: exclude(whyConnected, trace.CausePortNotListening),
		Note:    "a stream reset by the upstream is no configuration cause meshdoctor models: look at the application and its proxy's log",
		Example: "upstream connect error or disconnect/reset before headers. reset reason: remote reset",
	},
	{
		ID: "reset-overflow", Field: FieldReset,
		Match:   re(`^overflow$`),
		Meaning: "a circuit breaker (DestinationRule connectionPool limits) refused the request locally (UO)",
		Source:  srcResetText,
		Effects: exclude("Envoy did not connect: its circuit breaker refused the request", append([]string{trace.CausePortNotListening}, tlsFamily...)...),
		Note:    "circuit breaking is no cause code: look at the DestinationRule's connectionPool and outlierDetection",
		Example: "upstream_reset_before_response_started{overflow}",
	},
	{
		ID: "reset-protocol-error", Field: FieldReset,
		Match:   re(`^protocol error$`),
		Meaning: "the upstream's bytes were not the HTTP Envoy expected (502, UPE): e.g. a port declared http2/grpc that speaks HTTP/1.1",
		Source:  srcResetText,
		Effects: exclude(whyConnected, trace.CausePortNotListening),
		Note:    "a protocol error is no cause code: check the Service port's name or appProtocol against what the application speaks",
		Example: "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
	},
	{
		ID: "reset-local-reset", Field: FieldReset,
		Match:   re(`^local reset$`),
		Meaning: "Envoy itself reset the upstream stream (LR)",
		Source:  srcResetText,
		Example: "upstream_reset_before_response_started{local_reset}",
	},
	// --- transport failure reasons ---
	{
		ID: "transport-refused-errno", Field: FieldTransport,
		Match:   re(`delayed connect error: 111$`),
		Meaning: "ECONNREFUSED (errno 111, older Envoy's wording): the destination refused the TCP connection, nothing listens on that address and port",
		Source:  srcDelayed,
		Effects: refusedEffects(), Example: "[2023-01-01T14:47:26.285Z] \"GET /hello HTTP/1.1\" 503 UF upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111} - \"delayed_connect_error:_111\" 0 145 0 - \"-\" \"curl/7.87.0-DEV\" \"35e82df8-1262-9404-8ad2-303b8613955c\" \"helloworld:5000\" \"10.1.2.31:5000\" inbound|5000|| - 10.1.2.31:5000 172.16.9.8:5067 - default",
	},
	{
		ID: "transport-refused-text", Field: FieldTransport,
		Match:   re(`delayed connect error: connection refused$`),
		Meaning: "ECONNREFUSED (newer Envoy's wording): the destination refused the TCP connection, nothing listens on that address and port",
		Source:  srcDelayed,
		Effects: refusedEffects(), Example: "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused",
	},
	{
		ID: "transport-unreachable", Field: FieldTransport,
		Match:   re(`delayed connect error: (113|no route to host)$`),
		Meaning: "EHOSTUNREACH: no host answers at the endpoint's address (a stale endpoint, a deleted pod, the pod network)",
		Source:  srcDelayed,
		Effects: exclude("nothing answered at the address, so no port or TLS question arose", append([]string{trace.CausePortNotListening}, tlsFamily...)...),
		Note:    "an unreachable host is no configuration cause meshdoctor models: look at the endpoints and the pod network",
		Example: "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: 113",
	},
	{
		ID: "transport-tls-error", Field: FieldTransport,
		Match:   re(`^tls error`),
		Meaning: "the TLS handshake with the upstream failed; BoringSSL's reason follows (newer Envoy: TLS_error:|...:TLS_error_end, older: TLS error: ...)",
		Source:  srcTLS,
		Effects: effects(
			support(Medium, "the caller's proxy originated TLS and the handshake failed", trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar),
			exclude(whyConnected+": a TLS error comes after the connect", trace.CausePortNotListening),
			exclude("the caller originated TLS, not plaintext", trace.CausePlaintextToStrict),
		),
		Example: "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED",
	},
	{
		ID: "transport-tls-wrong-version", Field: FieldTransport,
		Match:   re(`wrong version number`),
		Meaning: "WRONG_VERSION_NUMBER (268435703): the caller spoke TLS and the server answered with bytes that are not TLS, i.e. in plaintext",
		Source:  srcTLS,
		Effects: effects(
			support(Strong, "the caller originates Istio mTLS to an endpoint that answers in plaintext: no sidecar, or a port under DISABLE", trace.CauseMTLSToNonMesh),
			support(Weak, "a sidecar port under DISABLE also answers a TLS client hello in plaintext", trace.CauseTLSToSidecar),
			exclude("the handshake ended before any certificate was seen", trace.CauseSANMismatch),
		),
		Example: "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end",
	},
	{
		ID: "transport-tls-verify-failed", Field: FieldTransport,
		Match:   re(`certificate verify failed`),
		Meaning: "CERTIFICATE_VERIFY_FAILED (268435581): the server's certificate did not verify: its SAN is not one the client expects, or its root is not trusted",
		Source:  srcTLS,
		Effects: effects(
			support(Medium, "the server presented a certificate the client rejects: DestinationRule subjectAltNames, or a foreign trust domain or root", trace.CauseSANMismatch),
			exclude("the server presented a certificate, so it terminates TLS", trace.CauseMTLSToNonMesh),
		),
		Example: "upstream_reset_before_response_started{remote_connection_failure,TLS_error:_CERTIFICATE_VERIFY_FAILED}",
	},
	{
		ID: "transport-tls-verify-san", Field: FieldTransport,
		Match:   re(`verify san list`),
		Meaning: "newer Envoy's detail of CERTIFICATE_VERIFY_FAILED: no SAN of the server's certificate is in the list the client was given",
		Source:  srcTLS + "; Envoy source/common/tls/cert_validator/default_validator.cc (\"verify cert failed: verify SAN list\")",
		Effects: support(Strong, "the client's SAN list (DestinationRule subjectAltNames, or the identities Istio expects) does not contain the server's identity", trace.CauseSANMismatch),
		Example: "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify cert failed: verify SAN list:TLS_error_end",
	},
	{
		ID: "transport-tls-handshake-failure", Field: FieldTransport,
		Match:   re(`alert handshake failure`),
		Meaning: "the server aborted the TLS handshake with a handshake-failure alert: it cannot accept what the client offered",
		Source:  srcTLS + "; ISTIO-SEMANTICS.md §5.4 (TLS without client certificate into STRICT; inferred)",
		Effects: effects(
			support(Medium, "the client originates its own TLS (DestinationRule SIMPLE or MUTUAL) and the server's sidecar wants Istio mTLS", trace.CauseTLSToSidecar),
			exclude("the server speaks TLS: it sent a TLS alert", trace.CauseMTLSToNonMesh),
		),
		Example: "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:|268435648:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE:TLS_error_end",
	},
	{
		ID: "transport-tls-cert-required", Field: FieldTransport,
		Match:   re(`certificate required`),
		Meaning: "the server required a client certificate and got none",
		Source:  srcTLS + "; Istio pilot/pkg/security/authn/utils/utils.go BuildInboundTLS (RequireClientCertificate on STRICT and PERMISSIVE mTLS chains)",
		Effects: effects(
			support(Strong, "a sidecar's mTLS chain requires a mesh client certificate, and a DestinationRule SIMPLE client has none", trace.CauseTLSToSidecar),
			exclude("the server speaks TLS: it sent a TLS alert", trace.CauseMTLSToNonMesh),
		),
		Example: "upstream_reset_before_response_started{remote_connection_failure,TLS_error:_268436502:SSL_routines:OPENSSL_internal:TLSV13_ALERT_CERTIFICATE_REQUIRED}",
	},
	// --- response code details ---
	{
		ID: "details-upstream-reset", Field: FieldDetails,
		Match:   re(`^upstream reset before response started\{`),
		Meaning: "the access log's form of the body \"upstream connect error or disconnect/reset before headers\": {reset reason[,transport failure reason]}",
		Source:  srcDetails + " (UpstreamResetBeforeResponseStarted); " + srcRouterBody,
		Effects: effects(
			support(Weak, "Envoy tried a connection to the upstream and it failed", trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar),
			exclude(whyNoEndpoint, trace.CauseNoEndpoints),
			exclude(whyNoRoute, trace.CauseNoRoute),
			exclude(whyNoSubset, trace.CauseUnknownSubset),
		),
		Example: "x-envoy-response-code-details: upstream_reset_before_response_started{local_reset}",
	},
	{
		ID: "details-no-healthy-upstream", Field: FieldDetails,
		Match: re(`^no healthy upstream$`), Meaning: "the access log's form of \"no healthy upstream\": no healthy endpoint, no connection made",
		Source:  srcDetails + " (NoHealthyUpstream)",
		Effects: support(Strong, "the cluster has no healthy endpoint: the Service selects no ready pod", trace.CauseNoEndpoints),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 503 UH no_healthy_upstream - \"-\" 0 19 0 - \"-\" \"curl/8.5.0\" \"1\" \"cart.shop:80\" \"-\" outbound|80||cart.shop.svc.cluster.local - 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "details-route-not-found", Field: FieldDetails,
		Match: re(`^route not found$`), Meaning: "no route of the listener matched the request's host and path (404, NR)",
		Source: srcDetails + " (RouteNotFound); Envoy router.cc decodeHeaders",
		Effects: effects(
			support(Strong, "no Gateway server or VirtualService route matches the host and path", trace.CauseNoRoute),
			exclude("this NR is an HTTP route miss, not a listener's filter chain", trace.CausePlaintextToStrict),
		),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /checkout/ HTTP/1.1\" 404 NR route_not_found - \"-\" 0 0 0 - \"10.0.0.1\" \"curl/8.5.0\" \"2\" \"shop.example.com\" \"-\" - - 10.4.1.5:8080 10.0.0.1:51234 - -",
	},
	{
		ID: "details-cluster-not-found", Field: FieldDetails,
		Match: re(`^cluster not found$`), Meaning: "the route's cluster does not exist on this proxy (503 with an empty body, NC)",
		Source: srcDetails + " (ClusterNotFound)",
		Effects: effects(
			support(Strong, "the route names a subset no DestinationRule visible to the caller defines", trace.CauseUnknownSubset),
			support(Medium, "a route to a host no registry knows has no cluster either", trace.CauseUnknownHost),
		),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 503 NC cluster_not_found - \"-\" 0 0 0 - \"-\" \"curl/8.5.0\" \"3\" \"cart\" \"-\" - - 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "details-rbac-denied", Field: FieldDetails,
		Match:   re(`^rbac access denied matched policy\[`),
		Meaning: "the RBAC filter (AuthorizationPolicy) denied; [none]: ALLOW policies select the workload and none matched; otherwise the DENY policy that matched, ns[NS]-policy[NAME]-rule[N]",
		Source:  "Envoy source/extensions/filters/http/rbac/rbac_filter.cc (\"rbac_access_denied_matched_policy[\" + policy + \"]\"); Istio docs, security troubleshooting (https://istio.io/latest/docs/ops/common-problems/security-issues/)",
		Effects: effects(
			support(Strong, "an AuthorizationPolicy denies the request", trace.CauseAuthzDenied),
			exclude("the request reached the server's sidecar over a working connection", trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar, trace.CauseNoEndpoints),
		),
		Example: "[2025-07-22T17:55:49.074Z] \"GET / HTTP/1.1\" 403 - rbac_access_denied_matched_policy[none] - \"-\" 0 19 0 - \"10.244.1.1\" \"curl/8.14.1\" \"ff387ab3-186d-4e3f-9695-0f884acb4e20\" \"172.18.10.10\" \"-\" inbound|80|| - 10.244.1.9:80 10.244.1.1:0 outbound_.80_._.nginx-svc.default.svc.cluster.local default",
	},
	{
		ID: "details-ext-authz-denied", Field: FieldDetails,
		Match: re(`^ext authz denied$`), Meaning: "an external authorizer (AuthorizationPolicy action CUSTOM) denied the request",
		Source:  "Envoy source/extensions/filters/http/ext_authz/ext_authz.cc (RcDetails ext_authz_denied)",
		Effects: support(Strong, "a CUSTOM AuthorizationPolicy's provider denies the request", trace.CauseAuthzDenied),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /admin HTTP/1.1\" 403 UAEX ext_authz_denied - \"-\" 0 0 3 - \"-\" \"curl/8.5.0\" \"4\" \"cart\" \"-\" inbound|8080|| - 10.0.0.9:8080 10.0.0.5:41000 - default",
	},
	{
		ID: "details-filter-chain-not-found", Field: FieldDetails,
		Match:   re(`^filter chain not found$`),
		Meaning: "a listener had no filter chain for the connection and closed it (NR on the server's sidecar)",
		Source:  "Envoy source/common/listener_manager/active_stream_listener_base.cc (NoRouteFound + FilterChainNotFound); Istio pilot/pkg/networking/core/filterchain_options.go",
		Effects: effects(
			support(Strong, "plaintext into a STRICT port matches no filter chain of the server's sidecar", trace.CausePlaintextToStrict),
			support(Medium, "non-Istio TLS into an HTTP port matches no filter chain either", trace.CauseTLSToSidecar),
			exclude("this NR is the listener's filter chain, not an HTTP route", trace.CauseNoRoute),
		),
		Example: "[2024-01-01T00:00:00.000Z] \"- - -\" 0 NR filter_chain_not_found - \"-\" 0 0 0 - \"-\" \"-\" \"-\" \"-\" \"-\" - - 10.0.0.9:8080 10.0.0.7:52000 - -",
	},
	{
		ID: "details-via-upstream", Field: FieldDetails,
		Match:   re(`^via upstream$`),
		Meaning: "the status came from upstream, and this proxy relayed it; a 503 relayed by a caller's proxy may be the server sidecar's own reply, so look at the server's log",
		Source:  srcDetails + " (ViaUpstream)",
		Example: "[2024-01-01T00:00:00.000Z] \"GET /blog/ HTTP/1.1\" 503 - via_upstream - \"-\" 0 145 3 2 \"10.0.0.1\" \"curl/8.5.0\" \"5\" \"titanium.example.com\" \"10.4.2.7:8005\" outbound|8005||prod-blog-service.titanium-prod.svc.cluster.local 10.4.1.5:40000 10.4.1.5:8080 10.0.0.1:51234 - -",
	},
	{
		ID: "details-direct-response", Field: FieldDetails,
		Match:   re(`^direct response$`),
		Meaning: "a route answered without any upstream: a VirtualService directResponse, or Istio's block_all route under REGISTRY_ONLY (502)",
		Source:  srcDetails + " (DirectResponse); Istio pilot/pkg/networking/core/httproute.go (block_all virtual host)",
		Effects: support(Medium, "under outboundTrafficPolicy REGISTRY_ONLY a host in no registry gets the block_all route's 502", trace.CauseUnknownHost),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /pay HTTP/1.1\" 502 - direct_response - \"-\" 0 0 0 - \"-\" \"curl/8.5.0\" \"6\" \"payments.example.com\" \"-\" block_all - 93.184.216.34:80 10.0.0.5:41000 - block_all",
	},
	// --- response flags ---
	{
		ID: "flag-UF", Field: FieldFlag, Match: re(`^uf$`),
		Meaning: "upstream connection failure: the connect or the TLS handshake failed",
		Source:  srcFlags,
		Effects: effects(
			support(Medium, "a connect or TLS handshake failure", trace.CausePortNotListening, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar),
			exclude(whyPlainIsUC, trace.CausePlaintextToStrict),
			exclude(whyNoEndpoint, trace.CauseNoEndpoints),
			exclude(whyNoRoute, trace.CauseNoRoute),
			exclude(whyNoSubset, trace.CauseUnknownSubset),
			exclude(whyAuthzAfter, trace.CauseAuthzDenied),
			exclude(whyUnknownHost, trace.CauseUnknownHost),
		),
		Example: `[2024-01-01T00:00:00.000Z] "GET /items HTTP/1.1" 503 UF - - "-" 0 91 0 - "-" "curl/8.5.0" "1" "cart" "10.0.0.9:8080" outbound|80||cart.shop.svc.cluster.local - 10.96.0.10:80 10.0.0.5:41000 - default`,
	},
	{
		ID: "flag-URX", Field: FieldFlag, Match: re(`^urx$`),
		Meaning: "upstream retry limit exceeded: every attempt failed; the last attempt's reason is in the details",
		Source:  srcFlags + "; router.cc maybeRetryReset",
		Example: "[2024-01-01T00:00:00.000Z] \"GET /blog/ HTTP/1.1\" 503 UF,URX upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_Connection_refused} - \"delayed_connect_error:_Connection_refused\" 0 190 52 - \"10.0.0.1\" \"curl/8.5.0\" \"7\" \"titanium.example.com\" \"10.4.2.7:8005\" outbound|8005||prod-blog-service.titanium-prod.svc.cluster.local - 10.4.1.5:8080 10.0.0.1:51234 - -",
	},
	{
		ID: "flag-UC", Field: FieldFlag, Match: re(`^uc$`),
		Meaning: "upstream connection termination: the connection was made, then closed before a response",
		Source:  srcFlags,
		Effects: effects(
			support(Strong, "a STRICT server's sidecar closes a plaintext connection", trace.CausePlaintextToStrict),
			support(Weak, "an application without TLS may close the connection on a TLS client hello", trace.CauseMTLSToNonMesh),
			exclude(whyRefuseIsUF, trace.CausePortNotListening),
			exclude(whyTLSIsUF, trace.CauseSANMismatch, trace.CauseTLSToSidecar),
		),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 503 UC upstream_reset_before_response_started{connection_termination} - \"-\" 0 95 1 - \"-\" \"curl/8.5.0\" \"8\" \"cart\" \"10.0.0.9:8080\" outbound|80||cart.shop.svc.cluster.local 10.0.0.5:42000 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-UH", Field: FieldFlag, Match: re(`^uh$`),
		Meaning: "no healthy upstream: the cluster has no healthy endpoint",
		Source:  srcFlags,
		Effects: effects(
			support(Strong, "the Service selects no ready pod (or a subset's labels match none)", trace.CauseNoEndpoints),
			exclude("Envoy did not connect: it had no endpoint to connect to", trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar, trace.CauseAuthzDenied),
			exclude("the cluster exists (a missing one is NC)", trace.CauseUnknownSubset),
		),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 503 UH no_healthy_upstream - \"-\" 0 19 0 - \"-\" \"curl/8.5.0\" \"9\" \"cart\" \"-\" outbound|80||cart.shop.svc.cluster.local - 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-NR", Field: FieldFlag, Match: re(`^nr$`),
		Meaning: "no route configured for the request, or (on a listener) no filter chain for the connection",
		Source:  srcFlags,
		Effects: effects(
			support(Strong, "no Gateway server or VirtualService route matches the host and path", trace.CauseNoRoute),
			support(Medium, "on the server's sidecar, NR also means no filter chain took the connection: plaintext into STRICT", trace.CausePlaintextToStrict),
			exclude("no upstream connection was attempted", trace.CausePortNotListening, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch),
		),
		Example: `[2024-01-01T00:00:00.000Z] "GET /checkout/ HTTP/1.1" 404 NR - - "-" 0 0 0 - "10.0.0.1" "curl/8.5.0" "10" "shop.example.com" "-" - - 10.4.1.5:8080 10.0.0.1:51234 - -`,
	},
	{
		ID: "flag-NC", Field: FieldFlag, Match: re(`^nc$`),
		Meaning: "no cluster: the route's upstream cluster does not exist on this proxy",
		Source:  srcFlags,
		Effects: effects(
			support(Strong, "the route names a subset no DestinationRule visible to the caller defines", trace.CauseUnknownSubset),
			support(Medium, "a route to a host no registry knows has no cluster either", trace.CauseUnknownHost),
			exclude("no upstream connection was attempted", trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar, trace.CauseNoEndpoints),
		),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 503 NC cluster_not_found - \"-\" 0 0 0 - \"-\" \"curl/8.5.0\" \"11\" \"cart\" \"-\" - - 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-UAEX", Field: FieldFlag, Match: re(`^uaex$`),
		Meaning: "unauthorized external service: the external authorizer (ext_authz) denied",
		Source:  srcFlags + "; Istio AuthorizationPolicy action CUSTOM (https://istio.io/latest/docs/tasks/security/authorization/authz-custom/)",
		Effects: support(Strong, "a CUSTOM AuthorizationPolicy's provider denies the request", trace.CauseAuthzDenied),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /admin HTTP/1.1\" 403 UAEX ext_authz_denied - \"-\" 0 0 3 - \"-\" \"curl/8.5.0\" \"12\" \"cart\" \"-\" inbound|8080|| - 10.0.0.9:8080 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-RBAC", Field: FieldFlag, Match: re(`^rbac$`),
		Meaning: "not a flag Envoy writes: its RBAC filter sets none (the log shows \"-\" and rbac_access_denied_matched_policy[...] in the details); read as an RBAC deny",
		Source:  "Envoy source/common/stream_info/utility.h (the flag list has no RBAC); Envoy source/extensions/filters/http/rbac/rbac_filter.cc",
		Effects: support(Strong, "an AuthorizationPolicy denies the request", trace.CauseAuthzDenied),
		Example: "[2024-01-01T00:00:00.000Z] \"GET / HTTP/1.1\" 403 RBAC rbac_access_denied_matched_policy[none] - \"-\" 0 19 0 - \"-\" \"curl/8.5.0\" \"13\" \"cart\" \"-\" inbound|8080|| - 10.0.0.9:8080 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-UO", Field: FieldFlag, Match: re(`^uo$`),
		Meaning: "upstream overflow: a circuit breaker refused the request",
		Source:  srcFlags,
		Note:    "circuit breaking is no cause code: look at the DestinationRule's connectionPool",
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 503 UO upstream_reset_before_response_started{overflow} - \"-\" 0 81 0 - \"-\" \"curl/8.5.0\" \"14\" \"cart\" \"-\" outbound|80||cart.shop.svc.cluster.local - 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-UT", Field: FieldFlag, Match: re(`^ut$`),
		Meaning: "upstream request timeout: no response within the route's timeout",
		Source:  srcFlags,
		Effects: exclude("the connection was made and the request sent: the upstream was too slow", trace.CausePortNotListening, trace.CausePlaintextToStrict, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar),
		Note:    "a timeout is no configuration cause meshdoctor models: look at the application's latency and the VirtualService timeout",
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 504 UT response_timeout - \"-\" 0 24 15000 - \"-\" \"curl/8.5.0\" \"15\" \"cart\" \"10.0.0.9:8080\" outbound|80||cart.shop.svc.cluster.local 10.0.0.5:42000 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-UR", Field: FieldFlag, Match: re(`^ur$`),
		Meaning: "upstream remote reset: the upstream reset the connection or stream",
		Source:  srcFlags,
		Effects: exclude(whyConnected, trace.CausePortNotListening),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 503 UR upstream_reset_before_response_started{remote_reset} - \"-\" 0 84 2 - \"-\" \"curl/8.5.0\" \"16\" \"cart\" \"10.0.0.9:8080\" outbound|80||cart.shop.svc.cluster.local 10.0.0.5:42000 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-DC", Field: FieldFlag, Match: re(`^dc$`),
		Meaning: "downstream connection termination: the caller went away before the response",
		Source:  srcFlags,
		Note:    "the caller closed the connection: look at the caller's timeout",
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 0 DC downstream_remote_disconnect - \"-\" 0 0 30000 - \"-\" \"curl/8.5.0\" \"17\" \"cart\" \"10.0.0.9:8080\" outbound|80||cart.shop.svc.cluster.local 10.0.0.5:42000 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-DPE", Field: FieldFlag, Match: re(`^dpe$`),
		Meaning: "downstream protocol error: the caller's bytes were not the HTTP this port expects (e.g. TLS into a plaintext HTTP port)",
		Source:  srcFlags,
		Effects: support(Weak, "TLS into a sidecar's plaintext HTTP port (DISABLE) is a protocol error there", trace.CauseTLSToSidecar),
		Example: "[2024-01-01T00:00:00.000Z] \"- - HTTP/1.1\" 400 DPE http1.codec_error - \"-\" 0 11 0 - \"-\" \"-\" \"-\" \"-\" \"-\" - - 10.0.0.9:8080 10.0.0.5:41000 - -",
	},
	{
		ID: "flag-UPE", Field: FieldFlag, Match: re(`^upe$`),
		Meaning: "upstream protocol error: the upstream's bytes were not the HTTP Envoy expected",
		Source:  srcFlags,
		Effects: exclude(whyConnected, trace.CausePortNotListening),
		Note:    "a protocol error is no cause code: check the Service port's name or appProtocol against what the application speaks",
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 502 UPE upstream_reset_before_response_started{protocol_error} - \"-\" 0 87 1 - \"-\" \"curl/8.5.0\" \"18\" \"cart\" \"10.0.0.9:8080\" outbound|80||cart.shop.svc.cluster.local 10.0.0.5:42000 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "flag-none", Field: FieldFlag, Match: re(`^-$`),
		Meaning: "no flag: Envoy did not fail the request itself; the status came from upstream or from a filter that sets no flag (an RBAC 403 has none)",
		Source:  srcFlags,
		Example: "[2024-01-01T00:00:00.000Z] \"GET /blog/ HTTP/1.1\" 503 - via_upstream - \"-\" 0 145 3 2 \"10.0.0.1\" \"curl/8.5.0\" \"19\" \"titanium.example.com\" \"10.4.2.7:8005\" outbound|8005||prod-blog-service.titanium-prod.svc.cluster.local 10.4.1.5:40000 10.4.1.5:8080 10.0.0.1:51234 - -",
	},
	// --- upstream clusters ---
	{
		ID: "cluster-outbound", Field: FieldCluster, Match: re(`^outbound\|\d+\|[^|]*\|.+$`),
		Meaning: "logged by the caller's proxy (a sidecar or a gateway): the request went to this service host, port and subset",
		Source:  srcClusters + "; " + srcIstioLog,
		Example: "[2024-01-01T00:00:00.000Z] \"GET /blog/ HTTP/1.1\" 503 UF,URX upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_Connection_refused} - \"delayed_connect_error:_Connection_refused\" 0 190 52 - \"10.0.0.1\" \"curl/8.5.0\" \"20\" \"titanium.example.com\" \"10.4.2.7:8005\" outbound|8005||prod-blog-service.titanium-prod.svc.cluster.local - 10.4.1.5:8080 10.0.0.1:51234 - -",
	},
	{
		ID: "cluster-inbound", Field: FieldCluster, Match: re(`^inbound\|\d+\|`),
		Meaning: "logged by the server's sidecar: its inbound cluster forwards to the application on this port of the pod",
		Source:  srcClusters + "; ISTIO-SEMANTICS.md §5.4 (how to tell the two \"connection refused\" hops apart)",
		Effects: exclude(whyInboundTLSOK, tlsFamily...),
		Example: "[2024-05-12T01:56:17.634Z] \"GET /ip HTTP/1.1\" 503 UF upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_111} - \"delayed_connect_error:_111\" 0 152 0 - \"10.244.0.1\" \"curl/7.81.0\" \"ca692bb6\" \"httpbin.aegle.info\" \"10.244.0.11:80\" inbound|80|| - 10.244.0.11:80 10.244.0.1:0 outbound_.8000_._.httpbin.httpbin.svc.cluster.local default",
	},
	{
		ID: "cluster-inbound-passthrough", Field: FieldCluster, Match: re(`^inboundpassthroughcluster`),
		Meaning: "logged by the server's sidecar: the port is in no Service, and the sidecar forwarded to it as is",
		Source:  srcClusters,
		Effects: exclude(whyInboundTLSOK, tlsFamily...),
		Example: "[2024-01-01T00:00:00.000Z] \"GET / HTTP/1.1\" 503 UF upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_Connection_refused} - \"delayed_connect_error:_Connection_refused\" 0 145 0 - \"-\" \"curl/8.5.0\" \"21\" \"10.0.0.9:9000\" \"10.0.0.9:9000\" InboundPassthroughClusterIpv4 - 10.0.0.9:9000 10.0.0.5:41000 - default",
	},
	{
		ID: "cluster-passthrough", Field: FieldCluster, Match: re(`^passthroughcluster$`),
		Meaning: "the destination is in no registry; under outboundTrafficPolicy ALLOW_ANY the caller's sidecar forwarded it to its original address",
		Source:  srcClusters + "; Istio docs, egress (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/)",
		Effects: support(Medium, "the host is in no registry (no Service, no ServiceEntry)", trace.CauseUnknownHost),
		Example: `[2024-01-01T00:00:00.000Z] "GET /pay HTTP/1.1" 503 - via_upstream - "-" 0 19 40 39 "-" "curl/8.5.0" "22" "payments.example.com" "93.184.216.34:80" PassthroughCluster 10.0.0.5:43000 93.184.216.34:80 10.0.0.5:41000 - allow_any`,
	},
	{
		ID: "cluster-blackhole", Field: FieldCluster, Match: re(`^blackholecluster$`),
		Meaning: "the destination is in no registry and outboundTrafficPolicy is REGISTRY_ONLY: the sidecar drops it",
		Source:  srcClusters,
		Effects: support(Strong, "the host is in no registry and the mesh allows registered hosts only", trace.CauseUnknownHost),
		Example: "[2024-01-01T00:00:00.000Z] \"- - -\" 0 UH - - \"-\" 0 0 0 - \"-\" \"-\" \"-\" \"-\" \"-\" BlackHoleCluster - 93.184.216.34:443 10.0.0.5:41000 - -",
	},
	// --- response codes ---
	{
		ID: "status-2xx", Field: FieldStatus, Match: re(`^2\d\d$`),
		Meaning: "the request succeeded",
		Source:  srcIstioLog,
		Effects: exclude(whySucceeded, Causes...),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /pay HTTP/1.1\" 200 - via_upstream - \"-\" 0 512 40 39 \"-\" \"curl/8.5.0\" \"23\" \"payments.example.com\" \"93.184.216.34:80\" PassthroughCluster 10.0.0.5:43000 93.184.216.34:80 10.0.0.5:41000 - allow_any",
	},
	{
		ID: "status-403", Field: FieldStatus, Match: re(`^403$`),
		Meaning: "forbidden: Envoy's RBAC filter answers a denied request with 403, and so may the application",
		Source:  "Envoy rbac_filter.cc; " + srcIstioLog,
		Effects: support(Medium, "403 is what an AuthorizationPolicy deny looks like on HTTP", trace.CauseAuthzDenied),
		Example: "[2025-07-22T17:55:49.074Z] \"GET / HTTP/1.1\" 403 - rbac_access_denied_matched_policy[none] - \"-\" 0 19 0 - \"10.244.1.1\" \"curl/8.14.1\" \"ff387ab3\" \"172.18.10.10\" \"-\" inbound|80|| - 10.244.1.9:80 10.244.1.1:0 outbound_.80_._.nginx-svc.default.svc.cluster.local default",
	},
	{
		ID: "status-404", Field: FieldStatus, Match: re(`^404$`),
		Meaning: "not found: Envoy answers a request no route matches with 404 and an empty body, and so may the application",
		Source:  "Envoy router.cc decodeHeaders; " + srcIstioLog,
		Effects: support(Medium, "404 is what a missing route looks like", trace.CauseNoRoute),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /checkout/ HTTP/1.1\" 404 NR route_not_found - \"-\" 0 0 0 - \"10.0.0.1\" \"curl/8.5.0\" \"24\" \"shop.example.com\" \"-\" - - 10.4.1.5:8080 10.0.0.1:51234 - -",
	},
	{
		ID: "status-502", Field: FieldStatus, Match: re(`^502$`),
		Meaning: "bad gateway: Istio's block_all route (REGISTRY_ONLY) and upstream protocol errors answer 502",
		Source:  "Istio pilot/pkg/networking/core/httproute.go (block_all); " + srcIstioLog,
		Effects: support(Weak, "REGISTRY_ONLY answers a host in no registry with 502", trace.CauseUnknownHost),
		Example: "[2024-01-01T00:00:00.000Z] \"GET /pay HTTP/1.1\" 502 - direct_response - \"-\" 0 0 0 - \"-\" \"curl/8.5.0\" \"25\" \"payments.example.com\" \"-\" block_all - 93.184.216.34:80 10.0.0.5:41000 - block_all",
	},
	{
		ID: "status-503", Field: FieldStatus, Match: re(`^503$`),
		Meaning: "service unavailable: Envoy's answer to a failed connection, no healthy upstream or a missing cluster, unless the upstream sent it",
		Source:  "Envoy router.cc; " + srcIstioLog,
		Example: "[2024-01-01T00:00:00.000Z] \"GET /items HTTP/1.1\" 503 UH no_healthy_upstream - \"-\" 0 19 0 - \"-\" \"curl/8.5.0\" \"26\" \"cart\" \"-\" outbound|80||cart.shop.svc.cluster.local - 10.96.0.10:80 10.0.0.5:41000 - default",
	},
	{
		ID: "status-0", Field: FieldStatus, Match: re(`^0$`),
		Meaning: "no HTTP response: a TCP connection (logged by a TCP proxy), or the connection closed before any response",
		Source:  srcIstioLog,
		Example: "[2024-01-01T00:00:00.000Z] \"- - -\" 0 NR filter_chain_not_found - \"-\" 0 0 0 - \"-\" \"-\" \"-\" \"-\" \"-\" - - 10.0.0.9:8080 10.0.0.7:52000 - -",
	},
	// --- curl ---
	{
		ID: "curl-7-refused", Field: FieldCurl, Match: re(`\(7\).*refused`),
		Meaning: "curl's own TCP connect was refused: no proxy in between (a client without sidecar), and nothing listens at the address",
		Source:  srcCurl + "; Kubernetes pkg/proxy/iptables/proxier.go (REJECT for a Service without endpoints)",
		Effects: effects(
			support(Strong, "nothing listens on the pod's address and port (the application binds 127.0.0.1, or targetPort is not its port)", trace.CausePortNotListening),
			support(Medium, "kube-proxy rejects connections to a ClusterIP Service that has no endpoints", trace.CauseNoEndpoints),
			exclude(whyRefusedNotTLS, tlsFamily...),
			exclude(whyAuthzAfter, trace.CauseAuthzDenied),
		),
		Example: "curl: (7) Failed to connect to cart port 8080 after 3 ms: Connection refused",
	},
	{
		ID: "curl-56-reset", Field: FieldCurl, Match: re(`\(56\).*reset`),
		Meaning: "the connection was accepted, then reset by the peer before a response",
		Source:  srcCurl + "; " + srcMTLSTask,
		Effects: effects(
			support(Strong, "a STRICT server's sidecar resets a plaintext connection from a client without sidecar", trace.CausePlaintextToStrict),
			support(Weak, "a TCP port's RBAC filter closes a denied connection", trace.CauseAuthzDenied),
			exclude("a refused connection is curl (7), not a reset after connect", trace.CausePortNotListening),
			exclude("a caller whose proxy originates mTLS gets a 503 from its proxy, not a reset", trace.CauseMTLSToNonMesh, trace.CauseSANMismatch),
		),
		Example: "curl: (56) Recv failure: Connection reset by peer",
	},
	{
		ID: "curl-35-wrong-version", Field: FieldCurl, Match: re(`\(35\).*wrong version number`),
		Meaning: "curl spoke TLS (an https:// URL) and the server answered in plaintext: most often https:// to a port that serves HTTP (a Gateway server with protocol HTTP, an application without TLS)",
		Source:  srcCurl + "; OpenSSL SSL_R_WRONG_VERSION_NUMBER",
		Effects: effects(
			support(Weak, "the same mismatch as Istio mTLS to a plaintext endpoint, by curl itself", trace.CauseMTLSToNonMesh),
			support(Weak, "a sidecar port under DISABLE answers a TLS client hello in plaintext", trace.CauseTLSToSidecar),
			exclude("curl sent TLS, not plaintext", trace.CausePlaintextToStrict),
			exclude(whyConnected, trace.CausePortNotListening),
			exclude("the handshake ended before any certificate was seen", trace.CauseSANMismatch),
		),
		Note:    "check the URL's scheme and port against the Gateway server's port.protocol (https:// needs an HTTPS server)",
		Example: "curl: (35) error:0A00010B:SSL routines::wrong version number",
	},
	{
		ID: "curl-52-empty", Field: FieldCurl, Match: re(`\(52\)`),
		Meaning: "the server accepted the connection and closed it without any HTTP response",
		Source:  srcCurl,
		Effects: effects(
			support(Medium, "a TCP port's RBAC filter closes a denied connection without a response", trace.CauseAuthzDenied),
			support(Medium, "a STRICT server's sidecar closes a plaintext connection", trace.CausePlaintextToStrict),
			exclude("a refused connection is curl (7), not a close after connect", trace.CausePortNotListening),
		),
		Example: "curl: (52) Empty reply from server",
	},
	{
		ID: "curl-6-resolve", Field: FieldCurl, Match: re(`\(6\)`),
		Meaning: "the host name did not resolve: no Service (and no DNS outside the cluster) has this name",
		Source:  srcCurl,
		Effects: effects(
			support(Strong, "no Service or ServiceEntry gives the name an address", trace.CauseUnknownHost),
			exclude("curl never connected: it had no address", append([]string{trace.CausePortNotListening, trace.CauseAuthzDenied}, tlsFamily...)...),
		),
		Example: "curl: (6) Could not resolve host: payments",
	},
	{
		ID: "curl-28-timeout", Field: FieldCurl, Match: re(`\(28\)`),
		Meaning: "the operation timed out: no answer to the connect, or no response in time",
		Source:  srcCurl,
		Effects: exclude("a port nobody listens on refuses at once; a timeout means nothing answered", trace.CausePortNotListening),
		Note:    "a timeout is no configuration cause meshdoctor models: packets are dropped (NetworkPolicy, firewall) or the application is slow",
		Example: "curl: (28) Failed to connect to cart port 80 after 130001 ms: Connection timed out",
	},
}

func connectFailureEffects() []Effect {
	return effects(
		support(Medium, "a connect or TLS handshake failure", trace.CausePortNotListening, trace.CauseMTLSToNonMesh, trace.CauseSANMismatch, trace.CauseTLSToSidecar),
		exclude(whyPlainIsUC, trace.CausePlaintextToStrict),
	)
}

func refusedEffects() []Effect {
	return effects(
		support(Strong, "nothing accepts connections on the endpoint's address and port: the application binds 127.0.0.1/localhost (since Istio 1.10 the sidecar forwards to the pod IP), targetPort is not the port it listens on, or it is not running", trace.CausePortNotListening),
		exclude(whyRefusedNotTLS, tlsFamily...),
		exclude(whyAuthzAfter, trace.CauseAuthzDenied),
		exclude(whyNoEndpoint, trace.CauseNoEndpoints),
		exclude(whyNoRoute, trace.CauseNoRoute),
		exclude(whyNoSubset, trace.CauseUnknownSubset),
		exclude(whyUnknownHost, trace.CauseUnknownHost),
	)
}
