package mesh_test

import (
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Running pods (with a status) are attached to the workload their owner
// references lead to: through an owned ReplicaSet to its Deployment, through a
// ReplicaSet that is not in the input by the pod-template-hash naming rule,
// through a Job to its CronJob, directly to a StatefulSet; a bare pod is its
// own. A pod manifest without status stays a template, and a pod owned by
// something unknown is left out.
func TestPodsAttachToTheirWorkload(t *testing.T) {
	x := build(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: w}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-111, namespace: a, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u, controller: true}]}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: w}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-111-x, namespace: a, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-111, uid: r, controller: true}]}
spec: {containers: [{name: web, image: w}, {name: istio-proxy, image: p}]}
status: {phase: Running, podIP: 10.0.0.1, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-222-y, namespace: a, labels: {pod-template-hash: "222"}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-222, uid: r2, controller: true}]}
spec: {containers: [{name: web, image: w}], initContainers: [{name: istio-proxy, image: p, restartPolicy: Always}]}
status: {phase: Running, conditions: [{type: Ready, status: "False"}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: a}
spec: {schedule: "@daily", jobTemplate: {spec: {template: {spec: {containers: [{name: j, image: j}]}}}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: nightly-1, namespace: a, ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: nightly, uid: c}]}
spec: {template: {spec: {containers: [{name: j, image: j}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: nightly-1-z, namespace: a, ownerReferences: [{apiVersion: batch/v1, kind: Job, name: nightly-1, uid: j}]}
spec: {containers: [{name: j, image: j}]}
status: {phase: Succeeded}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: a}
spec: {template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: d}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: a, ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: s, controller: true}]}
spec: {containers: [{name: db, image: d}]}
status: {phase: Running, podIP: 10.0.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: a, deletionTimestamp: "2026-01-01T00:00:00Z"}
spec: {containers: [{name: b, image: b}]}
status: {phase: Running, podIP: 10.0.0.4}
---
apiVersion: v1
kind: Pod
metadata: {name: manifest, namespace: a}
spec: {containers: [{name: m, image: m}]}
---
apiVersion: v1
kind: Pod
metadata: {name: static-node1, namespace: a, ownerReferences: [{apiVersion: v1, kind: Node, name: node1, uid: "n"}]}
spec: {containers: [{name: s, image: s}]}
status: {phase: Running, podIP: 10.0.0.5}
`)
	pods := func(kind, name string) string {
		w := x.Workload("a", name, kind)
		if w == nil {
			t.Fatalf("no workload %s a/%s", kind, name)
		}
		var s []string
		for _, p := range w.Pods {
			f := p.Name
			if p.Ready {
				f += "+ready"
			}
			if p.Proxy != "" {
				f += "+proxy@" + p.Proxy
			}
			if p.NativeSidecar {
				f += "+native"
			}
			if p.Terminating {
				f += "+terminating"
			}
			if p.Done() {
				f += "+done"
			}
			s = append(s, f)
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct{ kind, name, want string }{
		{"Deployment", "web", "web-111-x+ready+proxy@spec.containers[1] web-222-y+proxy@spec.initContainers[0]+native"},
		{"CronJob", "nightly", "nightly-1-z+done"},
		{"StatefulSet", "db", "db-0"},
		{"Pod", "bare", "bare+terminating"},
		{"Pod", "manifest", ""},
	} {
		if got := pods(c.kind, c.name); got != c.want {
			t.Errorf("%s %s: pods %q, want %q", c.kind, c.name, got, c.want)
		}
	}
	if w := x.Workload("a", "static-node1", ""); w != nil {
		t.Errorf("a pod owned by a Node became workload %s", w.Key())
	}
}

// With --kube and -f, a workload from a file replaces the cluster's: applying
// it rolls out its template, so the cluster's pods are not its pods, and that
// is stated. The cluster's own workloads keep theirs.
func TestFileWorkloadsOverClusterIgnoreLivePods(t *testing.T) {
	var r load.Result
	load.Decode("fix.yaml", []byte(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: w}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: a}
spec: {template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: d}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: a, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u}]}
spec: {containers: [{name: web, image: w}]}
status: {phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: a, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: db, uid: u}]}
spec: {containers: [{name: db, image: d}]}
status: {phase: Running}
`), &r)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	// Everything but the web Deployment was read from the cluster.
	for _, o := range r.Objects {
		if !(o.Kind == "Deployment" && o.Name == "web") {
			o.Pos, o.Fields = objects.Pos{File: mesh.ClusterFile}, objects.Fields{}
		}
	}
	x := mesh.Build(r.Objects, mesh.Options{})
	web, db := x.Workload("a", "web", ""), x.Workload("a", "db", "")
	if !web.LivePodsIgnored || len(web.Pods) != 0 {
		t.Errorf("web from a file: ignored %v, pods %d", web.LivePodsIgnored, len(web.Pods))
	}
	if db.LivePodsIgnored || len(db.Pods) != 1 {
		t.Errorf("db from the cluster: ignored %v, pods %d", db.LivePodsIgnored, len(db.Pods))
	}
	if s, ok := x.Assumption(mesh.AssumeFileWorkloads); !ok || !strings.HasPrefix(s, "workloads from files replace the cluster's objects (Deployment a/web)") {
		t.Errorf("assumption %q %v", s, ok)
	}
}
