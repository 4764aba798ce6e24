package trace

import (
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// A database port excluded from the sidecar's inbound capture in a STRICT
// namespace: a client without sidecar gets through in plaintext (STRICT and
// the ALLOW policy do not apply where the sidecar does not listen), a client
// with a sidecar sends Istio mTLS by auto mTLS and fails.
const captureMesh = `
apiVersion: v1
kind: Namespace
metadata: {name: data, labels: {istio-injection: enabled}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: data}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: nobody, namespace: data}
spec: {selector: {matchLabels: {app: db}}, action: ALLOW, rules: [{from: [{source: {principals: ["cluster.local/ns/x/sa/y"]}}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: data}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata:
      labels: {app: db}
      annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "5432"}
    spec:
      containers: [{name: pg, image: postgres, ports: [{containerPort: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec:
  selector: {app: db}
  ports: [{name: tcp-pg, port: 5432}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: data}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: app, image: app}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: job, namespace: data}
spec:
  selector: {matchLabels: {app: job}}
  template:
    metadata: {labels: {app: job, sidecar.istio.io/inject: "false"}}
    spec:
      containers: [{name: job, image: job}]
`

func TestExcludedInboundPort(t *testing.T) {
	var r load.Result
	load.Decode("capture.yaml", []byte(captureMesh), &r)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	e := resolve.New(mesh.Build(r.Objects, mesh.Options{}))
	plain := mustTrace(t, e, "data/job", "db.data:5432")
	if plain.Result != ResultOK || plain.Security != resolve.TLSPlaintext {
		t.Errorf("client without sidecar: %s %s %s", plain.Result, plain.Cause, plain.Summary)
	}
	for _, h := range plain.Hops {
		if h.Step == "authorization" {
			t.Errorf("no inbound listener on an excluded port, so no authorization hop: %+v", h)
		}
	}
	mtls := mustTrace(t, e, "data/app", "db.data:5432")
	if mtls.Result == ResultOK || mtls.Cause != CauseMTLSToNonMesh || !strings.Contains(mtls.Summary, "excludeInboundPorts") {
		t.Errorf("client with sidecar: %s %s %s", mtls.Result, mtls.Cause, mtls.Summary)
	}
	if len(mtls.Fixes) == 0 || !strings.Contains(mtls.Fixes[0].Patch, "DISABLE") {
		t.Errorf("want the DestinationRule tls DISABLE fix first, got %+v", mtls.Fixes)
	}
}

// With a DestinationRule for the host, the fix adds a port-level entry that
// repeats the rule's other settings (a port-level entry replaces the whole
// top-level policy for its port) instead of a top-level DISABLE that would
// send every port in plaintext.
func TestExcludedInboundPortFixKeepsOtherPorts(t *testing.T) {
	var r load.Result
	load.Decode("capture.yaml", []byte(captureMesh+`
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: data}
spec:
  host: db.data.svc.cluster.local
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}
`), &r)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	e := resolve.New(mesh.Build(r.Objects, mesh.Options{}))
	tr := mustTrace(t, e, "data/app", "db.data:5432")
	if tr.Cause != CauseMTLSToNonMesh || len(tr.Fixes) != 1 {
		t.Fatalf("%s, fixes %+v", tr.Cause, tr.Fixes)
	}
	p := tr.Fixes[0].Patch
	for _, want := range []string{"portLevelSettings", "number: 5432", "mode: DISABLE", "maxConnections: 10"} {
		if !strings.Contains(p, want) {
			t.Errorf("patch lacks %q:\n%s", want, p)
		}
	}
}

// A port the sidecar skips is connected to directly: nothing listening there
// refuses the connection before any TLS or policy.
func TestExcludedInboundPortNotListening(t *testing.T) {
	m := strings.Replace(captureMesh, `excludeInboundPorts: "5432"`, `excludeInboundPorts: "9091"`, 1)
	m = strings.Replace(m, `ports: [{name: tcp-pg, port: 5432}]`, `ports: [{name: tcp-pg, port: 5432}, {name: tcp-admin, port: 9091}]`, 1)
	var r load.Result
	load.Decode("capture.yaml", []byte(m), &r)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	e := resolve.New(mesh.Build(r.Objects, mesh.Options{}))
	tr := mustTrace(t, e, "data/job", "db.data:9091")
	if tr.Result == ResultOK || tr.Cause != CausePortNotListening {
		t.Errorf("%s %s: %s", tr.Result, tr.Cause, tr.Summary)
	}
}
