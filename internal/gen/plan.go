package gen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Shares of the generated mesh. They are constants, not Config fields: a
// benchmark compares runs, and runs compare only when the mesh has one shape.
const (
	servicesPerNamespace = 25

	shareNotInjected = 0.10 // namespaces without a sidecar by default
	shareRevision    = 0.05 // namespaces injected through istio.io/rev

	shareNamespacePA = 0.80 // injected namespaces with a namespace-wide PeerAuthentication
	shareNamespaceDR = 0.15 // namespaces with a "*.NS.svc.cluster.local" DestinationRule
	shareNamespaceAP = 0.20 // namespaces with a namespace-wide ALLOW policy
	shareMeshDR      = 0.30 // seeds with a mesh-wide "*.local" ISTIO_MUTUAL DestinationRule

	shareCanary     = 0.08 // services with a v1 and a v2 Deployment
	shareWorkloadPA = 0.07 // services with a workload PeerAuthentication
	shareDR         = 0.30
	shareCrossNSDR  = 0.04 // services for which another namespace keeps a DestinationRule
	shareExposed    = 0.14 // HTTP services reachable through the public gateway
	shareMeshVS     = 0.15
	shareAllow      = 0.27
	shareDeny       = 0.03

	// Mistakes.
	shareLoopback        = 0.02 // application bound to 127.0.0.1
	shareBadTargetPort   = 0.01 // Service targetPort that no container declares
	shareBadSelector     = 0.005
	shareUnknownSubset   = 0.02 // of mesh VirtualServices with subsets
	shareForgetGatewaySA = 0.05 // of exposed services with an ALLOW policy
)

// words name services: "blog-3" is the third blog of its namespace.
var words = []string{
	"account", "ads", "analytics", "audit", "auth", "billing", "blog", "booking",
	"cache", "calendar", "cart", "catalog", "chat", "checkout", "comment", "config",
	"coupon", "crawler", "currency", "email", "export", "feed", "flags", "forum",
	"geo", "importer", "inventory", "invoice", "ledger", "login", "media", "notify",
	"order", "payment", "pricing", "profile", "promo", "quote", "ranking", "rating",
	"recommend", "report", "review", "scheduler", "search", "session", "shipping",
	"status", "stream", "survey", "tenant", "thumbnail", "ticket", "translate",
	"upload", "user", "video", "wiki", "wishlist", "worker",
}

var containerPorts = []int32{8080, 8080, 8080, 8080, 9090, 3000, 8000, 5000, 8081}

type protocol int

const (
	protoHTTP protocol = iota
	protoGRPC
	protoTCP
)

// expose says how a service is reached from the public gateway.
type expose int

const (
	exposeNone   expose = iota
	exposePortal        // a /SERVICE/ prefix of the namespace's portal host
	exposeOwn           // its own host SERVICE-NS.example.com
)

type namespace struct {
	name      string
	index     int
	injection string // istio-injection label: "enabled", "disabled" or ""
	rev       string // istio.io/rev label
	team      string
	services  []*service
	wordCount map[string]int
}

// injected reports whether pods of the namespace get a sidecar by default.
func (n *namespace) injected() bool { return n.injection == "enabled" || n.rev != "" }

type service struct {
	ns        *namespace
	name      string
	word      string
	sa        string // service account of its pods
	version   string // of its pods (the v1 pods when canary)
	canary    bool   // a second Deployment NAME-v2 with version v2
	replicas  int
	proto     protocol
	port      int32  // main container port
	portName  string // container port name, "" when unnamed
	byName    bool   // Service targetPort names the container port
	metrics   bool   // a second port 9102 for metrics
	podInject string // "annotation-false", "label-false", "label-true" or ""
	loopback  bool
	expose    expose
	subsets   bool // its DestinationRule defines subsets v1 and v2
	// mistakes
	badTargetPort bool
	badSelector   bool
}

func (s *service) fqdn() string { return s.name + "." + s.ns.name + ".svc.cluster.local" }

func (s *service) principal() string {
	return "cluster.local/ns/" + s.ns.name + "/sa/" + s.sa
}

// sidecar reports whether the service's pods get a sidecar, under Istio's
// injection rules for the default webhook (namespace label first, then the pod's).
func (s *service) sidecar() bool {
	switch {
	case s.ns.injection == "disabled":
		return false
	case s.ns.injected():
		return s.podInject != "annotation-false" && s.podInject != "label-false"
	}
	return s.podInject == "label-true"
}

func (s *service) deploymentName(version string) string {
	if version == "v1" {
		return s.name
	}
	return s.name + "-" + version
}

func (s *service) servicePortName() string {
	switch s.proto {
	case protoGRPC:
		return "grpc-api"
	case protoTCP:
		return "tcp-app"
	}
	return "http-web"
}

type generator struct {
	cfg        Config
	r          *rand.Rand
	namespaces []*namespace
	services   []*service
	meshMode   string
	meshDR     bool
}

func newGenerator(cfg Config) *generator {
	if cfg.Services < 0 {
		cfg.Services = 0
	}
	// The second PCG word is a constant ("meshgen"): the seed alone selects the mesh.
	return &generator{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x6d65736867656e))}
}

func (g *generator) chance(p float64) bool { return g.r.Float64() < p }
func (g *generator) intn(n int) int        { return g.r.IntN(n) }

func pick[T any](g *generator, xs []T) T { return xs[g.r.IntN(len(xs))] }

// plan decides the namespaces and services: everything that other objects
// refer to. Istio config is decided while rendering.
func (g *generator) plan() {
	g.meshMode = "PERMISSIVE"
	if g.chance(0.4) {
		g.meshMode = "STRICT"
	}
	g.meshDR = g.chance(shareMeshDR)
	n := g.cfg.Services
	if n == 0 {
		return
	}
	nns := g.cfg.Namespaces
	if nns <= 0 {
		nns = (n + servicesPerNamespace/2) / servicesPerNamespace
	}
	nns = max(1, min(nns, n))
	width := max(3, len(strconv.Itoa(nns-1)))
	weights := make([]float64, nns)
	total := 0.0
	for i := range nns {
		ns := &namespace{
			name:      fmt.Sprintf("ns-%0*d", width, i),
			index:     i,
			team:      fmt.Sprintf("team-%02d", g.intn(40)),
			wordCount: map[string]int{},
		}
		switch x := g.r.Float64(); {
		case x < shareNotInjected/2:
			ns.injection = "disabled"
		case x < shareNotInjected:
			// no label at all
		case x < shareNotInjected+shareRevision:
			ns.rev = pick(g, []string{"canary", "1-31-2"})
		default:
			ns.injection = "enabled"
		}
		g.namespaces = append(g.namespaces, ns)
		// Namespace sizes vary: a few big ones, many small ones.
		w := 0.3 + g.r.ExpFloat64()
		weights[i] = w
		total += w
	}
	cum := make([]float64, nns)
	acc := 0.0
	for i, w := range weights {
		acc += w / total
		cum[i] = acc
	}
	for i := range n {
		var ns *namespace
		if i < nns {
			ns = g.namespaces[i] // every namespace has at least one service
		} else {
			x := g.r.Float64()
			lo, hi := 0, nns-1
			for lo < hi {
				mid := (lo + hi) / 2
				if cum[mid] < x {
					lo = mid + 1
				} else {
					hi = mid
				}
			}
			ns = g.namespaces[lo]
		}
		g.addService(ns)
	}
}

func (g *generator) addService(ns *namespace) {
	w := pick(g, words)
	ns.wordCount[w]++
	s := &service{ns: ns, word: w, name: w + "-" + strconv.Itoa(ns.wordCount[w])}
	s.sa = s.name
	if g.chance(0.08) {
		s.sa = "default"
	}
	s.version = "v1"
	switch x := g.r.Float64(); {
	case x < shareCanary:
		s.canary = true
	case x < shareCanary+0.05:
		s.version = "v2" // only a v2 left: subset v1 of a DestinationRule selects nothing
	}
	s.replicas = 1 + g.intn(3)
	switch x := g.r.Float64(); {
	case x < 0.70:
		s.proto = protoHTTP
	case x < 0.90:
		s.proto = protoGRPC
	default:
		s.proto = protoTCP
	}
	s.port = pick(g, containerPorts)
	if g.chance(0.5) {
		s.portName = [...]string{"http", "grpc", "tcp"}[s.proto]
		s.byName = g.chance(0.6)
	}
	s.metrics = g.chance(0.3)
	switch x := g.r.Float64(); {
	case x < 0.02:
		s.podInject = "annotation-false"
	case x < 0.03:
		s.podInject = "label-false"
	case x < 0.04:
		s.podInject = "label-true"
	}
	s.loopback = g.chance(shareLoopback)
	if s.proto == protoHTTP && g.chance(shareExposed) {
		s.expose = exposePortal
		if g.chance(0.5) {
			s.expose = exposeOwn
		}
	}
	s.badTargetPort = g.chance(shareBadTargetPort)
	s.badSelector = g.chance(shareBadSelector)
	ns.services = append(ns.services, s)
	g.services = append(g.services, s)
}

// otherService picks a service other than s (s itself when it is the only one).
func (g *generator) otherService(s *service) *service {
	if len(g.services) == 1 {
		return s
	}
	for {
		o := g.services[g.intn(len(g.services))]
		if o != s {
			return o
		}
	}
}

// otherNamespace picks a namespace other than ns (ns itself when it is the only one).
func (g *generator) otherNamespace(ns *namespace) *namespace {
	if len(g.namespaces) == 1 {
		return ns
	}
	for {
		o := g.namespaces[g.intn(len(g.namespaces))]
		if o != ns {
			return o
		}
	}
}
