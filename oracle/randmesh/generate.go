package randmesh

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Generate returns a random, valid mesh for the seed. The same seed always gives the same mesh.
//
// It has 2-4 namespaces besides the root namespace (istio-injection enabled, disabled or
// absent), 3-8 workloads (1-2 ports each, HTTP or TCP, Service port sometimes different from
// the container port, sidecar by namespace label or pod label), PeerAuthentications at mesh,
// namespace and workload level (portLevelMtls keyed by the container port or, wrongly, by the
// Service port; equal creation times to exercise the name tie-break; sometimes two
// namespace-wide PAs in one namespace; sometimes an ignored selector PA in the root namespace)
// and DestinationRules in client, server and root namespaces (exact, short and wildcard hosts,
// exportTo variants, tls absent/DISABLE/ISTIO_MUTUAL/SIMPLE, port-level settings, subsets).
// A few Services carry the networking.istio.io/exportTo annotation (invisible elsewhere).
// Half the meshes have an ingress gateway client. Rarer features come last (see extras):
// headless Services, a mesh config (auto mTLS off, trust domain, DestinationRule exportTo
// default), loadBalancer PASSTHROUGH, DestinationRule workloadSelectors, and tls sni,
// subjectAltNames and credentialName.
func Generate(seed uint64) *Mesh {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x6d657368646f6374))}
	m := &Mesh{Seed: seed}
	g.namespaces(m)
	g.workloads(m)
	m.Complete()
	g.peerAuthentications(m)
	g.destinationRules(m)
	if g.chance(0.5) {
		m.Gateway = &Gateway{}
	}
	m.Complete()
	g.extras(m)
	return m
}

type gen struct {
	r *rand.Rand
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// weighted returns an index into weights, chosen with probability proportional to its weight.
func (g *gen) weighted(weights ...float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := g.r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// created returns BaseTime plus 0-5 hours: collisions are frequent on purpose.
func (g *gen) created() time.Time {
	return BaseTime.Add(time.Duration(g.r.IntN(6)) * time.Hour)
}

var namespacePool = []string{"default", "shop", "payments", "backend", "frontend", "data"}

func (g *gen) namespaces(m *Mesh) {
	m.Namespaces = append(m.Namespaces, Namespace{Name: RootNamespace})
	n := 2 + g.r.IntN(3)
	pool := slices.Clone(namespacePool)
	g.r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	for _, name := range pool[:n] {
		inj := []string{"enabled", "disabled", ""}[g.weighted(0.7, 0.05, 0.25)]
		m.Namespaces = append(m.Namespaces, Namespace{Name: name, Injection: inj})
	}
}

// userNamespaces are the non-root namespaces.
func (m *Mesh) userNamespaces() []string {
	var out []string
	for _, ns := range m.Namespaces {
		if ns.Name != RootNamespace {
			out = append(out, ns.Name)
		}
	}
	return out
}

var (
	workloadPool      = []string{"reviews", "ratings", "details", "productpage", "httpbin", "sleep", "echo", "db", "cache", "api"}
	containerPortPool = []int{8080, 9080, 5000, 3306, 8443, 80, 9000, 6379}
	servicePortPool   = []int{80, 8000, 9090, 443, 7070, 5432}
	httpNames         = []string{"web", "api", "admin", "metrics"}
	tcpNames          = []string{"db", "cache", "raw", "stream"}
)

func (g *gen) workloads(m *Mesh) {
	nss := m.userNamespaces()
	n := 3 + g.r.IntN(6)
	used := map[string]bool{}
	for len(m.Workloads) < n {
		ns := pick(g, nss)
		name := pick(g, workloadPool)
		if used[ns+"/"+name] {
			continue
		}
		used[ns+"/"+name] = true
		w := Workload{Name: name, Namespace: ns, Labels: map[string]string{"app": name}}
		if g.chance(0.7) {
			w.Labels["version"] = pick(g, []string{"v1", "v2"})
		}
		if g.chance(0.5) {
			w.Labels["tier"] = pick(g, []string{"frontend", "backend"})
		}
		w.InjectLabel = []string{"", "true", "false"}[g.weighted(0.75, 0.125, 0.125)]
		w.ServiceAccount = []string{name, "default", "sa-" + name}[g.weighted(0.5, 0.3, 0.2)]
		switch g.weighted(0.9, 0.06, 0.04) {
		case 1:
			w.ServiceExportTo = []string{"."}
		case 2:
			w.ServiceExportTo = []string{ns, pick(g, nss)}
			if w.ServiceExportTo[1] == ns {
				w.ServiceExportTo = w.ServiceExportTo[:1]
			}
		}
		w.Replicas = 1 + g.weighted(0.75, 0.25)
		nPorts := 1 + g.weighted(0.6, 0.4)
		cps := slices.Clone(containerPortPool)
		g.r.Shuffle(len(cps), func(i, j int) { cps[i], cps[j] = cps[j], cps[i] })
		sps := slices.Clone(servicePortPool)
		g.r.Shuffle(len(sps), func(i, j int) { sps[i], sps[j] = sps[j], sps[i] })
		usedSvc := map[int]bool{}
		usedName := map[string]bool{}
		for j := 0; j < nPorts; j++ {
			p := Port{ContainerPort: cps[j], ServicePort: cps[j]}
			if g.chance(0.5) && !usedSvc[sps[j]] {
				p.ServicePort = sps[j]
			}
			if usedSvc[p.ServicePort] {
				p.ServicePort = cps[j]
			}
			// An earlier port may already use this container port as its Service port:
			// Kubernetes rejects a Service with two equal ports, so take an unused one.
			for k := 0; usedSvc[p.ServicePort] && k < len(sps); k++ {
				p.ServicePort = sps[k]
			}
			usedSvc[p.ServicePort] = true
			p.Protocol = []string{ProtocolHTTP, ProtocolTCP}[g.weighted(0.65, 0.35)]
			suffixes := httpNames
			if p.Protocol == ProtocolTCP {
				suffixes = tcpNames
			}
			p.Name = p.Protocol + "-" + pick(g, suffixes)
			if usedName[p.Name] {
				p.Name = fmt.Sprintf("%s-%d", p.Name, j)
			}
			usedName[p.Name] = true
			w.Ports = append(w.Ports, p)
		}
		m.Workloads = append(m.Workloads, w)
	}
}

var modes = []Mode{ModeAbsent, ModeUnset, ModeDisable, ModePermissive, ModeStrict}

func (g *gen) mode() Mode { return modes[g.weighted(0.1, 0.1, 0.25, 0.25, 0.3)] }

var paNamePool = []string{"default", "mtls", "policy", "strict-mode", "permissive-mode", "a-first", "z-last", "legacy"}

func uniqueName(taken map[string]bool, ns, base string) string {
	name := base
	for i := 2; taken[ns+"/"+name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	taken[ns+"/"+name] = true
	return name
}

func (g *gen) peerAuthentications(m *Mesh) {
	taken := map[string]bool{}
	add := func(pa PeerAuthentication) {
		pa.Name = uniqueName(taken, pa.Namespace, pa.Name)
		pa.Created = g.created()
		m.PeerAuthentications = append(m.PeerAuthentications, pa)
	}
	// Mesh level, sometimes twice (only the oldest counts).
	if g.chance(0.5) {
		add(PeerAuthentication{Name: "default", Namespace: RootNamespace, Mode: g.mode()})
		if g.chance(0.1) {
			add(PeerAuthentication{Name: pick(g, paNamePool), Namespace: RootNamespace, Mode: g.mode()})
		}
	}
	// Namespace level: 0, 1 or 2 per namespace.
	for _, ns := range m.userNamespaces() {
		for range g.weighted(0.45, 0.4, 0.15) {
			add(PeerAuthentication{Name: pick(g, paNamePool), Namespace: ns, Mode: g.mode()})
		}
	}
	// Workload level.
	for range g.weighted(0.3, 0.3, 0.25, 0.15) {
		w := &m.Workloads[g.r.IntN(len(m.Workloads))]
		pa := PeerAuthentication{Name: pick(g, paNamePool), Namespace: w.Namespace, Mode: g.mode()}
		switch g.weighted(0.6, 0.15, 0.15, 0.1) {
		case 0:
			pa.Selector = map[string]string{"app": w.Name}
		case 1:
			if v, ok := w.Labels["version"]; ok {
				pa.Selector = map[string]string{"version": v}
			} else {
				pa.Selector = map[string]string{"app": w.Name}
			}
		case 2:
			if v, ok := w.Labels["tier"]; ok {
				pa.Selector = map[string]string{"tier": v}
			} else {
				pa.Selector = map[string]string{"app": w.Name}
			}
		default:
			pa.Selector = map[string]string{"app": "ghost"}
		}
		if g.chance(0.5) {
			seen := map[int]bool{}
			for range 1 + g.weighted(0.7, 0.3) {
				p := pick(g, w.Ports)
				port := p.ContainerPort
				if p.ServicePort != p.ContainerPort && g.chance(0.25) {
					port = p.ServicePort // the classic mistake: keyed by the Service port
				}
				if seen[port] {
					continue
				}
				seen[port] = true
				pa.PortLevel = append(pa.PortLevel, PortMode{Port: port, Mode: modes[g.weighted(0.05, 0.1, 0.4, 0.2, 0.25)]})
			}
		}
		add(pa)
	}
	// Selector PA in the root namespace: ignored for sidecars.
	if g.chance(0.1) {
		w := pick(g, m.Workloads)
		add(PeerAuthentication{Name: "root-selector", Namespace: RootNamespace,
			Selector: map[string]string{"app": w.Name}, Mode: pick(g, []Mode{ModeStrict, ModeDisable})})
	}
}

var tlsModes = []TLSMode{TLSAbsent, TLSDisable, TLSIstioMutual, TLSSimple}

func (g *gen) tlsMode() TLSMode { return tlsModes[g.weighted(0.3, 0.25, 0.33, 0.12)] }

// policy returns a non-empty traffic policy for target w (port-level entries keyed by its
// Service ports, sometimes wrongly by a container port).
func (g *gen) policy(w *Workload, portLevel float64) *TrafficPolicy {
	p := &TrafficPolicy{TLS: g.tlsMode()}
	if p.TLS == TLSAbsent || g.chance(0.2) {
		p.LoadBalancer = pick(g, []string{"ROUND_ROBIN", "LEAST_REQUEST"})
	}
	if g.chance(portLevel) {
		seen := map[int]bool{}
		for range 1 + g.weighted(0.75, 0.25) {
			port := pick(g, w.Ports)
			num := port.ServicePort
			if port.ServicePort != port.ContainerPort && g.chance(0.2) {
				num = port.ContainerPort
			}
			if seen[num] {
				continue
			}
			seen[num] = true
			pp := PortPolicy{Port: num, TLS: g.tlsMode()}
			if pp.TLS == TLSAbsent {
				pp.LoadBalancer = "LEAST_REQUEST"
			}
			p.PortLevel = append(p.PortLevel, pp)
		}
	}
	return p
}

func (g *gen) destinationRules(m *Mesh) {
	taken := map[string]bool{}
	nss := m.userNamespaces()
	for range g.weighted(0.15, 0.2, 0.25, 0.2, 0.12, 0.08) {
		w := &m.Workloads[g.r.IntN(len(m.Workloads))]
		dr := DestinationRule{}
		switch g.weighted(0.35, 0.35, 0.3) {
		case 0:
			dr.Namespace = w.Namespace // server namespace
		case 1:
			dr.Namespace = pick(g, nss) // some (client) namespace
		default:
			dr.Namespace = RootNamespace
		}
		switch g.weighted(0.4, 0.1, 0.05, 0.15, 0.1, 0.1, 0.1) {
		case 0:
			dr.Host = w.Host()
		case 1:
			dr.Host = w.Name // short name: resolved in the DR's namespace
		case 2:
			dr.Host = w.Name + "." + w.Namespace // has a dot: taken as-is, matches nothing
		case 3:
			dr.Host = "*." + w.Namespace + ".svc." + Domain
		case 4:
			dr.Host = "*.svc." + Domain
		case 5:
			dr.Host = "*.local"
		default:
			dr.Host = "*"
		}
		switch g.weighted(0.45, 0.15, 0.15, 0.15, 0.1) {
		case 0:
		case 1:
			dr.ExportTo = []string{"."}
		case 2:
			dr.ExportTo = []string{"*"}
		case 3:
			dr.ExportTo = []string{pick(g, nss)}
		default:
			a := pick(g, nss)
			b := pick(g, append(slices.Clone(nss), RootNamespace))
			dr.ExportTo = []string{a}
			if b != a {
				dr.ExportTo = append(dr.ExportTo, b)
			}
		}
		if g.chance(0.85) {
			dr.Policy = g.policy(w, 0.3)
		}
		if g.chance(0.3) {
			for _, v := range []string{"v1", "v2"}[:1+g.r.IntN(2)] {
				s := Subset{Name: v, Labels: map[string]string{"version": v}}
				if g.chance(0.4) {
					s.Policy = g.policy(w, 0.2)
				}
				dr.Subsets = append(dr.Subsets, s)
			}
		}
		if dr.Policy == nil && len(dr.Subsets) == 0 {
			dr.Policy = &TrafficPolicy{TLS: pick(g, []TLSMode{TLSDisable, TLSIstioMutual})}
		}
		base := pick(g, []string{w.Name, "dr-" + w.Name, "default", "mtls", "a-rule", "z-rule"})
		dr.Name = uniqueName(taken, dr.Namespace, base)
		dr.Created = g.created()
		m.DestinationRules = append(m.DestinationRules, dr)
	}
}

// extras adds the rarer features. It draws after everything else, so the rest of a seed's
// mesh does not depend on it.
func (g *gen) extras(m *Mesh) {
	for i := range m.Workloads {
		if g.chance(0.06) {
			m.Workloads[i].Headless = true
		}
	}
	// A mesh config: auto mTLS off, another trust domain, DestinationRules private by default.
	if g.chance(0.2) {
		mc := &MeshConfig{}
		for mc.EnableAutoMtls == nil && mc.TrustDomain == "" && mc.DefaultDestinationRuleExportTo == nil {
			if g.chance(0.4) {
				off := false
				mc.EnableAutoMtls = &off
			}
			if g.chance(0.4) {
				mc.TrustDomain = "example.org"
			}
			if g.chance(0.4) {
				mc.DefaultDestinationRuleExportTo = []string{pick(g, []string{".", "*"})}
			}
		}
		m.MeshConfig = mc
	}
	if len(m.DestinationRules) == 0 {
		return
	}
	// loadBalancer PASSTHROUGH: an ORIGINAL_DST cluster, whose TLS is one socket for every
	// endpoint (no per-endpoint auto mTLS).
	if g.chance(0.15) {
		dr := &m.DestinationRules[g.r.IntN(len(m.DestinationRules))]
		switch {
		case len(dr.Subsets) > 0 && g.chance(0.3):
			s := &dr.Subsets[g.r.IntN(len(dr.Subsets))]
			if s.Policy == nil {
				s.Policy = &TrafficPolicy{}
			}
			s.Policy.LoadBalancer = "PASSTHROUGH"
		case dr.Policy != nil && len(dr.Policy.PortLevel) > 0 && g.chance(0.3):
			dr.Policy.PortLevel[g.r.IntN(len(dr.Policy.PortLevel))].LoadBalancer = "PASSTHROUGH"
		default:
			if dr.Policy == nil {
				dr.Policy = &TrafficPolicy{}
			}
			dr.Policy.LoadBalancer = "PASSTHROUGH"
		}
	}
	// workloadSelector: a workload of the rule's namespace (or the gateway, for a rule in the
	// root namespace), sometimes nothing. Such a rule is private to its namespace.
	if g.chance(0.2) {
		dr := &m.DestinationRules[g.r.IntN(len(m.DestinationRules))]
		var cands []map[string]string
		for _, w := range m.Workloads {
			if w.Namespace == dr.Namespace {
				cands = append(cands, map[string]string{"app": w.Name})
			}
		}
		if dr.Namespace == RootNamespace && m.Gateway != nil {
			cands = append(cands, map[string]string{"istio": "ingressgateway"})
		}
		if len(cands) == 0 || g.chance(0.2) {
			dr.WorkloadSelector = map[string]string{"app": "ghost"}
		} else {
			dr.WorkloadSelector = pick(g, cands)
		}
		// Istio's validation: such a rule may only be exported to its own namespace.
		if len(dr.ExportTo) > 0 && !(len(dr.ExportTo) == 1 && (dr.ExportTo[0] == "." || dr.ExportTo[0] == dr.Namespace)) {
			dr.ExportTo = []string{"."}
		}
	}
	// tls details on a rule's top-level ISTIO_MUTUAL or SIMPLE.
	if g.chance(0.3) {
		dr := &m.DestinationRules[g.r.IntN(len(m.DestinationRules))]
		if p := dr.Policy; p != nil && (p.TLS == TLSIstioMutual || p.TLS == TLSSimple) {
			switch g.weighted(0.25, 0.45, 0.3) {
			case 0:
				p.SNI = "custom.sni.example"
			case 1:
				p.SANsSet = true
				w := pick(g, m.Workloads)
				switch g.weighted(0.4, 0.4, 0.2) {
				case 0: // the identity of some workload: right for its own Service only
					p.SubjectAltNames = []string{m.Identity(&w)}
				case 1:
					p.SubjectAltNames = []string{fmt.Sprintf("spiffe://%s/ns/%s/sa/nobody", m.TrustDomain(), w.Namespace)}
				default: // an explicit empty list
				}
			default:
				p.CredentialName = "client-credential"
			}
		}
	}
}
