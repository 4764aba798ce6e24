package resolve

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// livePod renders a running pod of shop/web, owned by the ReplicaSet web-5d8f
// (owned by the Deployment web), as a cluster returns it.
func livePod(name string, ready bool, ip, labels, containers string) string {
	r := "False"
	if ready {
		r = "True"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: shop
  labels: {app: web, pod-template-hash: 5d8f%s}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u2, controller: true}]
spec:
  containers: [{name: web, image: web, ports: [{containerPort: 8080}]}%s]
status:
  phase: Running
  podIP: "%s"
  conditions: [{type: Ready, status: "%s"}]
`, name, labels, containers, ip, r)
}

const liveRS = `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 5d8f}}
    spec: {containers: [{name: web, image: web}]}
`

const liveProxy = `, {name: istio-proxy, image: proxyv2}`
const liveTLSLabel = `, security.istio.io/tlsMode: istio`

// A pod that is not Ready, has no IP or is terminating is not an endpoint
// (EndpointSlice ready condition; Istio drops unhealthy and terminating
// endpoints): the endpoints are the Ready pods, named, and no readiness
// assumption is made.
func TestLiveEndpointsAreReadyPods(t *testing.T) {
	e := secTLSEngine(t, liveRS+"---\n"+
		livePod("web-5d8f-a", true, "10.0.0.1", liveTLSLabel, liveProxy)+"---\n"+
		livePod("web-5d8f-b", false, "10.0.0.2", liveTLSLabel, liveProxy)+"---\n"+
		livePod("web-5d8f-c", true, "", liveTLSLabel, liveProxy))
	svc := secService(t, e, "shop/web")
	d := e.EndpointSet(svc, &svc.Ports[0], nil)
	if len(d.Endpoints) != 1 || strings.Join(d.Endpoints[0].Pods, ",") != "web-5d8f-a" {
		t.Fatalf("endpoints %+v: %s", d.Endpoints, d.Reason)
	}
	r := d.Endpoints[0].Reason
	for _, want := range []string{"web-5d8f-a are Ready", "web-5d8f-b (not Ready)", "web-5d8f-c (no pod IP)"} {
		if !strings.Contains(r, want) {
			t.Errorf("reason %q lacks %q", r, want)
		}
	}
	if routingHasAssumption(d.Decision, "readiness is not known") {
		t.Errorf("live endpoints assume readiness: %q", d.Assumptions)
	}
	if len(d.By) == 0 || d.By[len(d.By)-1].Kind != "Pod" {
		t.Errorf("no pod among the deciding objects: %+v", d.By)
	}
}

// No Ready pod: the workload is excluded and the Service has no endpoints.
func TestLiveNoReadyPodNoEndpoints(t *testing.T) {
	e := secTLSEngine(t, liveRS+"---\n"+livePod("web-5d8f-b", false, "10.0.0.2", liveTLSLabel, liveProxy))
	svc := secService(t, e, "shop/web")
	d := e.EndpointSet(svc, &svc.Ports[0], nil)
	if len(d.Endpoints) != 0 || len(d.Excluded) != 1 || !strings.Contains(d.Reason, "none of its pods is an endpoint: web-5d8f-b (not Ready)") {
		t.Fatalf("endpoints %d excluded %d: %s", len(d.Endpoints), len(d.Excluded), d.Reason)
	}
}

// spec.publishNotReadyAddresses makes not-Ready pods endpoints
// (podToEndpoint: ready = publishNotReadyAddresses || ...).
func TestLivePublishNotReadyAddresses(t *testing.T) {
	e := secTLSEngine(t, liveRS+"---\n"+livePod("web-5d8f-b", false, "10.0.0.2", liveTLSLabel, liveProxy)+`---
apiVersion: v1
kind: Service
metadata: {name: web-all, namespace: shop}
spec:
  selector: {app: web}
  publishNotReadyAddresses: true
  ports: [{name: http, port: 80, targetPort: 8080}]
`)
	svc := secService(t, e, "shop/web-all")
	if d := e.EndpointSet(svc, &svc.Ports[0], nil); len(d.Endpoints) != 1 {
		t.Fatalf("publishNotReadyAddresses: %s", d.Reason)
	}
}

// The sidecar is read from the running pods, not predicted: shop is
// istio-injection=enabled, but pods created before have no istio-proxy.
// PredictedSidecar still says what a new pod would get.
func TestLiveSidecarFromPods(t *testing.T) {
	e := secTLSEngine(t, liveRS+"---\n"+livePod("web-5d8f-a", true, "10.0.0.1", "", ""))
	w := secWorkload(t, e, "shop/web")
	if d := e.Sidecar(w); d.HasProxy || !strings.Contains(d.Reason, "web-5d8f-a have no istio-proxy container") || d.By[0].Kind != "Pod" {
		t.Errorf("Sidecar = %v: %s %+v", d.HasProxy, d.Reason, d.By)
	}
	if d := e.PredictedSidecar(w); !d.HasProxy {
		t.Errorf("PredictedSidecar = false: %s", d.Reason)
	}
	// The client's auto mTLS reads the endpoint: plaintext to a pod without sidecar.
	if tls, _ := secCall(t, e, "client/c", "shop/web", ""); tls.Mode != TLSPlaintext {
		t.Errorf("client TLS to an uninjected pod = %s: %s", tls.Mode, tls.Reason)
	}
}

// The native sidecar (init container istio-proxy, restartPolicy Always) is a
// sidecar; an init container istio-proxy that runs to completion is not.
func TestLiveNativeSidecar(t *testing.T) {
	native := strings.Replace(livePod("web-5d8f-a", true, "10.0.0.1", liveTLSLabel, ""), "spec:\n", "spec:\n  initContainers: [{name: istio-proxy, image: proxyv2, restartPolicy: Always}]\n", 1)
	e := secTLSEngine(t, liveRS+"---\n"+native)
	if d := e.Sidecar(secWorkload(t, e, "shop/web")); !d.HasProxy || !strings.Contains(d.Reason, "native sidecar") {
		t.Errorf("native sidecar: %v %s", d.HasProxy, d.Reason)
	}
	plainInit := strings.Replace(livePod("web-5d8f-a", true, "10.0.0.1", "", ""), "spec:\n", "spec:\n  initContainers: [{name: istio-proxy, image: proxyv2}]\n", 1)
	e = secTLSEngine(t, liveRS+"---\n"+plainInit)
	if d := e.Sidecar(secWorkload(t, e, "shop/web")); d.HasProxy {
		t.Errorf("init container without restartPolicy Always: %s", d.Reason)
	}
}

// Auto mTLS reads the real pod's security.istio.io/tlsMode label
// (GetTLSModeFromEndpointLabels): a sidecar pod without it is sent plaintext,
// with it mTLS.
func TestLiveTLSModeLabel(t *testing.T) {
	e := secTLSEngine(t, liveRS+"---\n"+livePod("web-5d8f-a", true, "10.0.0.1", "", liveProxy))
	if tls, _ := secCall(t, e, "client/c", "shop/web", ""); tls.Mode != TLSPlaintext {
		t.Errorf("no tlsMode label: %s: %s", tls.Mode, tls.Reason)
	}
	e = secTLSEngine(t, liveRS+"---\n"+livePod("web-5d8f-a", true, "10.0.0.1", liveTLSLabel, liveProxy))
	tls, _ := secCall(t, e, "client/c", "shop/web", "")
	if tls.Mode != TLSMutualIstio {
		t.Errorf("tlsMode=istio: %s: %s", tls.Mode, tls.Reason)
	}
}

// Mixed pods: the majority decides and the decision says the pods differ.
func TestLiveMixedPods(t *testing.T) {
	e := secTLSEngine(t, liveRS+"---\n"+
		livePod("web-5d8f-a", true, "10.0.0.1", liveTLSLabel, liveProxy)+"---\n"+
		livePod("web-5d8f-b", true, "10.0.0.2", "", "")+"---\n"+
		livePod("web-5d8f-c", true, "10.0.0.3", liveTLSLabel, liveProxy))
	d := e.Sidecar(secWorkload(t, e, "shop/web"))
	if !d.HasProxy || !routingHasAssumption(d.Decision, "2 of 3 have an istio-proxy container; web-5d8f-b") {
		t.Errorf("mixed: %v %s %q", d.HasProxy, d.Reason, d.Assumptions)
	}
}

// The selector and subset labels are matched on the running pod's own labels:
// a pod relabelled out of the Service is no endpoint.
func TestLivePodLabelsDecide(t *testing.T) {
	relabelled := strings.Replace(livePod("web-5d8f-b", true, "10.0.0.2", liveTLSLabel, liveProxy), "labels: {app: web,", "labels: {app: quarantine,", 1)
	e := secTLSEngine(t, liveRS+"---\n"+livePod("web-5d8f-a", true, "10.0.0.1", liveTLSLabel+", version: v1", liveProxy)+"---\n"+relabelled)
	svc := secService(t, e, "shop/web")
	d := e.EndpointSet(svc, &svc.Ports[0], nil)
	if len(d.Endpoints) != 1 || strings.Join(d.Endpoints[0].Pods, ",") != "web-5d8f-a" || !strings.Contains(d.Endpoints[0].Reason, "web-5d8f-b (its labels do not match the selector)") {
		t.Fatalf("relabelled pod: %+v: %s", d.Endpoints, d.Reason)
	}
	// A subset whose labels only the running pod has: the template has no
	// version label, the workload is excluded before its pods are read.
	if d := e.EndpointSet(svc, &svc.Ports[0], map[string]string{"version": "v2"}); len(d.Endpoints) != 0 {
		t.Errorf("subset version=v2: %+v", d.Endpoints)
	}
}

// A workload from a file over the cluster (--kube -f) is predicted from the
// file, and its sidecar and endpoints say that its running pods are not used.
func TestLiveFileWorkloadPredicted(t *testing.T) {
	var res load.Result
	load.Decode("tls.yaml", []byte(secTLSBase+"---\n"+liveRS+"---\n"+livePod("web-5d8f-a", false, "10.0.0.1", "", "")), &res)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	for _, o := range res.Objects {
		if o.Kind == "Pod" || o.Kind == "ReplicaSet" {
			o.Pos, o.Fields = objects.Pos{File: mesh.ClusterFile}, objects.Fields{}
		}
	}
	e := New(mesh.Build(res.Objects, mesh.Options{}))
	w := secWorkload(t, e, "shop/web")
	const a = "workloads from files replace the cluster's objects (Deployment shop/web)"
	if d := e.Sidecar(w); !d.HasProxy || !routingHasAssumption(d.Decision, a) {
		t.Errorf("sidecar: %v %s %q", d.HasProxy, d.Reason, d.Assumptions)
	}
	svc := secService(t, e, "shop/web")
	if d := e.EndpointSet(svc, &svc.Ports[0], nil); len(d.Endpoints) != 1 || !routingHasAssumption(d.Decision, a) {
		t.Errorf("endpoints (the not-Ready cluster pod must not count): %s %q", d.Reason, d.Assumptions)
	}
}
