package resolve

import (
	"strings"
	"testing"
)

// secTLSBase: namespace shop (injected) with web (a sidecar, port 8080) and
// legacy (no sidecar, port 8080), both behind Services on port 80; namespace
// client with c (a sidecar) and plain (no sidecar).
const secTLSBase = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: client, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: web, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy, namespace: shop}
spec:
  template:
    metadata: {labels: {app: legacy, sidecar.istio.io/inject: "false"}}
    spec:
      serviceAccountName: legacy
      containers: [{name: legacy, image: legacy, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: shop}
spec:
  selector: {app: legacy}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: c, namespace: client}
spec:
  template:
    metadata: {labels: {app: c}}
    spec: {containers: [{name: c, image: c}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: client}
spec:
  template:
    metadata: {labels: {app: plain, sidecar.istio.io/inject: "false"}}
    spec: {containers: [{name: p, image: p}]}
`

// secCall resolves client → service (first port) → its first endpoint: the
// client TLS and whether the endpoint accepts it.
func secCall(t *testing.T, e *Engine, client, svc, subset string) (ClientTLSDecision, AcceptDecision) {
	t.Helper()
	c := secWorkload(t, e, client)
	s := secService(t, e, svc)
	eps := e.secServiceInfo(s).endpoints
	if len(eps) == 0 {
		t.Fatalf("no endpoints for %s", svc)
	}
	sp := &s.Ports[0]
	tls := e.ClientTLS(c, s, sp, subset, eps[0], sp.TargetPort.IntVal)
	acc := e.ServerAccepts(eps[0], sp.TargetPort.IntVal, tls, "http")
	return tls, acc
}

func secTLSEngine(t *testing.T, extra string) *Engine {
	t.Helper()
	if extra != "" {
		extra = "---\n" + extra
	}
	return secEngine(t, "tls.yaml", secTLSBase+extra)
}

// A client without a proxy originates nothing: DestinationRules and auto mTLS
// are proxy configuration.
func TestClientTLSNoProxy(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec: {host: web, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
`)
	tls, acc := secCall(t, e, "client/plain", "shop/web", "")
	if tls.Mode != TLSPlaintext || tls.Auto || !acc.Accepted || acc.Security != TLSPlaintext {
		t.Errorf("%+v %+v", tls, acc)
	}
}

// Auto mTLS (cluster_tls.go buildUpstreamTLSSettings, mtls_checker.go
// checkMtlsEnabled): Istio mTLS to an endpoint labelled tlsMode=istio whose
// port is not DISABLE, plaintext otherwise; SANs are the service accounts of
// the service (push_context.go ServiceAccounts), SNI outbound_.<port>_.<subset>_.<host>.
func TestClientTLSAutoMTLS(t *testing.T) {
	e := secTLSEngine(t, "")
	tls, acc := secCall(t, e, "client/c", "shop/web", "")
	if tls.Mode != TLSMutualIstio || !tls.Auto || tls.SNI != "outbound_.80_._.web.shop.svc.cluster.local" ||
		len(tls.SANs) != 1 || tls.SANs[0] != "spiffe://cluster.local/ns/shop/sa/web" || !acc.Accepted || acc.Security != TLSMutualIstio {
		t.Errorf("sidecar endpoint: %+v\n%s\n%+v", tls, secDump(tls.Decision), acc)
	}
	if !secHasAssumption(tls.Decision, "auto mTLS is on") {
		t.Errorf("auto mTLS assumption missing: %s", secDump(tls.Decision))
	}
	// BestEffortInferServiceMTLSMode falls back to PERMISSIVE when no namespace
	// or mesh policy exists: unknown never turns auto mTLS off for a Service.
	if !strings.Contains(tls.Reason, "sidecar") {
		t.Errorf("%s", tls.Reason)
	}
	tls, acc = secCall(t, e, "client/c", "shop/legacy", "")
	if tls.Mode != TLSPlaintext || !tls.Auto || !acc.Accepted || acc.Security != TLSPlaintext || !strings.Contains(tls.Reason, "has no sidecar") {
		t.Errorf("no sidecar: %+v %+v", tls, acc)
	}
	// A DISABLE port on the endpoint: plaintext (GetMutualTLSModeForPort != DISABLE).
	e = secTLSEngine(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  portLevelMtls: {8080: {mode: DISABLE}}
`)
	tls, acc = secCall(t, e, "client/c", "shop/web", "")
	if tls.Mode != TLSPlaintext || !acc.Accepted || !secHasRef(tls.Decision, "PeerAuthentication", "shop/web", "spec.portLevelMtls.8080.mode") {
		t.Errorf("DISABLE port: %+v\n%s", tls, secDump(tls.Decision))
	}
	// A pod template that sets tlsMode itself opts out of auto mTLS.
	e = secTLSEngine(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: optout, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web, security.istio.io/tlsMode: disabled}}
    spec: {containers: [{name: web, image: web, ports: [{containerPort: 8080}]}]}
`)
	c, s := secWorkload(t, e, "client/c"), secService(t, e, "shop/web")
	if d := e.ClientTLS(c, s, &s.Ports[0], "", secWorkload(t, e, "shop/optout"), 8080); d.Mode != TLSPlaintext || !strings.Contains(d.Reason, "tlsMode=disabled") {
		t.Errorf("tlsMode label: %s", secDump(d.Decision))
	}
}

// BestEffortInferServiceMTLSMode reads the service namespace's namespace or
// mesh policy only: namespace DISABLE makes the client send plaintext even to
// a workload whose own policy is STRICT, which then rejects it (§3.5).
func TestClientTLSNamespaceDisableToStrictWorkload(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns, namespace: shop}
spec: {mtls: {mode: DISABLE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web-strict, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: STRICT}
`)
	tls, acc := secCall(t, e, "client/c", "shop/web", "")
	if tls.Mode != TLSPlaintext || !strings.Contains(tls.Reason, "service mode DISABLE") || !secHasRef(tls.Decision, "PeerAuthentication", "shop/ns", "spec.mtls.mode") {
		t.Errorf("client: %s", secDump(tls.Decision))
	}
	if acc.Accepted || acc.Cause != CausePlaintextToStrict || !secHasRef(acc.Decision, "PeerAuthentication", "shop/web-strict", "spec.mtls.mode") {
		t.Errorf("server: %+v", acc)
	}
}

// An explicit ISTIO_MUTUAL is one transport socket for the cluster: mTLS to
// every endpoint, with or without a sidecar (cluster_tls.go applyUpstreamTLSSettings).
func TestClientTLSIstioMutualToNonMesh(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: legacy, namespace: shop}
spec: {host: legacy, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
`)
	tls, acc := secCall(t, e, "client/c", "shop/legacy", "")
	if tls.Mode != TLSMutualIstio || tls.Auto || !secHasRef(tls.Decision, "DestinationRule", "shop/legacy", "spec.trafficPolicy.tls.mode") {
		t.Errorf("client: %s", secDump(tls.Decision))
	}
	if acc.Accepted || acc.Cause != CauseMTLSToNonMesh {
		t.Errorf("server: %+v", acc)
	}
}

// buildUpstreamClusterTLSContext: credentialName in a rule without
// workloadSelector gives sidecars no TLS context (plaintext); gateways keep it.
func TestClientTLSCredentialNameOnSidecar(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec: {host: web, trafficPolicy: {tls: {mode: SIMPLE, credentialName: web-ca}}}
`)
	tls, _ := secCall(t, e, "client/c", "shop/web", "")
	if tls.Mode != TLSPlaintext || !strings.Contains(tls.Reason, "credentialName") || !secHasRef(tls.Decision, "DestinationRule", "shop/web", "spec.trafficPolicy.tls.credentialName") {
		t.Errorf("sidecar: %s", secDump(tls.Decision))
	}
	tls, acc := secCall(t, e, "istio-system/istio-ingressgateway", "shop/web", "")
	if tls.Mode != TLSSimple || acc.Accepted || acc.Cause != CauseTLSToSidecar {
		t.Errorf("gateway: %+v %+v", tls, acc)
	}
}

// enableAutoMtls: false (mesh config) turns auto mTLS off: no DR TLS means plaintext.
func TestClientTLSAutoMTLSOff(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    enableAutoMtls: false
`)
	tls, _ := secCall(t, e, "client/c", "shop/web", "")
	if tls.Mode != TLSPlaintext || tls.Auto || !strings.Contains(tls.Reason, "enableAutoMtls: false") {
		t.Errorf("%s", secDump(tls.Decision))
	}
}

// Gateway pods carry no tlsMode=istio label (gateway-injection-template.yaml):
// callers send plaintext, which the gateway accepts (its Gateway servers decide).
func TestClientTLSToGateway(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 80, targetPort: 8080}]
`)
	tls, acc := secCall(t, e, "client/c", "istio-system/istio-ingressgateway", "")
	if tls.Mode != TLSPlaintext || !strings.Contains(tls.Reason, "is a gateway") || !acc.Accepted || acc.Security != TLSPlaintext {
		t.Errorf("%s\n%+v", secDump(tls.Decision), acc)
	}
}

// BestEffortInferServiceMTLSMode: a passthrough (headless) service is
// DISABLE when any endpoint has no sidecar; otherwise the ORIGINAL_DST
// cluster keeps one mTLS socket for every endpoint.
func TestClientTLSHeadless(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: v1
kind: Service
metadata: {name: mixed, namespace: shop}
spec:
  clusterIP: None
  selector: {tier: back}
  ports: [{name: tcp, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: meshed, namespace: shop}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: tcp, port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: back-a, namespace: shop}
spec:
  template:
    metadata: {labels: {tier: back}}
    spec: {containers: [{name: a, image: a, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: back-b, namespace: shop}
spec:
  template:
    metadata: {labels: {tier: back, sidecar.istio.io/inject: "false"}}
    spec: {containers: [{name: b, image: b, ports: [{containerPort: 8080}]}]}
`)
	c := secWorkload(t, e, "client/c")
	mixed := secService(t, e, "shop/mixed")
	d := e.ClientTLS(c, mixed, &mixed.Ports[0], "", secWorkload(t, e, "shop/back-a"), 8080)
	if d.Mode != TLSPlaintext || !strings.Contains(d.Reason, "back-b, an endpoint of the passthrough service") {
		t.Errorf("mixed: %s", secDump(d.Decision))
	}
	meshed := secService(t, e, "shop/meshed")
	if d := e.ClientTLS(c, meshed, &meshed.Ports[0], "", secWorkload(t, e, "shop/web"), 8080); d.Mode != TLSMutualIstio || !strings.Contains(d.Reason, "ORIGINAL_DST") {
		t.Errorf("meshed: %s", secDump(d.Decision))
	}
}

// convertResolution (pilot/pkg/networking/core/cluster.go): "Gateways cannot
// use passthrough clusters", so a gateway's cluster for a headless Service is
// EDS, with the per-endpoint tlsMode transport_socket_matches of auto mTLS,
// while a sidecar's is ORIGINAL_DST with one socket. Found by the oracle
// (oracle/diff_test.go, randmesh seed 481): a headless Service whose pod has a
// sidecar but DISABLE on its port gets plaintext from the gateway and mTLS
// from a sidecar.
func TestClientTLSHeadlessFromGateway(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: v1
kind: Service
metadata: {name: headless, namespace: shop}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: PERMISSIVE}
  portLevelMtls: {8080: {mode: DISABLE}}
`)
	tls, acc := secCall(t, e, "istio-system/istio-ingressgateway", "shop/headless", "")
	if tls.Mode != TLSPlaintext || !strings.Contains(tls.Reason, "port 8080 is DISABLE") || !acc.Accepted {
		t.Errorf("gateway: %s\n%+v", secDump(tls.Decision), acc)
	}
	tls, acc = secCall(t, e, "client/c", "shop/headless", "")
	if tls.Mode != TLSMutualIstio || !strings.Contains(tls.Reason, "headless Service, whose cluster is ORIGINAL_DST for a sidecar") ||
		!secHasRef(tls.Decision, "Service", "shop/headless", "spec.clusterIP") || acc.Accepted || acc.Cause != CauseMTLSToNonMesh {
		t.Errorf("sidecar: %s\n%+v", secDump(tls.Decision), acc)
	}
}

// buildSubsetCluster (pilot/pkg/networking/core/cluster_builder.go): a subset
// cluster starts with the type of the service's default cluster
// (opts.mutable.cluster.GetType()), so a top-level loadBalancer PASSTHROUGH
// keeps it ORIGINAL_DST even when the subset sets another loadBalancer, while
// its service mode is inferred from the subset's own policy
// (BestEffortInferServiceMTLSMode(subset.GetTrafficPolicy())), which is not
// passthrough: PERMISSIVE, so one mTLS socket for every endpoint, sidecar or
// not. A subset port-level PASSTHROUGH (MergeSubsetTrafficPolicy, then
// applyLoadBalancer) makes the subset cluster ORIGINAL_DST too. Found by the
// oracle (oracle/diff_test.go, randmesh seeds 193 and 827).
func TestClientTLSSubsetKeepsOriginalDst(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: legacy, namespace: client}
spec:
  host: legacy.shop.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}
  subsets:
  - name: lr
    labels: {app: legacy}
    trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
  - name: plain
    labels: {app: legacy}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: client}
spec:
  host: web.shop.svc.cluster.local
  subsets:
  - name: pt
    labels: {app: web}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 80}
        loadBalancer: {simple: PASSTHROUGH}
  - name: other
    labels: {app: web}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 9999}
        loadBalancer: {simple: PASSTHROUGH}
`)
	// The default cluster: passthrough, and legacy has no sidecar: DISABLE, plaintext.
	if tls, _ := secCall(t, e, "client/c", "shop/legacy", ""); tls.Mode != TLSPlaintext || !strings.Contains(tls.Reason, "service mode DISABLE") {
		t.Errorf("default: %s", secDump(tls.Decision))
	}
	// Subset lr: still ORIGINAL_DST, service mode PERMISSIVE: mTLS to a pod without sidecar.
	tls, acc := secCall(t, e, "client/c", "shop/legacy", "lr")
	if tls.Mode != TLSMutualIstio || !strings.Contains(tls.Reason, `the subset "lr" cluster keeps the type of the service's default cluster`) ||
		!secHasRef(tls.Decision, "DestinationRule", "client/legacy", "spec.trafficPolicy.loadBalancer.simple") || acc.Accepted || acc.Cause != CauseMTLSToNonMesh {
		t.Errorf("lr: %s\n%+v", secDump(tls.Decision), acc)
	}
	// Subset plain has no policy of its own: the service mode is not passthrough either.
	if tls, _ := secCall(t, e, "client/c", "shop/legacy", "plain"); tls.Mode != TLSMutualIstio {
		t.Errorf("plain: %s", secDump(tls.Decision))
	}
	// A subset port-level PASSTHROUGH for the called port: ORIGINAL_DST; for another port: per endpoint.
	if tls, _ := secCall(t, e, "client/c", "shop/web", "pt"); tls.Mode != TLSMutualIstio ||
		!secHasRef(tls.Decision, "DestinationRule", "client/web", "spec.subsets[0].trafficPolicy.portLevelSettings[0].loadBalancer.simple") {
		t.Errorf("pt: %s", secDump(tls.Decision))
	}
	if tls, _ := secCall(t, e, "client/c", "shop/web", "other"); tls.Mode != TLSMutualIstio || strings.Contains(tls.Reason, "ORIGINAL_DST") {
		t.Errorf("other: %s", secDump(tls.Decision))
	}
}

// The EDS checker (mtls_checker.go tlsModeForDestinationRule) keeps the
// top-level tls when a port-level entry has none, while the cluster path
// (GetPortLevelTrafficPolicy) clears it: the cluster goes auto, and the
// endpoint metadata follows the top-level DISABLE: plaintext to a sidecar.
func TestClientTLSEndpointCheckerQuirk(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web
  trafficPolicy:
    tls: {mode: DISABLE}
    portLevelSettings:
    - port: {number: 80}
      loadBalancer: {simple: LEAST_REQUEST}
`)
	tls, _ := secCall(t, e, "client/c", "shop/web", "")
	if tls.Mode != TLSPlaintext || !tls.Auto || !strings.Contains(tls.Reason, "drop tlsMode") {
		t.Errorf("%s", secDump(tls.Decision))
	}
}

// Subsets: the subset's tls overrides the rule's (MergeSubsetTrafficPolicy).
func TestClientTLSSubset(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets:
  - name: plain
    labels: {app: web}
    trafficPolicy: {tls: {mode: DISABLE}}
`)
	if tls, _ := secCall(t, e, "client/c", "shop/web", "plain"); tls.Mode != TLSPlaintext || !secHasRef(tls.Decision, "DestinationRule", "shop/web", "spec.subsets[0].trafficPolicy.tls.mode") {
		t.Errorf("%s", secDump(tls.Decision))
	}
	if tls, _ := secCall(t, e, "client/c", "shop/web", ""); tls.Mode != TLSMutualIstio || tls.SNI != "outbound_.80_._.web.shop.svc.cluster.local" {
		t.Errorf("%s", secDump(tls.Decision))
	}
}

// DestinationRule subjectAltNames replace the service accounts; a server
// identity not among them fails verification (cluster_tls.go
// buildUpstreamTLSSettings; Envoy CERTIFICATE_VERIFY_FAILED).
func TestServerAcceptsSANMismatch(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web
  trafficPolicy:
    tls:
      mode: ISTIO_MUTUAL
      subjectAltNames: ["spiffe://cluster.local/ns/shop/sa/other"]
`)
	tls, acc := secCall(t, e, "client/c", "shop/web", "")
	if tls.SANsFrom == nil || acc.Accepted || acc.Cause != CauseSANMismatch || acc.By[0].Field != "spec.trafficPolicy.tls.subjectAltNames" {
		t.Errorf("%+v\n%s", tls, secDump(acc.Decision))
	}
}

// The inbound matrix of sidecar_simulation_test.go TestInbound
// (ISTIO-SEMANTICS.md §5.3) and the no-sidecar cases of §5.4.
func TestServerAcceptsMatrix(t *testing.T) {
	pas := ""
	for _, m := range []string{"STRICT", "PERMISSIVE", "DISABLE"} {
		name := strings.ToLower(m)
		pas += `apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `, namespace: shop}
spec:
  template:
    metadata: {labels: {app: ` + name + `}}
    spec: {containers: [{name: s, image: s, ports: [{containerPort: 8080}]}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ` + name + `, namespace: shop}
spec:
  selector: {matchLabels: {app: ` + name + `}}
  mtls: {mode: ` + m + `}
---
`
	}
	e := secTLSEngine(t, pas)
	san := "spiffe://cluster.local/ns/shop/sa/default"
	cases := []struct {
		server, client, proto string
		ok                    bool
		cause, security       string
	}{
		{"strict", TLSMutualIstio, "http", true, "", TLSMutualIstio},
		{"strict", TLSPlaintext, "http", false, CausePlaintextToStrict, ""},
		{"strict", TLSPlaintext, "tcp", false, CausePlaintextToStrict, ""},
		{"strict", TLSSimple, "tcp", false, CauseTLSToSidecar, ""},
		{"strict", TLSMutualUser, "tcp", false, CauseTLSToSidecar, ""},
		{"permissive", TLSMutualIstio, "http", true, "", TLSMutualIstio},
		{"permissive", TLSPlaintext, "http", true, "", TLSPlaintext},
		{"permissive", TLSSimple, "tcp", true, "", TLSSimple},
		{"permissive", TLSSimple, "http", false, CauseTLSToSidecar, ""},
		{"disable", TLSMutualIstio, "http", false, CauseMTLSToNonMesh, ""},
		{"disable", TLSMutualIstio, "tcp", false, CauseMTLSToNonMesh, ""},
		{"disable", TLSPlaintext, "http", true, "", TLSPlaintext},
		{"disable", TLSSimple, "tcp", true, "", TLSSimple},
		{"disable", TLSSimple, "http", false, CauseTLSToSidecar, ""},
		{"legacy", TLSPlaintext, "http", true, "", TLSPlaintext},
		{"legacy", TLSMutualIstio, "http", false, CauseMTLSToNonMesh, ""},
		{"legacy", TLSSimple, "tcp", true, "", TLSSimple},
	}
	for _, c := range cases {
		w := secWorkload(t, e, "shop/"+c.server)
		tls := ClientTLSDecision{Mode: c.client}
		if c.client == TLSMutualIstio {
			tls.SANs = []string{san, "spiffe://cluster.local/ns/shop/sa/legacy"}
		}
		a := e.ServerAccepts(w, 8080, tls, c.proto)
		if a.Accepted != c.ok || a.Cause != c.cause || a.Security != c.security {
			t.Errorf("%s <- %s/%s: accepted %v cause %q security %q, want %v %q %q: %s", c.server, c.client, c.proto, a.Accepted, a.Cause, a.Security, c.ok, c.cause, c.security, a.Reason)
		}
		if !c.ok && len(a.By) == 0 && c.server != "legacy" {
			t.Errorf("%s <- %s: no refs", c.server, c.client)
		}
	}
}

// The seed incident: the ingress gateway (istio-system) calls
// prod-blog-service; titanium-prod has a namespace-wide STRICT
// PeerAuthentication and a *.titanium-prod.svc.cluster.local ISTIO_MUTUAL
// DestinationRule. The gateway finds the rule exported from the service's
// namespace (push_context.go destinationRule), sends Istio mTLS with the
// blog's identity as SAN, and the STRICT sidecar accepts it: mTLS is not the
// cause of the 503 "Connection refused".
func TestSecurityIncident(t *testing.T) {
	e := secFixture(t, "incident.yaml", "")
	gw := secWorkload(t, e, "istio-system/istio-ingressgateway")
	if sc := e.Sidecar(gw); sc.Kind != ProxyGateway {
		t.Fatalf("gateway: %+v", sc)
	}
	dr := e.DestinationRule(gw, "prod-blog-service.titanium-prod.svc.cluster.local")
	if secDRNames(dr) != "titanium-prod/prod-default-mtls" || secRefLine(dr.Decision, "DestinationRule", "titanium-prod/prod-default-mtls", "spec.host") == 0 {
		t.Fatalf("dr: %s", secDump(dr.Decision))
	}
	tls, acc := secCall(t, e, "istio-system/istio-ingressgateway", "titanium-prod/prod-blog-service", "")
	if tls.Mode != TLSMutualIstio || tls.Auto || len(tls.SANs) != 1 || tls.SANs[0] != "spiffe://cluster.local/ns/titanium-prod/sa/prod-blog-service-sa" ||
		tls.SNI != "outbound_.8005_._.prod-blog-service.titanium-prod.svc.cluster.local" {
		t.Errorf("tls: %+v\n%s", tls, secDump(tls.Decision))
	}
	if !acc.Accepted || acc.Security != TLSMutualIstio || !secHasRef(acc.Decision, "PeerAuthentication", "titanium-prod/prod-default-mtls", "spec.mtls.mode") {
		t.Errorf("accept: %+v", acc)
	}
	// The databases: the more specific DISABLE rule wins, and postgres (no
	// sidecar) accepts plaintext.
	tls, acc = secCall(t, e, "titanium-prod/prod-api-gateway", "titanium-prod/prod-postgres", "")
	if tls.Mode != TLSPlaintext || !acc.Accepted {
		t.Errorf("postgres: %+v %+v", tls, acc)
	}
	// Proposal 1 adds a second namespace-wide policy, default-mtls (PERMISSIVE):
	// without timestamps it sorts first by name and wins (addPeerAuthentication),
	// and a PERMISSIVE server still accepts the gateway's Istio mTLS.
	e = secFixture(t, "incident.yaml", `apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: default-mtls, namespace: titanium-prod}
spec: {mtls: {mode: PERMISSIVE}}
`)
	blog := secWorkload(t, e, "titanium-prod/prod-blog-service")
	if m := e.ServerMTLS(blog, 8005); m.Mode != ModePermissive || !secHasAssumption(m.Decision, "default-mtls is taken as older than titanium-prod/prod-default-mtls") {
		t.Errorf("proposal 1: %s", secDump(m.Decision))
	}
	if _, a := secCall(t, e, "istio-system/istio-ingressgateway", "titanium-prod/prod-blog-service", ""); !a.Accepted || a.Security != TLSMutualIstio {
		t.Errorf("proposal 1 accept: %+v", a)
	}
	// Proposal 3 adds a DISABLE rule for the same wildcard host: it is merged
	// into the existing one, whose top-level policy (older by name) is kept, so
	// the gateway still sends Istio mTLS.
	e = secFixture(t, "incident.yaml", `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: prod-from-gateway, namespace: titanium-prod}
spec:
  host: "*.titanium-prod.svc.cluster.local"
  trafficPolicy: {tls: {mode: DISABLE}}
  subsets: [{name: from-ingress, labels: {app: prod-blog-service}, trafficPolicy: {tls: {mode: DISABLE}}}]
`)
	tls, _ = secCall(t, e, "istio-system/istio-ingressgateway", "titanium-prod/prod-blog-service", "")
	if tls.Mode != TLSMutualIstio || !secHasAssumption(tls.Decision, "Istio 1.24") || !secHasAssumption(tls.Decision, "prod-default-mtls is taken as older") {
		t.Errorf("proposal 3: %s", secDump(tls.Decision))
	}
	// Its subset, if a route named it, would send plaintext to the STRICT blog.
	tls, acc = secCall(t, e, "istio-system/istio-ingressgateway", "titanium-prod/prod-blog-service", "from-ingress")
	if tls.Mode != TLSPlaintext || acc.Accepted || acc.Cause != CausePlaintextToStrict {
		t.Errorf("proposal 3 subset: %+v %+v", tls, acc)
	}
}

// An ExternalName Service is MeshExternal (serviceregistry/kube/conversion.go
// ConvertService): BestEffortInferServiceMTLSMode is unknown and
// buildUpstreamTLSSettings sets no TLS without a DestinationRule.
func TestClientTLSExternalName(t *testing.T) {
	e := secTLSEngine(t, `apiVersion: v1
kind: Service
metadata: {name: ext, namespace: shop}
spec:
  type: ExternalName
  externalName: api.example.com
  ports: [{name: https, port: 443}]
`)
	c, s := secWorkload(t, e, "client/c"), secService(t, e, "shop/ext")
	d := e.ClientTLS(c, s, &s.Ports[0], "", nil, 443)
	if d.Mode != TLSPlaintext || d.Auto || !strings.Contains(d.Reason, "ExternalName") {
		t.Errorf("%s", secDump(d.Decision))
	}
}
