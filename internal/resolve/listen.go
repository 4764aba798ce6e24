package resolve

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Listening values.
const (
	ListenYes     = "yes"
	ListenNo      = "no"
	ListenUnknown = "unknown"
)

// Confidence values.
const (
	ConfidenceHigh   = "high"
	ConfidenceMedium = "medium"
	ConfidenceLow    = "low"
)

// istio110Blog is the Istio change that makes loopback-bound applications
// unreachable through the sidecar.
const istio110Blog = "https://istio.io/latest/blog/2021/upcoming-networking-changes/"

// ListenDecision says whether the application of a workload accepts
// connections on a pod port.
type ListenDecision struct {
	// Listening is "yes", "no" or "unknown".
	Listening string `json:"listening"`
	// Loopback is set when the application binds to a loopback address on
	// that port.
	Loopback bool `json:"loopback,omitempty"`
	// Evidence quotes what was seen (an argument, an env entry, a declared
	// port).
	Evidence string `json:"evidence,omitempty"`
	// Confidence is high, medium or low.
	Confidence string `json:"confidence"`
	Decision
}

// Listening decides whether the application of w listens on port, for
// connections that come to the pod IP: a container must declare the port (a
// port no container declares is "unknown": Kubernetes does not require
// declaring ports) and the application must not visibly bind to a loopback
// address on it. Since Istio 1.10 the sidecar forwards inbound traffic to the
// pod IP instead of 127.0.0.1, so an application bound to loopback is
// unreachable (https://istio.io/latest/blog/2021/upcoming-networking-changes/;
// pilot/pkg/networking/core/cluster_builder.go buildInboundCluster uses
// ORIGINAL_DST), unless a Sidecar ingress listener sets
// defaultEndpoint 127.0.0.1:<port> (https://istio.io/latest/docs/reference/config/analysis/ist0143/).
func (e *Engine) Listening(w *mesh.Workload, port int32) ListenDecision {
	k := listenKey{w, port}
	if c, ok := e.rt.listen[k]; ok {
		d := *c
		d.Decision = clipDecision(d.Decision)
		return d
	}
	d := e.listening(w, port)
	d.Decision = clipDecision(d.Decision)
	if e.rt.listen == nil {
		e.rt.listen = map[listenKey]*ListenDecision{}
	}
	c := d
	e.rt.listen[k] = &c
	return d
}

func (e *Engine) listening(w *mesh.Workload, port int32) ListenDecision {
	var d ListenDecision
	if w.Implicit {
		d.AssumeKey(e.X, mesh.AssumeIngressGateway)
	}
	if e.proxyServes(w, port) {
		// The proxy answers there, not the application (capture.go).
		cd := e.InboundCapture(w, port)
		d.Listening, d.Confidence = ListenYes, ConfidenceHigh
		d.Evidence = fmt.Sprintf("port %d is served by the injected istio-proxy container", port)
		d.Reason = cd.Reason
		d.By = cd.By
		return d
	}
	c, j := epFindPort(w, port, "", "")
	var scan []*mesh.Container
	if c != nil {
		scan = []*mesh.Container{c}
		d.By = append(d.By, w.Ref(objects.Index(c.Path+".ports", j)+".containerPort"))
	} else {
		for i := range w.Containers {
			ci := &w.Containers[i]
			if epListening(ci) && ci.Name != mesh.ProxyContainerName {
				scan = append(scan, ci)
			}
		}
	}
	var hits []listenHit
	var other []listenHit
	for _, ci := range scan {
		for _, h := range listenFindLoopback(ci) {
			switch {
			case h.port == port:
				hits = append(hits, h)
			case h.port == 0 && (c != nil || len(scan) == 1):
				hits = append(hits, h)
			default:
				other = append(other, h)
			}
		}
	}
	if len(hits) > 0 {
		h := hits[0]
		d.Loopback = true
		d.By = append([]objects.Ref{w.Ref(h.field)}, d.By...)
		d.Evidence = fmt.Sprintf("container %s: %s (%s)", h.container, h.evidence, h.field)
		d.Confidence = h.confidence
		if ing, ref, ok := e.listenSidecarLoopback(w, port, h.port); ok {
			d.Listening = ListenYes
			d.By = append(d.By, ref)
			d.Reason = fmt.Sprintf("the application of %s binds to loopback (%s), and Sidecar %s forwards port %d to %s, so the sidecar reaches it", w.Key(), h.evidence, ref.Name, port, ing)
			d.Assume(fmt.Sprintf("the pods of %s have an Istio sidecar (a Sidecar ingress defaultEndpoint only applies then)", w.Key()))
			return d
		}
		d.Listening = ListenNo
		d.Reason = fmt.Sprintf("the application of %s binds to %s on port %d (%s), not to the pod IP: since Istio 1.10 the sidecar forwards inbound traffic to the pod IP (%s), and a client without sidecar connects to the pod IP anyway, so the connection is refused", w.Key(), h.addr, port, h.evidence, istio110Blog)
		if h.port == 0 {
			d.Assume(fmt.Sprintf("the loopback bind %s (%s) applies to port %d, the port the application serves", h.evidence, h.field, port))
		}
		if h.note != "" {
			d.Assume(h.note)
		}
		return d
	}
	if c == nil {
		d.Listening = ListenUnknown
		d.Confidence = ConfidenceMedium
		d.Evidence = fmt.Sprintf("no container of %s declares port %d", w.Key(), port)
		d.Reason = fmt.Sprintf("no container of %s declares port %d; Kubernetes does not require declaring container ports, so whether the application listens there is not known from the manifests", w.Key(), port)
		if w.Obj != nil {
			d.By = append(d.By, w.Ref(objects.Join(w.PodSpecPath, "containers")))
		}
		return d
	}
	d.Listening = ListenYes
	d.Confidence = ConfidenceMedium
	d.Evidence = fmt.Sprintf("container %s declares port %d", c.Name, port)
	d.Reason = "container " + c.Name + " of " + w.Key() + " declares port " + itoa(port) + " and nothing in its command, args or env binds it to loopback"
	if len(other) > 0 {
		d.Reason += fmt.Sprintf(" (it binds loopback on another port: %s, which does not affect port %d)", other[0].evidence, port)
	}
	d.Assume("the application of " + w.Key() + " listens on the port its container declares (meshdoctor cannot see it running)")
	return d
}

// MayBindLoopback reports whether some container of w binds to a loopback
// address (the patterns of listenFindLoopback): only then can a Listening
// decision for w say Loopback, so a check looking for loopback binds can skip
// the other workloads without deciding their endpoints and ports.
func (e *Engine) MayBindLoopback(w *mesh.Workload) bool {
	for i := range w.Containers {
		if len(listenFindLoopback(&w.Containers[i])) > 0 {
			return true
		}
	}
	return false
}

// listenSidecarLoopback finds a Sidecar resource that applies to w and whose
// ingress listener for port forwards to a loopback defaultEndpoint
// (networking/v1alpha3 Sidecar.ingress.defaultEndpoint; selection as
// push_context.go getSidecarScope: a selector Sidecar of the workload's
// namespace, else the namespace's default, else the root namespace's).
func (e *Engine) listenSidecarLoopback(w *mesh.Workload, port, bindPort int32) (string, objects.Ref, bool) {
	var pick *mesh.Sidecar
	for _, s := range e.sidecarsIn(w.Namespace) {
		if sel := s.Spec.GetWorkloadSelector(); sel != nil && mesh.SubsetOf(sel.GetLabels(), w.Labels) {
			pick = s
			break
		}
	}
	if pick == nil {
		for _, ns := range []string{w.Namespace, e.X.Mesh.RootNamespace} {
			for _, s := range e.sidecarsIn(ns) {
				if s.Spec.GetWorkloadSelector() == nil {
					pick = s
					break
				}
			}
			if pick != nil {
				break
			}
		}
	}
	if pick == nil {
		return "", objects.Ref{}, false
	}
	for i, ing := range pick.Spec.GetIngress() {
		if int32(ing.GetPort().GetNumber()) != port {
			continue
		}
		host, p, ok := listenParseAddr(ing.GetDefaultEndpoint())
		if !ok || !listenIsLoopback(host) {
			return "", objects.Ref{}, false
		}
		if bindPort != 0 && p != bindPort {
			return "", objects.Ref{}, false
		}
		return ing.GetDefaultEndpoint(), pick.Obj.Ref(objects.Index("spec.ingress", i) + ".defaultEndpoint"), true
	}
	return "", objects.Ref{}, false
}

// ---------------------------------------------------------------------------
// Loopback patterns

// listenHit is one loopback bind found in a container.
type listenHit struct {
	container  string
	field      string // field path of the arg or env value
	addr       string // the loopback address
	port       int32  // 0 when the bind names no port
	evidence   string
	confidence string
	note       string // an assumption the hit rests on
}

// listenArg is one token of a command line, with the field it comes from.
type listenArg struct {
	text  string
	field string
}

// listenEnv is one env entry with a literal value.
type listenEnv struct {
	name, value, field string
}

// listenScan is what the patterns look at in one container.
type listenScan struct {
	c *mesh.Container
	// commands are the command lines: the container's command+args, and each
	// command of an `sh -c` script.
	commands [][]listenArg
	// raw are the untokenized args and scripts, for patterns over text.
	raw []listenArg
	env []listenEnv
}

// loopbackPattern is one way an application shows that it binds to loopback.
type loopbackPattern struct {
	name string
	doc  string
	find func(s *listenScan) []listenHit
}

// loopbackPatterns is the one table of loopback patterns; each row has a test
// (listen_test.go TestLoopbackPatterns).
var loopbackPatterns = []loopbackPattern{
	{"host-flag", "--host/-host ADDR, --host=ADDR (uvicorn, flask run, many servers)",
		listenFlagRow([]string{"--host", "-host", "-h"}, ConfidenceHigh)},
	{"bind-flag", "--bind/-b ADDR[:PORT], --bind-address (gunicorn, python -m http.server, ...)",
		listenFlagRow([]string{"--bind", "-b", "--bind-address", "-bind", "--bind-addr"}, ConfidenceHigh)},
	{"listen-flag", "--listen ADDR:PORT, --listen-address, --web.listen-address",
		listenFlagRow([]string{"--listen", "-listen", "--listen-address", "--listen-addr", "--web.listen-address", "--http.listen-address"}, ConfidenceHigh)},
	{"address-flag", "--address/--addr ADDR[:PORT] (Go servers, kube-style flags)",
		listenFlagRow([]string{"--address", "-address", "--addr", "-addr", "--http-address", "--http-addr", "--server-address", "--bind-ip", "--ip"}, ConfidenceHigh)},
	{"flask-run-default", "flask run without --host binds 127.0.0.1 (port --port/-p, FLASK_RUN_PORT, else 5000)",
		listenFlaskDefault},
	{"uvicorn-default", "uvicorn without --host binds 127.0.0.1 (port --port, UVICORN_PORT, else 8000)",
		listenUvicornDefault},
	{"gunicorn-default", "gunicorn without --bind (nor PORT, GUNICORN_CMD_ARGS or a config file) binds 127.0.0.1:8000",
		listenGunicornDefault},
	{"django-runserver-default", "manage.py runserver [PORT] binds 127.0.0.1 unless an address is given",
		listenDjangoDefault},
	{"php-builtin-server", "php -S localhost:PORT", listenFlagRow([]string{"-S"}, ConfidenceHigh)},
	{"listen-directive", "a `listen 127.0.0.1:PORT` directive written in a shell command string (nginx, haproxy configs generated at start)",
		listenDirective},
	{"env-host", "env HOST, SERVER_HOST, APP_HOST, FLASK_RUN_HOST, UVICORN_HOST = loopback",
		listenEnvRow([]string{"HOST", "SERVER_HOST", "APP_HOST", "HTTP_HOST", "FLASK_RUN_HOST", "UVICORN_HOST", "HOSTADDR"})},
	{"env-bind", "env BIND_ADDRESS, BIND_ADDR, BIND, BIND_HOST = loopback",
		listenEnvRow([]string{"BIND_ADDRESS", "BIND_ADDR", "BIND", "BIND_HOST", "BIND_IP"})},
	{"env-listen", "env LISTEN_ADDR, LISTEN_ADDRESS, LISTEN_HOST, ADDR, ADDRESS, SERVER_ADDR(ESS), HTTP_ADDR = loopback",
		listenEnvRow([]string{"LISTEN_ADDR", "LISTEN_ADDRESS", "LISTEN_HOST", "ADDR", "ADDRESS", "SERVER_ADDR", "SERVER_ADDRESS", "HTTP_ADDR", "HTTP_ADDRESS"})},
	{"env-gunicorn-cmd-args", "env GUNICORN_CMD_ARGS with --bind/-b loopback", listenGunicornCmdArgs},
}

// listenFindLoopback runs every pattern on a container.
func listenFindLoopback(c *mesh.Container) []listenHit {
	s := newListenScan(c)
	var out []listenHit
	for _, p := range loopbackPatterns {
		for _, h := range p.find(s) {
			h.container = c.Name
			out = append(out, h)
		}
	}
	return out
}

var listenVarRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// listenExpand expands $(VAR) references in command and args from the
// container's env, as Kubernetes does ($$ escapes a $).
func listenExpand(s string, env map[string]string) string {
	return listenVarRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		name := m[2 : len(m)-1]
		if v, ok := env[name]; ok {
			return v
		}
		return m
	})
}

var listenShells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true, "ksh": true}

func newListenScan(c *mesh.Container) *listenScan {
	s := &listenScan{c: c}
	envVals := map[string]string{}
	for i, ev := range c.Env {
		if ev.ValueFrom == nil {
			envVals[ev.Name] = ev.Value
			s.env = append(s.env, listenEnv{ev.Name, ev.Value, objects.Index(c.Path+".env", i) + ".value"})
		}
	}
	var argv []listenArg
	for i, a := range c.Command {
		argv = append(argv, listenArg{listenExpand(a, envVals), objects.Index(c.Path+".command", i)})
	}
	for i, a := range c.Args {
		argv = append(argv, listenArg{listenExpand(a, envVals), objects.Index(c.Path+".args", i)})
	}
	s.raw = append(s.raw, argv...)
	s.commands = append(s.commands, argv)
	// `sh -c SCRIPT`: the script's commands are command lines too.
	for i := 0; i < len(argv); i++ {
		if !listenShells[path.Base(argv[i].text)] {
			continue
		}
		for j := i + 1; j < len(argv); j++ {
			t := argv[j].text
			if !strings.HasPrefix(t, "-") {
				break
			}
			if strings.Contains(t[1:], "c") && !strings.HasPrefix(t, "--") && j+1 < len(argv) {
				script := argv[j+1]
				for _, cmd := range listenShellCommands(script.text) {
					var line []listenArg
					for _, tok := range cmd {
						line = append(line, listenArg{tok, script.field})
					}
					s.commands = append(s.commands, line)
				}
				break
			}
		}
	}
	return s
}

// listenShellCommands splits a shell script into commands (at ; & | and
// newlines) of words (quotes removed). It is not a shell, only good enough to
// read command lines.
func listenShellCommands(script string) [][]string {
	var cmds [][]string
	var cur []string
	var word strings.Builder
	inWord := false
	flushWord := func() {
		if inWord {
			cur = append(cur, word.String())
			word.Reset()
			inWord = false
		}
	}
	flushCmd := func() {
		flushWord()
		if len(cur) > 0 {
			cmds = append(cmds, cur)
			cur = nil
		}
	}
	var quote byte
	for i := 0; i < len(script); i++ {
		ch := script[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				word.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			quote = ch
			inWord = true
		case ch == '\\' && i+1 < len(script):
			i++
			if script[i] != '\n' {
				word.WriteByte(script[i])
				inWord = true
			}
		case ch == ';' || ch == '&' || ch == '|' || ch == '\n' || ch == '(' || ch == ')':
			flushCmd()
		case ch == ' ' || ch == '\t' || ch == '\r':
			flushWord()
		default:
			word.WriteByte(ch)
			inWord = true
		}
	}
	flushCmd()
	// drop leading "exec", env assignments
	for i, c := range cmds {
		for len(c) > 0 && (c[0] == "exec" || (strings.Contains(c[0], "=") && !strings.HasPrefix(c[0], "-"))) {
			c = c[1:]
		}
		cmds[i] = c
	}
	return cmds
}

// listenParseAddr parses a listen address: HOST, HOST:PORT, [V6]:PORT, ::1,
// :PORT, with an optional scheme (http://, tcp://).
func listenParseAddr(v string) (host string, port int32, ok bool) {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "://"); i >= 0 {
		v = v[i+3:]
	}
	v = strings.TrimSuffix(v, "/")
	if v == "" || strings.HasPrefix(v, "unix:") {
		return "", 0, false
	}
	if net.ParseIP(v) != nil {
		return v, 0, true
	}
	if h, p, err := net.SplitHostPort(v); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return h, 0, true
		}
		return h, int32(n), true
	}
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		return v[1 : len(v)-1], 0, true
	}
	return v, 0, true
}

// listenIsLoopback reports whether a host is a loopback address.
func listenIsLoopback(h string) bool {
	h = strings.Trim(strings.ToLower(h), "[]")
	if h == "localhost" || h == "ip6-localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// listenFlagValue returns the value of a flag in a command line: "FLAG VALUE"
// or "FLAG=VALUE", with its field.
func listenFlagValue(cmd []listenArg, flags []string) (string, string, string, bool) {
	for i, a := range cmd {
		for _, f := range flags {
			if a.text == f && i+1 < len(cmd) {
				return cmd[i+1].text, cmd[i+1].field, f, true
			}
			if strings.HasPrefix(a.text, f+"=") {
				return a.text[len(f)+1:], a.field, f, true
			}
		}
	}
	return "", "", "", false
}

var listenPortFlags = []string{"--port", "-p", "-port", "--http-port", "--listen-port"}

// listenPortOf finds the port a command line sets with a port flag.
func listenPortOf(cmd []listenArg) int32 {
	if v, _, _, ok := listenFlagValue(cmd, listenPortFlags); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return int32(n)
		}
	}
	return 0
}

func (s *listenScan) envValue(name string) (string, bool) {
	for _, e := range s.env {
		if e.name == name {
			return e.value, true
		}
	}
	return "", false
}

// listenFlagRow finds FLAG ADDR with a loopback ADDR in any command line.
func listenFlagRow(flags []string, conf string) func(s *listenScan) []listenHit {
	return func(s *listenScan) []listenHit {
		var out []listenHit
		for _, cmd := range s.commands {
			for i, a := range cmd {
				for _, f := range flags {
					var val, field string
					switch {
					case a.text == f && i+1 < len(cmd):
						val, field = cmd[i+1].text, cmd[i+1].field
					case strings.HasPrefix(a.text, f+"=") && len(f) > 2:
						val, field = a.text[len(f)+1:], a.field
					default:
						continue
					}
					host, port, ok := listenParseAddr(val)
					if !ok || !listenIsLoopback(host) {
						continue
					}
					if port == 0 {
						port = listenPortOf(cmd)
					}
					out = append(out, listenHit{field: field, addr: host, port: port, confidence: conf,
						evidence: fmt.Sprintf("%s %s", f, val)})
				}
			}
		}
		return out
	}
}

// listenIndexOf finds the index of the program named prog in a command line
// (its path's base name, or "python -m prog").
func listenIndexOf(cmd []listenArg, prog string) int {
	for i, a := range cmd {
		b := path.Base(a.text)
		if b == prog || b == prog+".py" {
			return i
		}
		if a.text == "-m" && i+1 < len(cmd) && cmd[i+1].text == prog {
			return i + 1
		}
	}
	return -1
}

func listenFlaskDefault(s *listenScan) []listenHit {
	var out []listenHit
	for _, cmd := range s.commands {
		i := listenIndexOf(cmd, "flask")
		if i < 0 {
			continue
		}
		run := -1
		for j := i + 1; j < len(cmd); j++ {
			if cmd[j].text == "run" {
				run = j
				break
			}
		}
		if run < 0 {
			continue
		}
		if _, _, _, ok := listenFlagValue(cmd, []string{"--host", "-h"}); ok {
			continue
		}
		if _, ok := s.envValue("FLASK_RUN_HOST"); ok {
			continue
		}
		port := listenPortOf(cmd)
		if port == 0 {
			if v, ok := s.envValue("FLASK_RUN_PORT"); ok {
				if n, err := strconv.Atoi(v); err == nil {
					port = int32(n)
				}
			}
		}
		if port == 0 {
			port = 5000
		}
		out = append(out, listenHit{field: cmd[run].field, addr: "127.0.0.1", port: port, confidence: ConfidenceMedium,
			evidence: fmt.Sprintf("flask run without --host (Flask's default host is 127.0.0.1, port %d)", port)})
	}
	return out
}

func listenUvicornDefault(s *listenScan) []listenHit {
	var out []listenHit
	for _, cmd := range s.commands {
		i := listenIndexOf(cmd, "uvicorn")
		if i < 0 {
			continue
		}
		if _, _, _, ok := listenFlagValue(cmd, []string{"--host", "--uds", "--fd"}); ok {
			continue
		}
		if _, ok := s.envValue("UVICORN_HOST"); ok {
			continue
		}
		port := listenPortOf(cmd)
		if port == 0 {
			if v, ok := s.envValue("UVICORN_PORT"); ok {
				if n, err := strconv.Atoi(v); err == nil {
					port = int32(n)
				}
			}
		}
		if port == 0 {
			port = 8000
		}
		out = append(out, listenHit{field: cmd[i].field, addr: "127.0.0.1", port: port, confidence: ConfidenceMedium,
			evidence: fmt.Sprintf("uvicorn without --host (uvicorn's default host is 127.0.0.1, port %d)", port)})
	}
	return out
}

func listenGunicornDefault(s *listenScan) []listenHit {
	var out []listenHit
	for _, cmd := range s.commands {
		i := listenIndexOf(cmd, "gunicorn")
		if i < 0 {
			continue
		}
		if _, _, _, ok := listenFlagValue(cmd, []string{"--bind", "-b", "-c", "--config"}); ok {
			continue
		}
		if _, ok := s.envValue("PORT"); ok {
			continue // gunicorn then binds 0.0.0.0:$PORT
		}
		if _, ok := s.envValue("GUNICORN_CMD_ARGS"); ok {
			continue
		}
		out = append(out, listenHit{field: cmd[i].field, addr: "127.0.0.1", port: 8000, confidence: ConfidenceMedium,
			evidence: "gunicorn without --bind (gunicorn's default bind is 127.0.0.1:8000)",
			note:     "no gunicorn.conf.py in the image sets bind (gunicorn reads ./gunicorn.conf.py by default)"})
	}
	return out
}

func listenDjangoDefault(s *listenScan) []listenHit {
	var out []listenHit
	for _, cmd := range s.commands {
		i := listenIndexOf(cmd, "manage")
		if i < 0 {
			i = listenIndexOf(cmd, "django-admin")
		}
		if i < 0 {
			continue
		}
		for j := i + 1; j < len(cmd); j++ {
			if cmd[j].text != "runserver" {
				continue
			}
			addr, field := "", cmd[j].field
			for k := j + 1; k < len(cmd); k++ {
				if !strings.HasPrefix(cmd[k].text, "-") {
					addr, field = cmd[k].text, cmd[k].field
					break
				}
			}
			host, port := "127.0.0.1", int32(8000)
			switch {
			case addr == "":
			case !strings.Contains(addr, ":") && !strings.Contains(addr, "."):
				if n, err := strconv.Atoi(addr); err == nil {
					port = int32(n)
				}
			default:
				h, p, ok := listenParseAddr(addr)
				if !ok {
					continue
				}
				host, port = h, p
			}
			if !listenIsLoopback(host) {
				continue
			}
			out = append(out, listenHit{field: field, addr: host, port: port, confidence: ConfidenceMedium,
				evidence: fmt.Sprintf("manage.py runserver %s (Django binds 127.0.0.1 unless an address is given)", addr)})
			break
		}
	}
	return out
}

var listenDirectiveRE = regexp.MustCompile(`(?i)\blisten\s+(\[::1\]|127(?:\.\d{1,3}){3}|localhost)(?::(\d+))?`)

func listenDirective(s *listenScan) []listenHit {
	var out []listenHit
	for _, a := range s.raw {
		if !strings.ContainsAny(a.text, " \t") {
			continue // a single word, not a command string
		}
		for _, m := range listenDirectiveRE.FindAllStringSubmatch(a.text, -1) {
			port := int32(0)
			if m[2] != "" {
				if n, err := strconv.Atoi(m[2]); err == nil {
					port = int32(n)
				}
			}
			out = append(out, listenHit{field: a.field, addr: strings.Trim(m[1], "[]"), port: port, confidence: ConfidenceHigh,
				evidence: fmt.Sprintf("%q in a command string", m[0])})
		}
	}
	return out
}

func listenEnvRow(names []string) func(s *listenScan) []listenHit {
	return func(s *listenScan) []listenHit {
		var out []listenHit
		for _, e := range s.env {
			for _, n := range names {
				if e.name != n {
					continue
				}
				host, port, ok := listenParseAddr(e.value)
				if !ok || !listenIsLoopback(host) {
					continue
				}
				out = append(out, listenHit{field: e.field, addr: host, port: port, confidence: ConfidenceMedium,
					evidence: fmt.Sprintf("env %s=%s", e.name, e.value),
					note:     fmt.Sprintf("the application reads env %s as its listen address", e.name)})
			}
		}
		return out
	}
}

func listenGunicornCmdArgs(s *listenScan) []listenHit {
	var out []listenHit
	for _, e := range s.env {
		if e.name != "GUNICORN_CMD_ARGS" {
			continue
		}
		for _, cmd := range listenShellCommands(e.value) {
			var line []listenArg
			for _, t := range cmd {
				line = append(line, listenArg{t, e.field})
			}
			v, _, f, ok := listenFlagValue(line, []string{"--bind", "-b"})
			if !ok {
				continue
			}
			host, port, ok := listenParseAddr(v)
			if ok && listenIsLoopback(host) {
				out = append(out, listenHit{field: e.field, addr: host, port: port, confidence: ConfidenceHigh,
					evidence: fmt.Sprintf("env GUNICORN_CMD_ARGS %s %s", f, v)})
			}
		}
	}
	return out
}
