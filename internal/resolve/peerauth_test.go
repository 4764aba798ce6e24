package resolve

import (
	"strings"
	"testing"
)

// secPABase is namespace shop (injected) with workload api (container port
// 8080, Service port 80 → targetPort 8080).
const secPABase = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, version: v1}}
    spec:
      serviceAccountName: api
      containers: [{name: api, image: api, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: 8080}]
`

func secPAEngine(t *testing.T, pas string) *Engine {
	t.Helper()
	return secEngine(t, "pa.yaml", secPABase+"---\n"+pas)
}

func secMTLS(t *testing.T, pas string, port int32) MTLSDecision {
	t.Helper()
	e := secPAEngine(t, pas)
	return e.ServerMTLS(secWorkload(t, e, "shop/api"), port)
}

// ComposePeerAuthentication (pilot/pkg/security/authn/policy_applier.go):
// workload > namespace > mesh, and PERMISSIVE when nothing is set.
func TestServerMTLSPrecedence(t *testing.T) {
	mesh := `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`
	ns := `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns-wide, namespace: shop}
spec: {mtls: {mode: PERMISSIVE}}
`
	wl := `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  mtls: {mode: DISABLE}
`
	if d := secMTLS(t, "", 8080); d.Mode != ModePermissive || !strings.Contains(d.Reason, "default PERMISSIVE") {
		t.Errorf("no policy: %s", secDump(d.Decision))
	}
	if d := secMTLS(t, mesh, 8080); d.Mode != ModeStrict || !secHasRef(d.Decision, "PeerAuthentication", "istio-system/default", "spec.mtls.mode") {
		t.Errorf("mesh: %s", secDump(d.Decision))
	}
	d := secMTLS(t, mesh+"---\n"+ns, 8080)
	if d.Mode != ModePermissive || d.By[0].Name != "ns-wide" || d.By[0].Field != "spec.mtls.mode" || !strings.Contains(d.Reason, "overrides STRICT of istio-system/default") {
		t.Errorf("namespace: %s", secDump(d.Decision))
	}
	d = secMTLS(t, mesh+"---\n"+ns+"---\n"+wl, 8080)
	if d.Mode != ModeDisable || d.By[0].Name != "api" || d.By[0].Line == 0 {
		t.Errorf("workload: %s", secDump(d.Decision))
	}
}

// authentication.go addPeerAuthentication keeps only the oldest namespace-wide
// policy (creationTimestamp, then name: config.go configCompareByCreationTime).
func TestServerMTLSTwoNamespacePolicies(t *testing.T) {
	two := `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: a-strict, namespace: shop, creationTimestamp: "2024-05-02T00:00:00Z"}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: b-permissive, namespace: shop, creationTimestamp: "2024-05-01T00:00:00Z"}
spec: {mtls: {mode: PERMISSIVE}}
`
	d := secMTLS(t, two, 8080)
	if d.Mode != ModePermissive || !strings.Contains(d.Reason, "shop/a-strict is ignored") || secHasAssumption(d.Decision, "by name") {
		t.Errorf("older wins: %s", secDump(d.Decision))
	}
	// No timestamps: the name decides, and the result says it assumed so.
	noTS := strings.ReplaceAll(strings.ReplaceAll(two, `, creationTimestamp: "2024-05-02T00:00:00Z"`, ""), `, creationTimestamp: "2024-05-01T00:00:00Z"`, "")
	d = secMTLS(t, noTS, 8080)
	if d.Mode != ModeStrict || !strings.Contains(d.Reason, "a second namespace-wide PeerAuthentication shop/b-permissive is ignored: shop/a-strict comes first (by name: neither has a creationTimestamp)") ||
		!secHasAssumption(d.Decision, "shop/a-strict is taken as older than shop/b-permissive") {
		t.Errorf("by name: %s", secDump(d.Decision))
	}
	// Equal timestamps: the name decides too.
	sameTS := strings.ReplaceAll(two, "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z")
	d = secMTLS(t, sameTS, 8080)
	if d.Mode != ModeStrict || !secHasAssumption(d.Decision, "both have the same creationTimestamp") {
		t.Errorf("same timestamp: %s", secDump(d.Decision))
	}
	e := secPAEngine(t, noTS)
	if nd := e.NamespaceMTLS("shop"); nd.Mode != ModeStrict || !strings.Contains(nd.Reason, "b-permissive is ignored") {
		t.Errorf("namespace mode: %s", secDump(nd.Decision))
	}
}

// policy_applier.go: several selector policies on one workload are not
// merged; the oldest wins, including its portLevelMtls.
func TestServerMTLSTwoSelectorPolicies(t *testing.T) {
	pas := `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: api-b, namespace: shop}
spec:
  selector: {matchLabels: {version: v1}}
  portLevelMtls: {8080: {mode: DISABLE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: api-a, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  mtls: {mode: STRICT}
`
	d := secMTLS(t, pas, 8080)
	if d.Mode != ModeStrict || !strings.Contains(d.Reason, "shop/api-b also selects these pods but is ignored") || !secHasAssumption(d.Decision, "api-a is taken as older") {
		t.Errorf("%s", secDump(d.Decision))
	}
}

// portLevelMtls is keyed by the container (target) port: listener_inbound.go
// ForPort(TargetPort), mtls_checker.go GetMutualTLSModeForPort(EndpointPort);
// istio/istio#49098. A key equal to the Service port does not apply.
func TestServerMTLSPortLevelByContainerPort(t *testing.T) {
	pas := func(port string) string {
		return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns-strict, namespace: shop}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: api-port, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  portLevelMtls:
    ` + port + `:
      mode: DISABLE
`
	}
	d := secMTLS(t, pas("8080"), 8080)
	if d.Mode != ModeDisable || d.By[0].Field != "spec.portLevelMtls.8080.mode" || d.By[0].Line == 0 || !strings.Contains(d.Reason, "overriding STRICT") {
		t.Errorf("container port: %s", secDump(d.Decision))
	}
	d = secMTLS(t, pas("80"), 8080)
	if d.Mode != ModeStrict || !strings.Contains(d.Reason, "lists port 80, not 8080 (its keys are container ports, not Service ports)") {
		t.Errorf("service port key: %s", secDump(d.Decision))
	}
}

// policy_applier.go: "Workload-level configs should not be in root namespace
// ... they will be safely ignored"; the API doc says the same.
func TestServerMTLSRootSelectorIgnored(t *testing.T) {
	d := secMTLS(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: api-strict, namespace: istio-system}
spec:
  selector: {matchLabels: {app: api}}
  mtls: {mode: STRICT}
`, 8080)
	if d.Mode != ModePermissive || !strings.Contains(d.Reason, "istio-system/api-strict selects these pods but is ignored") {
		t.Errorf("%s", secDump(d.Decision))
	}
}

// isMtlsModeUnset: UNSET at any level keeps the parent's mode, and a port
// entry that is UNSET inherits the workload's effective mode.
func TestServerMTLSUnsetInheritance(t *testing.T) {
	pas := `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns-unset, namespace: shop}
spec: {mtls: {mode: UNSET}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: api-unset, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  portLevelMtls: {8080: {mode: UNSET}}
`
	d := secMTLS(t, pas, 8080)
	if d.Mode != ModeStrict || !strings.Contains(d.Reason, "leaves the port unset") || !strings.Contains(d.Reason, "mesh-wide PeerAuthentication istio-system/default") ||
		!strings.Contains(d.Reason, "shop/ns-unset leaves mtls unset") {
		t.Errorf("%s", secDump(d.Decision))
	}
	// GetNamespaceMutualTLSMode: an UNSET namespace policy inherits the mesh mode.
	e := secPAEngine(t, pas)
	if nd := e.NamespaceMTLS("shop"); nd.Mode != ModeStrict {
		t.Errorf("namespace: %s", secDump(nd.Decision))
	}
}

// ComposePeerAuthentication reads portLevelMtls only from the workload
// policy; ValidatePeerAuthentication rejects it without a selector.
func TestServerMTLSPortLevelWithoutSelectorIgnored(t *testing.T) {
	d := secMTLS(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns, namespace: shop}
spec:
  mtls: {mode: STRICT}
  portLevelMtls: {8080: {mode: DISABLE}}
`, 8080)
	if d.Mode != ModeStrict || !strings.Contains(d.Reason, "portLevelMtls of shop/ns is ignored") {
		t.Errorf("%s", secDump(d.Decision))
	}
}

// PeerAuthentication never applies to gateway listeners (listener.go
// BuildListeners builds gateway listeners for Router proxies).
func TestServerMTLSGateway(t *testing.T) {
	e := secPAEngine(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`)
	d := e.ServerMTLS(secWorkload(t, e, "istio-system/istio-ingressgateway"), 8080)
	if d.Mode != "" || !strings.Contains(d.Reason, "does not apply to gateway listeners") {
		t.Errorf("%s", secDump(d.Decision))
	}
}

// GetNamespaceMutualTLSMode (authentication.go): the namespace policy, else
// the mesh policy (UNSET there is PERMISSIVE), else unknown.
func TestNamespaceMTLS(t *testing.T) {
	e := secPAEngine(t, "")
	if d := e.NamespaceMTLS("shop"); d.Mode != "" || !strings.Contains(d.Reason, "unknown") {
		t.Errorf("unknown: %s", secDump(d.Decision))
	}
	e = secPAEngine(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {}
`)
	if d := e.NamespaceMTLS("shop"); d.Mode != ModePermissive || !strings.Contains(d.Reason, "PERMISSIVE at mesh level") {
		t.Errorf("mesh unset: %s", secDump(d.Decision))
	}
	e = secPAEngine(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns, namespace: shop}
spec: {}
`)
	if d := e.NamespaceMTLS("shop"); d.Mode != ModePermissive || !strings.Contains(d.Reason, "no mesh-wide policy") {
		t.Errorf("namespace unset, no mesh: %s", secDump(d.Decision))
	}
}
