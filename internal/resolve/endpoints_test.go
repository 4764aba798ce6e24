package resolve

import (
	"strings"
	"testing"
)

const endpointsMesh = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v1, namespace: app}
spec:
  selector: {matchLabels: {app: web, version: v1}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      containers:
      - name: web
        image: web
        ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v2, namespace: app}
spec:
  replicas: 0
  selector: {matchLabels: {app: web, version: v2}}
  template:
    metadata: {labels: {app: web, version: v2}}
    spec:
      containers:
      - name: web
        image: web
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web-legacy, namespace: app}
spec:
  selector: {matchLabels: {app: web, version: legacy}}
  template:
    metadata: {labels: {app: web, version: legacy}}
    spec:
      containers:
      - name: web
        image: web
        ports: [{name: web, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: http-alt, port: 8080}
  - {name: http-admin, port: 81, targetPort: 9999}
---
apiVersion: v1
kind: Service
metadata: {name: manual, namespace: app}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: app}
spec:
  type: ExternalName
  externalName: web.example.com
---
apiVersion: v1
kind: Service
metadata: {name: nobody, namespace: app}
spec:
  selector: {app: nobody}
  ports: [{name: http, port: 80}]
`

// targetPort: a number is used as is (declared or not: Kubernetes does not
// require declaring container ports); a name is looked up in the pod's
// container ports by name and protocol (pkg/api/v1/pod/util.go FindPort), and
// when none declares it the pod gives no endpoint for that port; targetPort
// defaults to port.
func TestTargetPort(t *testing.T) {
	e := routingEngine(t, "eps.yaml", endpointsMesh)
	svc := e.X.Service("app", "web")
	v1 := routingWorkload(t, e, "app", "web-v1")
	legacy := routingWorkload(t, e, "app", "web-legacy")
	cases := []struct {
		port      int32
		w         string
		want      int32
		found     bool
		svcField  string
		contField string
	}{
		{80, "web-v1", 8080, true, "spec.ports[0].targetPort", "spec.template.spec.containers[0].ports[0].name"},
		{80, "web-legacy", 0, false, "spec.ports[0].targetPort", ""},
		{8080, "web-v1", 8080, true, "spec.ports[1].port", "spec.template.spec.containers[0].ports[0].containerPort"},
		{81, "web-v1", 9999, false, "spec.ports[2].targetPort", ""},
	}
	for _, c := range cases {
		w := v1
		if c.w == "web-legacy" {
			w = legacy
		}
		d := e.TargetPort(svc, svc.Port(c.port), w)
		if d.Port != c.want || d.Found != c.found {
			t.Errorf("port %d on %s: %d found %v: %s", c.port, c.w, d.Port, d.Found, d.Reason)
		}
		if len(d.By) == 0 || d.By[0].Field != c.svcField || d.By[0].Line == 0 {
			t.Errorf("port %d on %s: service ref %+v", c.port, c.w, d.By)
		}
		if c.contField != "" && (len(d.By) < 2 || d.By[1].Field != c.contField) {
			t.Errorf("port %d on %s: container ref %+v", c.port, c.w, d.By)
		}
	}
}

// Endpoints are the workloads of the Service's namespace whose pod labels
// contain the selector and, for a subset, the subset's labels
// (endpoint_builder.go); 0 replicas give none; a named targetPort a pod does
// not declare leaves it out; a Service without selector, or ExternalName, has
// no endpoints.
func TestEndpoints(t *testing.T) {
	e := routingEngine(t, "eps.yaml", endpointsMesh)
	svc := e.X.Service("app", "web")
	names := func(eps []Endpoint) string {
		var n []string
		for _, ep := range eps {
			n = append(n, ep.Workload.Name)
		}
		return strings.Join(n, ",")
	}
	es := e.EndpointSet(svc, svc.Port(80), nil)
	if names(es.Endpoints) != "web-v1" || names(es.Excluded) != "web-legacy,web-v2" {
		t.Errorf("port 80: %s / excluded %s", names(es.Endpoints), names(es.Excluded))
	}
	for _, ep := range es.Excluded {
		if ep.Workload.Name == "web-v2" && !strings.Contains(ep.Reason, "0 replicas") {
			t.Errorf("web-v2: %s", ep.Reason)
		}
		if ep.Workload.Name == "web-legacy" && !strings.Contains(ep.Reason, `named "http"`) {
			t.Errorf("web-legacy: %s", ep.Reason)
		}
	}
	if eps := e.Endpoints(svc, svc.Port(8080), nil); names(eps) != "web-legacy,web-v1" || eps[0].TargetPort != 8080 || !eps[0].PortFound {
		t.Errorf("port 8080: %s %+v", names(eps), eps)
	}
	if eps := e.Endpoints(svc, svc.Port(81), nil); len(eps) != 2 || eps[0].PortFound || eps[0].TargetPort != 9999 {
		t.Errorf("port 81 (undeclared numeric targetPort): %+v", eps)
	}
	if eps := e.Endpoints(svc, svc.Port(8080), map[string]string{"version": "legacy"}); names(eps) != "web-legacy" {
		t.Errorf("subset legacy: %s", names(eps))
	}
	es = e.EndpointSet(svc, svc.Port(8080), map[string]string{"version": "v3"})
	if len(es.Endpoints) != 0 || !strings.Contains(es.Reason, "subset labels") {
		t.Errorf("subset v3: %s", es.Reason)
	}
	for _, c := range []struct{ name, want string }{
		{"manual", "no selector"}, {"alias", "ExternalName"}, {"nobody", "no workload"},
	} {
		s := e.X.Service("app", c.name)
		var es EndpointsDecision
		if len(s.Ports) > 0 {
			es = e.EndpointSet(s, &s.Ports[0], nil)
		} else {
			es = e.EndpointSet(s, nil, nil)
		}
		if len(es.Endpoints) != 0 || !strings.Contains(es.Reason, c.want) {
			t.Errorf("%s: %d endpoints: %s", c.name, len(es.Endpoints), es.Reason)
		}
	}
	// cached
	a := e.EndpointSet(svc, svc.Port(80), nil)
	if len(e.rt.eps) == 0 || a.Reason != e.EndpointSet(svc, svc.Port(80), nil).Reason {
		t.Error("endpoint cache")
	}
}
