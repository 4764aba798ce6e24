package resolve

// routingState holds the caches of routing, endpoint and authorization decisions.
type routingState struct{}
