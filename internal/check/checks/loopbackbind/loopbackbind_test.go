package loopbackbind_test

import (
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks/loopbackbind"
	"github.com/meshdoctor/meshdoctor/internal/check/checktest"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

func TestLoopbackBind(t *testing.T) {
	checktest.Run(t, "testdata", loopbackbind.Check)
}

// The findings come in the order of a walk over the Services (then ports,
// then endpoints), whatever the order of the workloads: with a budget of one
// fix, the workload behind the first Service (a-svc selects zeta) gets it.
func TestReportOrderDecidesTheFixBudget(t *testing.T) {
	var r load.Result
	load.Decode("budget.yaml", []byte(budgetMesh), &r)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	res := check.Run(mesh.Build(r.Objects, mesh.Options{}), []*check.Check{loopbackbind.Check}, check.Options{Fixes: true, MaxFixes: 1})
	var fixed []string
	for _, f := range res.Findings {
		if len(f.Fixes) > 0 {
			fixed = append(fixed, f.Message)
		}
	}
	if len(res.Findings) != 2 || len(fixed) != 1 || !strings.Contains(fixed[0], "shop/zeta") {
		t.Fatalf("%d findings, fixes for %q: want the fix on shop/zeta", len(res.Findings), fixed)
	}
}

const budgetMesh = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio-injection: enabled
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: alpha
  namespace: shop
spec:
  selector:
    matchLabels: {app: alpha}
  template:
    metadata:
      labels: {app: alpha}
    spec:
      containers:
      - name: alpha
        image: alpha:1
        args: ["serve", "--host", "127.0.0.1", "--port", "8080"]
        ports:
        - containerPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: zeta
  namespace: shop
spec:
  selector:
    matchLabels: {app: zeta}
  template:
    metadata:
      labels: {app: zeta}
    spec:
      containers:
      - name: zeta
        image: zeta:1
        args: ["serve", "--host", "127.0.0.1", "--port", "8080"]
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: a-svc
  namespace: shop
spec:
  selector: {app: zeta}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: b-svc
  namespace: shop
spec:
  selector: {app: alpha}
  ports:
  - name: http
    port: 80
    targetPort: 8080
`
