package resolve

import (
	"strings"
	"testing"
)

// listenEngine builds a mesh with one Deployment app/web whose single
// container is given as YAML (indented for a list item under containers:).
func listenEngine(t *testing.T, container string, extra string) *Engine {
	t.Helper()
	doc := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
` + container
	if extra != "" {
		doc += "\n---\n" + extra
	}
	return routingEngine(t, "listen.yaml", doc)
}

// Each row of loopbackPatterns, with the cases that pin it. Istio 1.10 made
// the sidecar forward inbound traffic to the pod IP
// (https://istio.io/latest/blog/2021/upcoming-networking-changes/), so every
// case here is unreachable on the port asked about.
var loopbackCases = []struct {
	row       string
	container string
	port      int32
	field     string // the arg or env entry the decision points at
}{
	{"host-flag", `      - {name: app, image: x, args: ["serve", "--host", "127.0.0.1", "--port", "8080"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].args[2]"},
	{"host-flag", `      - {name: app, image: x, args: ["--host=localhost"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].args[0]"},
	{"host-flag", `      - {name: app, image: x, command: [uvicorn], args: ["main:app", "--host", "127.0.0.1", "--port", "8000"], ports: [{containerPort: 8000}]}`, 8000, "spec.template.spec.containers[0].args[2]"},
	{"host-flag", `      - {name: app, image: x, command: [flask, run], args: ["--host=127.0.0.1", "--port=5000"], ports: [{containerPort: 5000}]}`, 5000, "spec.template.spec.containers[0].args[0]"},
	{"host-flag", `      - {name: app, image: x, args: ["--host", "::1"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].args[1]"},
	{"bind-flag", `      - {name: app, image: x, args: ["--bind", "127.0.0.1"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].args[1]"},
	{"bind-flag", `      - {name: app, image: x, args: ["-b", "localhost:8005"], ports: [{containerPort: 8005}]}`, 8005, "spec.template.spec.containers[0].args[1]"},
	{"bind-flag", `      - {name: app, image: x, args: ["-b", "127.0.0.1:8005"], ports: [{containerPort: 8005}]}`, 8005, "spec.template.spec.containers[0].args[1]"},
	{"bind-flag", `      - {name: app, image: x, command: [gunicorn], args: ["app:app", "--bind", "127.0.0.1:8000"], ports: [{containerPort: 8000}]}`, 8000, "spec.template.spec.containers[0].args[2]"},
	{"bind-flag", `      - {name: app, image: x, args: ["--bind", "[::1]:8005"], ports: [{containerPort: 8005}]}`, 8005, "spec.template.spec.containers[0].args[1]"},
	{"listen-flag", `      - {name: app, image: x, args: ["--listen", "127.0.0.1:8005"], ports: [{containerPort: 8005}]}`, 8005, "spec.template.spec.containers[0].args[1]"},
	{"address-flag", `      - {name: app, image: x, args: ["--address=127.0.0.1"], ports: [{containerPort: 9090}]}`, 9090, "spec.template.spec.containers[0].args[0]"},
	{"address-flag", `      - {name: app, image: x, args: ["--addr", "localhost:8080"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].args[1]"},
	{"flask-run-default", `      - {name: app, image: x, command: [flask], args: [run], ports: [{containerPort: 5000}]}`, 5000, "spec.template.spec.containers[0].args[0]"},
	{"flask-run-default", `      - {name: app, image: x, command: [python, -m, flask, run, --port, "8080"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].command[3]"},
	{"uvicorn-default", `      - {name: app, image: x, command: [uvicorn, "main:app"], ports: [{containerPort: 8000}]}`, 8000, "spec.template.spec.containers[0].command[0]"},
	{"gunicorn-default", `      - {name: app, image: x, command: [gunicorn, "app:app"], ports: [{containerPort: 8000}]}`, 8000, "spec.template.spec.containers[0].command[0]"},
	{"django-runserver-default", `      - {name: app, image: x, command: [python, manage.py, runserver], ports: [{containerPort: 8000}]}`, 8000, "spec.template.spec.containers[0].command[2]"},
	{"django-runserver-default", `      - {name: app, image: x, command: [python, manage.py, runserver, "8080"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].command[3]"},
	{"php-builtin-server", `      - {name: app, image: x, command: [php, -S, "localhost:8000", -t, public], ports: [{containerPort: 8000}]}`, 8000, "spec.template.spec.containers[0].command[2]"},
	{"listen-directive", `      - {name: app, image: x, command: [sh, -c], args: ["echo 'server { listen 127.0.0.1:8080; }' > /etc/nginx/conf.d/default.conf && nginx -g 'daemon off;'"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].args[0]"},
	{"env-host", `      - {name: app, image: x, env: [{name: PORT, value: "3000"}, {name: HOST, value: 127.0.0.1}], ports: [{containerPort: 3000}]}`, 3000, "spec.template.spec.containers[0].env[1].value"},
	{"env-host", `      - {name: app, image: x, env: [{name: SERVER_HOST, value: localhost}], ports: [{containerPort: 3000}]}`, 3000, "spec.template.spec.containers[0].env[0].value"},
	{"env-bind", `      - {name: app, image: x, env: [{name: BIND_ADDRESS, value: 127.0.0.1}], ports: [{containerPort: 3000}]}`, 3000, "spec.template.spec.containers[0].env[0].value"},
	{"env-listen", `      - {name: app, image: x, env: [{name: LISTEN_ADDR, value: "127.0.0.1:8005"}], ports: [{containerPort: 8005}]}`, 8005, "spec.template.spec.containers[0].env[0].value"},
	{"env-listen", `      - {name: app, image: x, env: [{name: ADDR, value: "[::1]:8005"}], ports: [{containerPort: 8005}]}`, 8005, "spec.template.spec.containers[0].env[0].value"},
	{"env-gunicorn-cmd-args", `      - {name: app, image: x, command: [gunicorn, "app:app"], env: [{name: GUNICORN_CMD_ARGS, value: "--workers 2 --bind 127.0.0.1:8000"}], ports: [{containerPort: 8000}]}`, 8000, "spec.template.spec.containers[0].env[0].value"},
	// whole shell scripts in sh -c "..."
	{"bind-flag", `      - name: app
        image: x
        command: ["/bin/sh", "-c"]
        args:
        - |
          set -e
          python manage.py migrate
          exec gunicorn app.wsgi --bind 127.0.0.1:8005 --workers 3
        ports: [{containerPort: 8005}]`, 8005, "spec.template.spec.containers[0].args[0]"},
	{"uvicorn-default", `      - {name: app, image: x, command: [bash, -ec, "cd /srv && uvicorn main:app --port 8080"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].command[2]"},
	{"host-flag", `      - {name: app, image: x, env: [{name: BIND, value: 127.0.0.1}], args: ["--host=$(BIND)"], ports: [{containerPort: 8080}]}`, 8080, "spec.template.spec.containers[0].args[0]"},
}

func TestLoopbackPatterns(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range loopbackCases {
		covered[c.row] = true
		e := listenEngine(t, c.container, "")
		w := routingWorkload(t, e, "app", "web")
		d := e.Listening(w, c.port)
		if d.Listening != ListenNo || !d.Loopback {
			t.Errorf("%s: %q: listening %s: %s", c.row, c.container, d.Listening, d.Reason)
			continue
		}
		if !e.MayBindLoopback(w) {
			t.Errorf("%s: %q: MayBindLoopback is false, so checks would skip the workload", c.row, c.container)
		}
		if len(d.By) == 0 || d.By[0].Field != c.field || d.By[0].Line == 0 {
			t.Errorf("%s: ref %+v, want field %s", c.row, d.By, c.field)
		}
		if !strings.Contains(d.Reason, istio110Blog) || d.Evidence == "" || d.Confidence == "" {
			t.Errorf("%s: %+v", c.row, d)
		}
	}
	for _, p := range loopbackPatterns {
		if !covered[p.name] {
			t.Errorf("loopback pattern %q has no test case", p.name)
		}
	}
}

// Negative cases: binding all interfaces, a loopback bind on another port, a
// loopback value in an unrelated flag or env, flask/uvicorn/gunicorn with an
// explicit non-loopback bind.
func TestListeningNotLoopback(t *testing.T) {
	cases := []struct {
		name, container string
		port            int32
	}{
		{"all interfaces", `      - {name: app, image: x, args: ["--host", "0.0.0.0", "--bind=0.0.0.0:8080"], ports: [{containerPort: 8080}]}`, 8080},
		{"loopback on another port", `      - {name: app, image: x, args: ["--listen", "127.0.0.1:9901", "--addr", ":8080"], ports: [{containerPort: 8080}]}`, 8080},
		{"loopback admin port via env", `      - {name: app, image: x, env: [{name: LISTEN_ADDR, value: "127.0.0.1:9000"}], ports: [{containerPort: 8080}]}`, 8080},
		{"unrelated flag", `      - {name: app, image: x, args: ["--db-host", "127.0.0.1", "--redis", "localhost:6379"], ports: [{containerPort: 8080}]}`, 8080},
		{"unrelated env", `      - {name: app, image: x, env: [{name: DB_HOST, value: 127.0.0.1}], ports: [{containerPort: 8080}]}`, 8080},
		{"flask with host", `      - {name: app, image: x, command: [flask, run, --host=0.0.0.0], ports: [{containerPort: 5000}]}`, 5000},
		{"flask default on other port", `      - {name: app, image: x, command: [flask, run], ports: [{containerPort: 8080}]}`, 8080},
		{"uvicorn with host", `      - {name: app, image: x, command: [uvicorn, "main:app", --host, 0.0.0.0], ports: [{containerPort: 8000}]}`, 8000},
		{"gunicorn with PORT", `      - {name: app, image: x, command: [gunicorn, "app:app"], env: [{name: PORT, value: "8000"}], ports: [{containerPort: 8000}]}`, 8000},
		{"django on all interfaces", `      - {name: app, image: x, command: [python, manage.py, runserver, "0.0.0.0:8000"], ports: [{containerPort: 8000}]}`, 8000},
		{"listen directive on all interfaces", `      - {name: app, image: x, command: [sh, -c, "echo 'listen 8080;' > /tmp/c && nginx"], ports: [{containerPort: 8080}]}`, 8080},
	}
	for _, c := range cases {
		e := listenEngine(t, c.container, "")
		w := routingWorkload(t, e, "app", "web")
		d := e.Listening(w, c.port)
		if d.Listening != ListenYes || d.Loopback {
			t.Errorf("%s: %s %s", c.name, d.Listening, d.Reason)
		}
		if c.name == "all interfaces" && e.MayBindLoopback(w) {
			t.Errorf("%s: MayBindLoopback is true without a loopback bind", c.name)
		}
	}
}

// A port no container declares is unknown (Kubernetes does not require
// declaring ports), unless a loopback bind names exactly that port.
func TestListeningUndeclared(t *testing.T) {
	e := listenEngine(t, `      - {name: app, image: x, ports: [{containerPort: 8080}]}`, "")
	d := e.Listening(routingWorkload(t, e, "app", "web"), 9000)
	if d.Listening != ListenUnknown || d.Confidence != ConfidenceMedium || !strings.Contains(d.Reason, "does not require declaring") {
		t.Errorf("%+v", d)
	}
	e = listenEngine(t, `      - {name: app, image: x, args: ["--listen", "127.0.0.1:9000"]}`, "")
	if d := e.Listening(routingWorkload(t, e, "app", "web"), 9000); d.Listening != ListenNo {
		t.Errorf("undeclared loopback: %+v", d)
	}
	e = listenEngine(t, `      - {name: app, image: x, ports: [{containerPort: 8080}]}`, "")
	if d := e.Listening(routingWorkload(t, e, "app", "web"), 8080); d.Listening != ListenYes || d.By[0].Field != "spec.template.spec.containers[0].ports[0].containerPort" {
		t.Errorf("declared: %+v", d)
	}
}

// A Sidecar ingress listener with defaultEndpoint 127.0.0.1:<port> makes the
// sidecar forward to loopback, so a loopback-bound application is reachable
// (https://istio.io/latest/docs/reference/config/analysis/ist0143/).
func TestListeningSidecarDefaultEndpoint(t *testing.T) {
	e := listenEngine(t, `      - {name: app, image: x, args: ["--bind", "127.0.0.1:8080"], ports: [{containerPort: 8080}]}`, `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: web, namespace: app}
spec:
  workloadSelector: {labels: {app: web}}
  ingress:
  - port: {number: 8080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
`)
	d := e.Listening(routingWorkload(t, e, "app", "web"), 8080)
	if d.Listening != ListenYes || !d.Loopback || len(d.By) < 2 || d.By[len(d.By)-1].Kind != "Sidecar" {
		t.Errorf("%+v", d)
	}
}

// The incident's shape: gunicorn bound to 127.0.0.1:8005 behind
// prod-blog-service:8005 gives "Connection refused".
func TestListeningIncident(t *testing.T) {
	e := routingFixture(t, "incident.yaml", "")
	d := e.Listening(routingWorkload(t, e, "titanium-prod", "prod-blog-service"), 8005)
	if d.Listening != ListenNo || d.Confidence != ConfidenceHigh || d.By[0].Field != "spec.template.spec.containers[0].args[4]" {
		t.Errorf("%+v", d)
	}
}
