package gen

import "strconv"

const (
	rootNamespace   = "istio-system"
	gatewayRef      = rootNamespace + "/public-gateway"
	gatewayHosts    = "*.example.com"
	gatewayAccount  = "istio-ingressgateway-service-account"
	gatewayIdentity = "cluster.local/ns/" + rootNamespace + "/sa/" + gatewayAccount
)

func (g *generator) render() []File {
	files := make([]File, 0, len(g.services)+len(g.namespaces)+1)
	files = append(files, g.renderMesh())
	for _, ns := range g.namespaces {
		files = append(files, g.renderNamespace(ns))
		for _, s := range ns.services {
			files = append(files, g.renderService(s)...)
		}
	}
	return files
}

func file(name string, w *writer) File { return File{Name: name, Data: w.buf, Docs: w.docs} }

// networkingVersion and securityVersion mix the served API versions, as a real
// repository that grew over several Istio releases does.
func (g *generator) networkingVersion() string {
	switch x := g.r.Float64(); {
	case x < 0.6:
		return "networking.istio.io/v1"
	case x < 0.9:
		return "networking.istio.io/v1beta1"
	}
	return "networking.istio.io/v1alpha3"
}

func (g *generator) securityVersion() string {
	if g.chance(0.7) {
		return "security.istio.io/v1"
	}
	return "security.istio.io/v1beta1"
}

func (g *generator) renderMesh() File {
	w := &writer{}
	w.header("v1", "Namespace", "", rootNamespace)
	w.line(1, "labels:")
	w.line(2, "kubernetes.io/metadata.name: ", rootNamespace)

	w.header(g.securityVersion(), "PeerAuthentication", rootNamespace, "default")
	w.line(0, "spec:")
	w.line(1, "mtls:")
	w.line(2, "mode: ", g.meshMode)

	w.header(g.networkingVersion(), "Gateway", rootNamespace, "public-gateway")
	w.line(0, "spec:")
	w.line(1, "selector:")
	w.line(2, "istio: ingressgateway")
	w.line(1, "servers:")
	w.line(1, "- port:")
	w.line(3, "number: 80")
	w.line(3, "name: http")
	w.line(3, "protocol: HTTP")
	w.line(2, "hosts:")
	w.line(2, "- ", q(gatewayHosts))
	w.line(1, "- port:")
	w.line(3, "number: 443")
	w.line(3, "name: https")
	w.line(3, "protocol: HTTPS")
	w.line(2, "hosts:")
	w.line(2, "- ", q(gatewayHosts))
	w.line(2, "tls:")
	w.line(3, "mode: SIMPLE")
	w.line(3, "credentialName: example-com-cert")

	w.header("v1", "Service", rootNamespace, "istio-ingressgateway")
	w.line(1, "labels:")
	w.line(2, "app: istio-ingressgateway")
	w.line(2, "istio: ingressgateway")
	w.line(0, "spec:")
	w.line(1, "type: LoadBalancer")
	w.line(1, "selector:")
	w.line(2, "app: istio-ingressgateway")
	w.line(2, "istio: ingressgateway")
	w.line(1, "ports:")
	w.line(1, "- name: http2")
	w.line(2, "port: 80")
	w.line(2, "targetPort: 8080")
	w.line(2, "nodePort: 30080")
	w.line(1, "- name: https")
	w.line(2, "port: 443")
	w.line(2, "targetPort: 8443")
	w.line(2, "nodePort: 30443")

	if g.meshDR {
		// The "default" DestinationRule of Istio's mutual TLS migration guide.
		w.header(g.networkingVersion(), "DestinationRule", rootNamespace, "default")
		w.line(0, "spec:")
		w.line(1, "host: ", q("*.local"))
		w.line(1, "trafficPolicy:")
		w.line(2, "tls:")
		w.line(3, "mode: ISTIO_MUTUAL")
	}
	return file(rootNamespace+"/00-mesh.yaml", w)
}

func (g *generator) renderNamespace(ns *namespace) File {
	w := &writer{}
	w.header("v1", "Namespace", "", ns.name)
	w.line(1, "labels:")
	w.line(2, "kubernetes.io/metadata.name: ", ns.name)
	if ns.injection != "" {
		w.line(2, "istio-injection: ", ns.injection)
	}
	if ns.rev != "" {
		w.line(2, "istio.io/rev: ", ns.rev)
	}
	w.line(2, "team: ", ns.team)

	if (ns.injected() && g.chance(shareNamespacePA)) || (!ns.injected() && g.chance(0.1)) {
		mode := "STRICT"
		switch x := g.r.Float64(); {
		case x < 0.45:
		case x < 0.90:
			mode = "PERMISSIVE"
		default:
			mode = "DISABLE"
		}
		w.header(g.securityVersion(), "PeerAuthentication", ns.name, "default")
		w.line(0, "spec:")
		w.line(1, "mtls:")
		w.line(2, "mode: ", mode)
	}

	if g.chance(shareNamespaceDR) {
		// Mostly what fits the namespace, sometimes the opposite.
		mtls := ns.injected()
		if g.chance(0.2) {
			mtls = !mtls
		}
		tls := "DISABLE"
		if mtls {
			tls = "ISTIO_MUTUAL"
		}
		w.header(g.networkingVersion(), "DestinationRule", ns.name, "default")
		w.line(0, "spec:")
		w.line(1, "host: ", q("*."+ns.name+".svc.cluster.local"))
		if g.chance(0.5) {
			w.line(1, "exportTo: ", flow("."))
		}
		w.line(1, "trafficPolicy:")
		w.line(2, "tls:")
		w.line(3, "mode: ", tls)
	}

	if ns.injected() && g.chance(shareNamespaceAP) {
		w.header(g.securityVersion(), "AuthorizationPolicy", ns.name, "allow-same-namespace")
		w.line(0, "spec:")
		w.line(1, "action: ALLOW")
		w.line(1, "rules:")
		w.line(1, "- from:")
		w.line(2, "- source:")
		w.line(4, "namespaces: ", flow(ns.name, rootNamespace))
	}

	var portal []*service
	for _, s := range ns.services {
		if s.expose == exposePortal {
			portal = append(portal, s)
		}
	}
	if len(portal) > 0 {
		w.header(g.networkingVersion(), "VirtualService", ns.name, "portal")
		w.line(0, "spec:")
		w.line(1, "hosts:")
		w.line(1, "- ", ns.name, ".example.com")
		w.line(1, "gateways:")
		w.line(1, "- ", gatewayRef)
		w.line(1, "http:")
		for _, s := range portal {
			w.line(1, "- name: ", s.name)
			w.line(2, "match:")
			w.line(2, "- uri:")
			w.line(4, "prefix: /", s.name, "/")
			w.line(2, "rewrite:")
			w.line(3, "uri: /")
			g.routeTo(w, 2, s, "")
		}
	}
	return file(ns.name+"/00-namespace.yaml", w)
}

// routeTo writes a one-destination route at depth, to port 80 of s (through a
// short or full host name).
func (g *generator) routeTo(w *writer, depth int, s *service, subset string) {
	w.line(depth, "route:")
	w.line(depth, "- destination:")
	w.line(depth+2, "host: ", g.hostOf(s))
	if subset != "" {
		w.line(depth+2, "subset: ", subset)
	}
	w.line(depth+2, "port:")
	w.line(depth+3, "number: 80")
}

// hostOf names s as a config in its own namespace would: short, name.namespace
// or the FQDN.
func (g *generator) hostOf(s *service) string {
	switch x := g.r.Float64(); {
	case x < 0.35:
		return s.name
	case x < 0.45:
		return s.name + "." + s.ns.name
	}
	return s.fqdn()
}

func (g *generator) renderService(s *service) []File {
	ns := s.ns.name
	w := &writer{}
	out := []File{{}}

	// ServiceAccount
	w.header("v1", "ServiceAccount", ns, s.name)
	w.line(1, "labels:")
	w.line(2, "app: ", s.name)

	// Deployments
	g.deployment(w, s, s.version)
	if s.canary {
		g.deployment(w, s, "v2")
	}

	// Service
	w.header("v1", "Service", ns, s.name)
	w.line(1, "labels:")
	w.line(2, "app: ", s.name)
	w.line(0, "spec:")
	w.line(1, "selector:")
	w.line(2, "app: ", s.name)
	if s.badSelector {
		w.line(2, "version: v0")
	}
	w.line(1, "ports:")
	w.line(1, "- name: ", s.servicePortName())
	w.line(2, "port: 80")
	switch {
	case s.badTargetPort:
		w.line(2, "targetPort: ", itoa(s.port+1))
	case s.byName:
		w.line(2, "targetPort: ", s.portName)
	default:
		w.line(2, "targetPort: ", itoa(s.port))
	}
	if s.metrics {
		w.line(1, "- name: http-metrics")
		w.line(2, "port: 9102")
		w.line(2, "targetPort: 9102")
	}

	sidecar := s.sidecar()
	if sidecar && g.chance(shareWorkloadPA) {
		g.workloadPA(w, s)
	}
	if g.chance(shareDR) {
		g.destinationRule(w, s)
	}
	if g.chance(shareCrossNSDR) {
		client := g.otherNamespace(s.ns)
		cw := &writer{}
		tls := "ISTIO_MUTUAL"
		if g.chance(0.4) {
			tls = "DISABLE"
		}
		cw.header(g.networkingVersion(), "DestinationRule", client.name, s.name+"-"+ns)
		cw.line(0, "spec:")
		cw.line(1, "host: ", s.fqdn())
		cw.line(1, "exportTo: ", flow("."))
		cw.line(1, "trafficPolicy:")
		cw.line(2, "tls:")
		cw.line(3, "mode: ", tls)
		out = append(out, file(client.name+"/dr-"+s.name+"-"+ns+".yaml", cw))
	}
	meshBound := false
	if s.expose == exposeOwn {
		meshBound = g.gatewayVS(w, s)
	}
	if !meshBound && g.chance(shareMeshVS) {
		g.meshVS(w, s)
	}
	if sidecar && g.chance(shareAllow) {
		g.allowPolicy(w, s)
	}
	if sidecar && g.chance(shareDeny) {
		g.denyPolicy(w, s)
	}
	out[0] = file(ns+"/"+s.name+".yaml", w)
	return out
}

func (g *generator) deployment(w *writer, s *service, version string) {
	ns := s.ns.name
	port := itoa(s.port)
	w.header("apps/v1", "Deployment", ns, s.deploymentName(version))
	w.line(1, "labels:")
	w.line(2, "app: ", s.name)
	w.line(2, "version: ", version)
	w.line(0, "spec:")
	w.line(1, "replicas: ", strconv.Itoa(s.replicas))
	w.line(1, "selector:")
	w.line(2, "matchLabels:")
	w.line(3, "app: ", s.name)
	w.line(3, "version: ", version)
	w.line(1, "template:")
	w.line(2, "metadata:")
	w.line(3, "labels:")
	w.line(4, "app: ", s.name)
	w.line(4, "version: ", version)
	switch s.podInject {
	case "label-false":
		w.line(4, "sidecar.istio.io/inject: ", q("false"))
	case "label-true":
		w.line(4, "sidecar.istio.io/inject: ", q("true"))
	}
	w.line(3, "annotations:")
	if s.podInject == "annotation-false" {
		w.line(4, "sidecar.istio.io/inject: ", q("false"))
	}
	w.line(4, "prometheus.io/scrape: ", q(strconv.FormatBool(s.metrics)))
	w.line(2, "spec:")
	if s.sa != "default" {
		w.line(3, "serviceAccountName: ", s.sa)
	}
	w.line(3, "containers:")
	w.line(3, "- name: ", s.word)
	w.line(4, "image: registry.example.com/", s.word, ":1.", strconv.Itoa(g.intn(30)), ".", strconv.Itoa(g.intn(10)))
	switch {
	case s.loopback:
		w.line(4, "args:")
		switch g.intn(3) {
		case 0:
			w.line(4, "- --listen-address=127.0.0.1:", port)
		case 1:
			w.line(4, "- --host=127.0.0.1")
			w.line(4, "- --port=", port)
		default:
			w.line(4, "- --bind")
			w.line(4, "- 127.0.0.1:", port)
		}
	case g.chance(0.2):
		w.line(4, "args:")
		w.line(4, "- --listen-address=0.0.0.0:", port)
	case g.chance(0.2):
		w.line(4, "env:")
		w.line(4, "- name: PORT")
		w.line(5, "value: ", q(port))
	}
	w.line(4, "ports:")
	w.line(4, "- containerPort: ", port)
	if s.portName != "" {
		w.line(5, "name: ", s.portName)
	}
	w.line(5, "protocol: TCP")
	if s.metrics {
		w.line(4, "- containerPort: 9102")
		w.line(5, "name: metrics")
	}
	if s.proto != protoTCP {
		w.line(4, "readinessProbe:")
		w.line(5, "httpGet:")
		w.line(6, "path: /healthz")
		w.line(6, "port: ", port)
		w.line(5, "periodSeconds: 10")
	}
	w.line(4, "resources:")
	w.line(5, "requests:")
	w.line(6, "cpu: ", strconv.Itoa(50*(1+g.intn(6))), "m")
	w.line(6, "memory: ", strconv.Itoa(64*(1+g.intn(8))), "Mi")
}

func (g *generator) workloadPA(w *writer, s *service) {
	w.header(g.securityVersion(), "PeerAuthentication", s.ns.name, s.name)
	w.line(0, "spec:")
	w.line(1, "selector:")
	w.line(2, "matchLabels:")
	w.line(3, "app: ", s.name)
	if g.chance(0.5) {
		w.line(1, "mtls:")
		w.line(2, "mode: ", pick(g, []string{"STRICT", "PERMISSIVE"}))
	}
	mode := "PERMISSIVE"
	switch x := g.r.Float64(); {
	case x < 0.5:
	case x < 0.8:
		mode = "DISABLE"
	default:
		mode = "STRICT"
	}
	w.line(1, "portLevelMtls:")
	w.line(2, itoa(s.port), ":")
	w.line(3, "mode: ", mode)
	if s.metrics && g.chance(0.5) {
		w.line(2, "9102:")
		w.line(3, "mode: PERMISSIVE")
	}
}

func (g *generator) destinationRule(w *writer, s *service) {
	w.header(g.networkingVersion(), "DestinationRule", s.ns.name, s.name)
	w.line(0, "spec:")
	w.line(1, "host: ", g.hostOf(s))
	switch x := g.r.Float64(); {
	case x < 0.60:
	case x < 0.85:
		w.line(1, "exportTo: ", flow("."))
	case x < 0.95:
		w.line(1, "exportTo: ", flow("*"))
	default:
		w.line(1, "exportTo: ", flow(".", rootNamespace))
	}
	tls := ""
	x := g.r.Float64()
	if s.sidecar() {
		switch {
		case x < 0.35:
			tls = "ISTIO_MUTUAL"
		case x < 0.45:
			tls = "DISABLE"
		}
	} else {
		switch {
		case x < 0.40:
			tls = "DISABLE"
		case x < 0.45:
			tls = "ISTIO_MUTUAL"
		}
	}
	w.line(1, "trafficPolicy:")
	if tls != "" {
		w.line(2, "tls:")
		w.line(3, "mode: ", tls)
	}
	if tls == "" || g.chance(0.5) {
		w.line(2, "connectionPool:")
		w.line(3, "tcp:")
		w.line(4, "maxConnections: ", strconv.Itoa(100*(1+g.intn(10))))
		if s.proto != protoTCP {
			w.line(3, "http:")
			w.line(4, "http1MaxPendingRequests: ", strconv.Itoa(64*(1+g.intn(4))))
			w.line(4, "maxRequestsPerConnection: 10")
		}
		w.line(2, "outlierDetection:")
		w.line(3, "consecutive5xxErrors: ", strconv.Itoa(3+g.intn(5)))
		w.line(3, "interval: 30s")
		w.line(3, "baseEjectionTime: 30s")
	}
	// Canaries nearly always have subsets; others sometimes, out of habit.
	s.subsets = g.chance(0.3) || (s.canary && g.chance(0.9))
	if !s.subsets {
		return
	}
	w.line(1, "subsets:")
	for _, v := range []string{"v1", "v2"} {
		w.line(1, "- name: ", v)
		w.line(2, "labels:")
		w.line(3, "version: ", v)
	}
	if g.chance(0.02) {
		// The incident's proposal: a subset meant for the gateway, with TLS off.
		w.line(1, "- name: from-ingress")
		w.line(2, "labels:")
		w.line(3, "app: ", s.name)
		w.line(2, "trafficPolicy:")
		w.line(3, "tls:")
		w.line(4, "mode: DISABLE")
	}
}

// gatewayVS binds s to the public gateway under its own host; it reports whether
// the VirtualService is also bound to the mesh.
func (g *generator) gatewayVS(w *writer, s *service) bool {
	mesh := g.chance(0.1)
	w.header(g.networkingVersion(), "VirtualService", s.ns.name, s.name+"-ingress")
	w.line(0, "spec:")
	w.line(1, "hosts:")
	w.line(1, "- ", s.name, "-", s.ns.name, ".example.com")
	if mesh {
		w.line(1, "- ", s.name)
	}
	w.line(1, "gateways:")
	w.line(1, "- ", gatewayRef)
	if mesh {
		w.line(1, "- mesh")
	}
	w.line(1, "http:")
	w.line(1, "- match:")
	w.line(2, "- uri:")
	w.line(4, "prefix: /api/")
	g.routeTo(w, 2, s, "")
	w.line(2, "timeout: ", strconv.Itoa(5*(1+g.intn(6))), "s")
	w.line(1, "- match:")
	w.line(2, "- uri:")
	w.line(4, "prefix: /")
	g.routeTo(w, 2, s, "")
	return mesh
}

func (g *generator) meshVS(w *writer, s *service) {
	w.header(g.networkingVersion(), "VirtualService", s.ns.name, s.name)
	w.line(0, "spec:")
	w.line(1, "hosts:")
	w.line(1, "- ", g.hostOf(s))
	if s.proto == protoTCP {
		w.line(1, "tcp:")
		w.line(1, "- match:")
		w.line(2, "- port: 80")
		g.routeTo(w, 2, s, "")
		return
	}
	w.line(1, "http:")
	if !s.subsets {
		w.line(1, "- timeout: ", strconv.Itoa(5*(1+g.intn(6))), "s")
		w.line(2, "retries:")
		w.line(3, "attempts: ", strconv.Itoa(1+g.intn(3)))
		w.line(3, "perTryTimeout: 2s")
		w.line(3, "retryOn: 5xx,connect-failure")
		g.routeTo(w, 2, s, "")
		return
	}
	canary := "v2"
	if g.chance(shareUnknownSubset) {
		canary = "v3"
	}
	if g.chance(0.3) {
		w.line(1, "- match:")
		w.line(2, "- headers:")
		w.line(4, "end-user:")
		w.line(5, "exact: tester")
		g.routeTo(w, 2, s, canary)
	}
	weight := 5 * (1 + g.intn(6))
	host := g.hostOf(s)
	w.line(1, "- route:")
	w.line(2, "- destination:")
	w.line(4, "host: ", host)
	w.line(4, "subset: v1")
	w.line(3, "weight: ", strconv.Itoa(100-weight))
	w.line(2, "- destination:")
	w.line(4, "host: ", host)
	w.line(4, "subset: ", canary)
	w.line(3, "weight: ", strconv.Itoa(weight))
}

func (g *generator) allowPolicy(w *writer, s *service) {
	w.header(g.securityVersion(), "AuthorizationPolicy", s.ns.name, "allow-"+s.name)
	w.line(0, "spec:")
	w.line(1, "selector:")
	w.line(2, "matchLabels:")
	w.line(3, "app: ", s.name)
	w.line(1, "action: ALLOW")
	w.line(1, "rules:")
	w.line(1, "- from:")
	w.line(2, "- source:")
	w.line(4, "principals:")
	for range 1 + g.intn(3) {
		w.line(4, "- ", g.otherService(s).principal())
	}
	if s.expose != exposeNone && !g.chance(shareForgetGatewaySA) {
		w.line(4, "- ", gatewayIdentity)
	}
	w.line(2, "to:")
	w.line(2, "- operation:")
	switch {
	case s.proto == protoHTTP && g.chance(0.5):
		w.line(4, "methods: ", flow("GET", "POST"))
		w.line(4, "paths: ", flow("/api/*", "/healthz"))
	default:
		w.line(4, "ports: ", flow(itoa(s.port)))
	}
	if g.chance(0.4) {
		w.line(1, "- from:")
		w.line(2, "- source:")
		w.line(4, "namespaces: ", flow(s.ns.name, g.otherNamespace(s.ns).name))
	}
}

func (g *generator) denyPolicy(w *writer, s *service) {
	w.header(g.securityVersion(), "AuthorizationPolicy", s.ns.name, "deny-"+s.name)
	w.line(0, "spec:")
	w.line(1, "selector:")
	w.line(2, "matchLabels:")
	w.line(3, "app: ", s.name)
	w.line(1, "action: DENY")
	w.line(1, "rules:")
	if s.proto == protoHTTP {
		w.line(1, "- from:")
		w.line(2, "- source:")
		w.line(4, "notNamespaces: ", flow(s.ns.name, rootNamespace))
		w.line(2, "to:")
		w.line(2, "- operation:")
		w.line(4, "paths: ", flow("/admin/*", "/internal/*"))
		return
	}
	w.line(1, "- from:")
	w.line(2, "- source:")
	w.line(4, "namespaces: ", flow(g.otherNamespace(s.ns).name))
}
