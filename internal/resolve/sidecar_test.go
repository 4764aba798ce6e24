package resolve

import (
	"fmt"
	"strings"
	"testing"
)

// secInjectMesh is namespace "app" (with nsLabels; no Namespace document when
// nsLabels is "absent") and a Deployment "web" with the given pod template
// metadata and extra pod spec fields.
func secInjectMesh(ns, nsLabels, podMeta, podSpec string) string {
	var b strings.Builder
	if nsLabels != "absent" {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {%s}\n---\n", ns, nsLabels)
	}
	fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %s}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: %s
    spec:
      %s
      containers: [{name: web, image: web, ports: [{containerPort: 8080}]}]
`, ns, podMeta, podSpec)
	return b.String()
}

// Each case pins one injection rule: the MutatingWebhookConfiguration
// selectors (manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml)
// and injectRequired (pkg/kube/inject/inject.go), ISTIO-SEMANTICS.md §7.
func TestSidecarInjectionRules(t *testing.T) {
	cases := []struct {
		name              string
		ns                string
		nsLabels, podMeta string
		podSpec           string
		kind              string
		reason            string // substring of the reason
		field             string // a field of By (on the namespace or the Deployment)
		assume            string // substring of an assumption
	}{
		// mutatingwebhook.yaml namespace.*: istio-injection In [enabled].
		{name: "namespace enabled", nsLabels: "istio-injection: enabled", podMeta: "{labels: {app: web}}",
			kind: ProxySidecar, reason: "istio-injection=enabled", field: `metadata.labels.istio-injection`, assume: "default policy"},
		// objectSelector sidecar.istio.io/inject NotIn [false].
		{name: "pod label false opts out", nsLabels: "istio-injection: enabled", podMeta: `{labels: {app: web, sidecar.istio.io/inject: "false"}}`,
			kind: ProxyNone, reason: "keeps it away", field: `spec.template.metadata.labels["sidecar.istio.io/inject"]`},
		// injectRequired: the annotation is honoured inside the webhook.
		{name: "annotation false inside the webhook", nsLabels: "istio-injection: enabled", podMeta: `{labels: {app: web}, annotations: {sidecar.istio.io/inject: "false"}}`,
			kind: ProxyNone, reason: "annotation sidecar.istio.io/inject=false declines", field: `spec.template.metadata.annotations["sidecar.istio.io/inject"]`},
		// injectRequired: "The label is the new API; if both are present we prefer the label".
		{name: "label beats annotation", nsLabels: "istio-injection: enabled", podMeta: `{labels: {app: web, sidecar.istio.io/inject: "true"}, annotations: {sidecar.istio.io/inject: "false"}}`,
			kind: ProxySidecar, reason: "label sidecar.istio.io/inject=true", field: `spec.template.metadata.labels["sidecar.istio.io/inject"]`},
		// injectRequired: a value other than true/false falls back to the default policy.
		{name: "invalid value uses the default", nsLabels: "istio-injection: enabled", podMeta: `{labels: {app: web, sidecar.istio.io/inject: "yes"}}`,
			kind: ProxySidecar, reason: `neither "true" nor "false"`, assume: "default policy"},
		// No webhook selects istio-injection=disabled, and it blocks the object webhook.
		{name: "namespace disabled beats pod label", nsLabels: "istio-injection: disabled", podMeta: `{labels: {app: web, sidecar.istio.io/inject: "true"}}`,
			kind: ProxyNone, reason: "cannot override it", field: `metadata.labels.istio-injection`},
		// object.*: namespace without labels, pod label inject=true, no istio.io/rev.
		{name: "pod label true opts in", nsLabels: "", podMeta: `{labels: {app: web, sidecar.istio.io/inject: "true"}}`,
			kind: ProxySidecar, reason: "has label sidecar.istio.io/inject=true", field: `spec.template.metadata.labels["sidecar.istio.io/inject"]`},
		// The objectSelector sees labels only: the annotation cannot opt in alone.
		{name: "annotation alone cannot opt in", nsLabels: "", podMeta: `{labels: {app: web}, annotations: {sidecar.istio.io/inject: "true"}}`,
			kind: ProxyNone, reason: "alone cannot opt in", field: `spec.template.metadata.annotations["sidecar.istio.io/inject"]`},
		{name: "nothing asks for injection", nsLabels: "team: x", podMeta: "{labels: {app: web}}",
			kind: ProxyNone, reason: "has no istio-injection=enabled or istio.io/rev label"},
		// rev.namespace.*: istio.io/rev In [rev], istio-injection DoesNotExist.
		{name: "namespace revision", nsLabels: "istio.io/rev: canary", podMeta: "{labels: {app: web}}",
			kind: ProxySidecar, reason: "istio.io/rev=canary", field: `metadata.labels["istio.io/rev"]`, assume: "istio.io/rev=canary names an installed"},
		// rev.namespace requires istio-injection DoesNotExist; "disabled" blocks all.
		{name: "namespace revision with injection disabled", nsLabels: "istio.io/rev: canary, istio-injection: disabled", podMeta: "{labels: {app: web}}",
			kind: ProxyNone, reason: "istio-injection=disabled"},
		// "if both revision and legacy selector, we give precedence to the legacy one".
		{name: "istio-injection beats istio.io/rev", nsLabels: "istio.io/rev: canary, istio-injection: enabled", podMeta: "{labels: {app: web}}",
			kind: ProxySidecar, reason: "istio-injection=enabled", field: `metadata.labels.istio-injection`},
		// rev.object.*: namespace without labels, pod label istio.io/rev.
		{name: "pod revision", nsLabels: "", podMeta: `{labels: {app: web, istio.io/rev: stable}}`,
			kind: ProxySidecar, reason: "has label istio.io/rev=stable", field: `spec.template.metadata.labels["istio.io/rev"]`, assume: "istio.io/rev=stable names"},
		{name: "pod revision opted out", nsLabels: "", podMeta: `{labels: {app: web, istio.io/rev: stable, sidecar.istio.io/inject: "false"}}`,
			kind: ProxyNone, reason: "keeps it away"},
		// injectRequired: hostNetwork pods are never injected.
		{name: "hostNetwork", nsLabels: "istio-injection: enabled", podMeta: "{labels: {app: web}}", podSpec: "hostNetwork: true",
			kind: ProxyNone, reason: "hostNetwork", field: "spec.template.spec.hostNetwork"},
		// injectRequired: IgnoredNamespaces (initializer.go).
		{name: "kube-system is ignored", ns: "kube-system", nsLabels: "istio-injection: enabled", podMeta: `{labels: {app: web, sidecar.istio.io/inject: "true"}}`,
			kind: ProxyNone, reason: "never injected"},
		// Namespace not in the input: its labels are unknown.
		{name: "namespace absent", nsLabels: "absent", podMeta: "{labels: {app: web}}",
			kind: ProxyNone, assume: "namespace app is not in the input"},
		// §7.4: an istio-proxy container in the template (kube-inject output).
		{name: "istio-proxy container", nsLabels: "", podMeta: "{labels: {app: web}}", kind: ProxySidecar,
			podSpec: "initContainers: [{name: istio-proxy, image: proxyv2, restartPolicy: Always}]",
			reason:  "native sidecar", field: "spec.template.spec.initContainers[0]"},
		// §7.4: already injected pods carry sidecar.istio.io/status.
		{name: "status annotation", nsLabels: "", podMeta: `{labels: {app: web}, annotations: {sidecar.istio.io/status: "{}"}}`,
			kind: ProxySidecar, reason: "sidecar.istio.io/status"},
		// Gateways: never a sidecar (§4).
		{name: "ingress gateway label", nsLabels: "istio-injection: enabled", podMeta: "{labels: {app: web, istio: ingressgateway}}",
			kind: ProxyGateway, reason: "istio=ingressgateway", field: `spec.template.metadata.labels.istio`},
		{name: "gateway api pod", nsLabels: "", podMeta: `{labels: {app: web, gateway.networking.k8s.io/gateway-name: edge}}`,
			kind: ProxyGateway, reason: "Gateway API"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := c.ns
			if ns == "" {
				ns = "app"
			}
			e := secEngine(t, "inject.yaml", secInjectMesh(ns, c.nsLabels, c.podMeta, c.podSpec))
			d := e.Sidecar(secWorkload(t, e, ns+"/web"))
			if d.Kind != c.kind || d.HasProxy != (c.kind != ProxyNone) {
				t.Fatalf("kind %q, want %q\n%s", d.Kind, c.kind, secDump(d.Decision))
			}
			if !strings.Contains(d.Reason, c.reason) {
				t.Errorf("reason %q lacks %q", d.Reason, c.reason)
			}
			if c.field != "" {
				found := false
				for _, r := range d.By {
					if r.Field == c.field && r.Line > 0 {
						found = true
					}
				}
				if !found {
					t.Errorf("no ref to %s with a line\n%s", c.field, secDump(d.Decision))
				}
			}
			if c.assume != "" && !secHasAssumption(d.Decision, c.assume) {
				t.Errorf("no assumption %q\n%s", c.assume, secDump(d.Decision))
			}
			if c.assume == "" && secHasAssumption(d.Decision, "names an installed") {
				t.Errorf("unexpected revision assumption\n%s", secDump(d.Decision))
			}
		})
	}
}

// A workload selected by a Gateway's selector is a gateway proxy
// (push_context.go mergeGateways selects gateway pods by labels); the implied
// ingress gateway of SPEC.md is one too, with its assumption.
func TestSidecarGateways(t *testing.T) {
	e := secEngine(t, "gw.yaml", secInjectMesh("app", "istio-injection: enabled", "{labels: {app: web, role: edge}}", "")+`---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: app}
spec:
  selector: {role: edge}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`)
	d := e.Sidecar(secWorkload(t, e, "app/web"))
	if d.Kind != ProxyGateway || !secHasRef(d.Decision, "Gateway", "app/edge", "spec.selector") {
		t.Fatalf("%+v", d)
	}
	gw := e.Sidecar(secWorkload(t, e, "istio-system/istio-ingressgateway"))
	if gw.Kind != ProxyGateway || !gw.HasProxy || !secHasAssumption(gw.Decision, "ingress gateway") {
		t.Fatalf("%+v", gw)
	}
}

// Ambient enrolment (manifests/charts/istio-cni/values.yaml selectors): the
// namespace label, unless the pod opts out with istio.io/dataplane-mode=none.
func TestSidecarAmbient(t *testing.T) {
	e := secEngine(t, "ambient.yaml", secInjectMesh("app", "istio.io/dataplane-mode: ambient", "{labels: {app: web}}", ""))
	d := e.Sidecar(secWorkload(t, e, "app/web"))
	if !d.Ambient || d.HasProxy || d.Kind != ProxyNone || !secHasAssumption(d.Decision, "ambient mode is not modeled") {
		t.Fatalf("%+v", d)
	}
	e = secEngine(t, "ambient.yaml", secInjectMesh("app", "istio.io/dataplane-mode: ambient", "{labels: {app: web, istio.io/dataplane-mode: none}}", ""))
	if d := e.Sidecar(secWorkload(t, e, "app/web")); d.Ambient {
		t.Fatalf("opted out pod is ambient: %+v", d)
	}
	// An injected pod is skipped by the CNI (podutil.go podHasSidecar).
	e = secEngine(t, "ambient.yaml", secInjectMesh("app", "istio.io/dataplane-mode: ambient, istio-injection: enabled", "{labels: {app: web}}", ""))
	if d := e.Sidecar(secWorkload(t, e, "app/web")); d.Ambient || d.Kind != ProxySidecar {
		t.Fatalf("injected pod: %+v", d)
	}
}

// Identities are spiffe://<trust domain>/ns/<ns>/sa/<sa>
// (pkg/spiffe/spiffe.go genSpiffeURI); principals drop the scheme.
func TestIdentity(t *testing.T) {
	e := secFixture(t, "incident.yaml", `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    trustDomain: example.org
`)
	w := secWorkload(t, e, "titanium-prod/prod-blog-service")
	if got := e.Identity(w); got != "spiffe://example.org/ns/titanium-prod/sa/prod-blog-service-sa" {
		t.Errorf("identity %s", got)
	}
	gw := secWorkload(t, e, "istio-system/istio-ingressgateway")
	if got := e.Principal(gw); got != "example.org/ns/istio-system/sa/istio-ingressgateway-service-account" {
		t.Errorf("principal %s", got)
	}
}
