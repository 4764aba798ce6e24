package resolve

// securityState holds the caches of sidecar, PeerAuthentication, DestinationRule
// and client TLS decisions.
type securityState struct{}
