//go:build istiooracle

// Package oracle asks Istio's own pilot what happens to a request between two workloads of a
// randmesh.Mesh: which TLS the client proxy sends to each endpoint (from the generated
// cluster and EDS) and whether the server proxy's inbound listener accepts it (from
// Istio's filter-chain simulation). It is a differential-test oracle for meshdoctor's engine.
//
// It links istio.io/istio (its test helpers included), so it sits behind the build tag
// istiooracle in a module of its own.
package oracle

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	meshconfig "istio.io/api/mesh/v1alpha1"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/pkg/xds/endpoints"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/config/host"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/kube/krt"
	istiolog "istio.io/istio/pkg/log"

	"github.com/meshdoctor/meshdoctor/oracle/randmesh"
)

// ProxyIstioVersion is the Istio version the simulated proxies claim (SetupProxy defaults
// to 1.23, which would switch off newer behaviour).
const ProxyIstioVersion = "1.31.0"

// ClientKind says what sends the request.
type ClientKind string

const (
	ClientSidecar   ClientKind = "sidecar"    // a workload with an Istio sidecar
	ClientNoSidecar ClientKind = "no-sidecar" // a workload without one: kube-proxy, plaintext
	ClientGateway   ClientKind = "gateway"    // the ingress gateway, a model.Router proxy
)

// TLS is what the client sends to one endpoint.
type TLS string

const (
	TLSMutual    TLS = "mtls"      // TLS socket presenting the SDS "default" (workload) certificate
	TLSPlaintext TLS = "plaintext" // no transport socket or raw_buffer
	TLSSimple    TLS = "tls"       // TLS socket without the workload certificate (DR SIMPLE)
	// TLSNoneVisible: the client proxy has no outbound cluster for the service, so the
	// request would go to PassthroughCluster (plaintext). The server is evaluated with plaintext.
	TLSNoneVisible TLS = "none-visible"
)

// Verdict is the server side's answer.
type Verdict string

const (
	Accepted Verdict = "accepted" // the simulation matched a filter chain and reached a cluster
	// NoSidecar: the server pod has no sidecar. Plaintext reaches the app (Accepted=true);
	// TLS or mTLS reaches a plaintext app and fails (Accepted=false).
	NoSidecar Verdict = "no-sidecar"
	// NoClientCluster: the gateway has no cluster for the Service (not exported to its
	// namespace), so the request never leaves it. The server is not evaluated.
	NoClientCluster        Verdict = "no-client-cluster"
	ErrNoFilterChain       Verdict = "ErrNoFilterChain"
	ErrMTLSError           Verdict = "ErrMTLSError"
	ErrTLSError            Verdict = "ErrTLSError"
	ErrProtocolError       Verdict = "ErrProtocolError"
	ErrNoListener          Verdict = "ErrNoListener"
	ErrMultipleFilterChain Verdict = "ErrMultipleFilterChain"
	ErrNoRoute             Verdict = "ErrNoRoute"
	ErrNoVirtualHost       Verdict = "ErrNoVirtualHost"
	ErrTLSRedirect         Verdict = "ErrTLSRedirect"
)

var verdictOfError = map[error]Verdict{
	simulation.ErrNoFilterChain:       ErrNoFilterChain,
	simulation.ErrMTLSError:           ErrMTLSError,
	simulation.ErrTLSError:            ErrTLSError,
	simulation.ErrProtocolError:       ErrProtocolError,
	simulation.ErrNoListener:          ErrNoListener,
	simulation.ErrMultipleFilterChain: ErrMultipleFilterChain,
	simulation.ErrNoRoute:             ErrNoRoute,
	simulation.ErrNoVirtualHost:       ErrNoVirtualHost,
	simulation.ErrTLSRedirect:         ErrTLSRedirect,
}

// Pair is Istio's answer for one client, one Service port (optionally one subset) and one
// endpoint pod of that Service.
type Pair struct {
	Client      string // "namespace/name" of the client workload or gateway
	ClientKind  ClientKind
	Host        string // Service FQDN
	ServicePort int
	TargetPort  int    // container port the endpoint listens on
	Protocol    string // randmesh.ProtocolHTTP or randmesh.ProtocolTCP
	Subset      string // "" for the default cluster outbound|port||host
	Endpoint    string // "namespace/pod"
	EndpointIP  string

	ClientTLS     TLS
	ClientCluster string   // outbound cluster name, "" when none
	SocketMatch   string   // transport_socket_matches entry used, "" when the cluster's transport_socket was used
	SNI           string   // for TLS and mTLS
	SANs          []string // SANs the client verifies, for TLS and mTLS

	ServerSidecar bool
	Verdict       Verdict
	// Accepted: the server side took the connection. With ClientTLS tls or mtls and
	// ServerTerminatesTLS false (PERMISSIVE TCP passthrough of TLS, DISABLE TCP port) the
	// proxy forwards the TLS bytes to the app unchanged.
	Accepted            bool
	ServerFilterChain   string
	ServerCluster       string
	ServerTerminatesTLS bool // the matched inbound filter chain has a TLS transport socket

	Evidence []string
}

// Key identifies the pair: client, host:port, subset and endpoint.
func (p Pair) Key() string {
	s := fmt.Sprintf("%s -> %s:%d", p.Client, p.Host, p.ServicePort)
	if p.Subset != "" {
		s += "/" + p.Subset
	}
	return s + " @" + p.Endpoint
}

func (p Pair) String() string {
	return fmt.Sprintf("%s: client %s sends %s, server %s (accepted=%v)", p.Key(), p.ClientKind, p.ClientTLS, p.Verdict, p.Accepted)
}

// Evaluate completes m (m.Complete), builds one fake Istio control plane for it and returns, sorted by Key, a
// Pair for every (client, Service port, endpoint pod), where clients are all workloads (with
// or without sidecar) and the gateway if any, plus pairs for every DestinationRule subset
// cluster a proxy client has (subset pairs only list the endpoints in the subset).
//
// Everything Istio starts for the mesh (informers, goroutines, the fake server) is stopped
// before Evaluate returns, so it can run in parallel subtests or in a loop. Failures of the
// harness (unparsable config, an endpoint missing from EDS) are reported on t.
func Evaluate(t *testing.T, m *randmesh.Mesh) []Pair {
	t.Helper()
	setupOnce.Do(setup)
	scope := &meshScope{T: t}
	defer scope.close()
	m.Complete()
	configs, _, err := crd.ParseInputs(m.IstioYAML())
	if err != nil {
		t.Fatalf("seed %d: parsing Istio config: %v", m.Seed, err)
	}
	for i := range configs {
		// istiod's CRD client sets the domain; without it short hosts resolve to "<name>.<ns>".
		configs[i].Domain = randmesh.Domain
	}
	s := xds.NewFakeDiscoveryServer(scope, xds.FakeOptions{
		MeshConfig:             meshConfig(t, m),
		Configs:                configs,
		KubernetesObjectString: m.KubernetesYAML(),
		KubeClientBuilder:      fastKubeClient,
	})
	e := &evaluator{t: t, m: m, s: s, servers: map[string]*serverSim{}}
	var out []Pair
	for i := range m.Workloads {
		w := &m.Workloads[i]
		if !w.Sidecar {
			out = append(out, e.plaintextClient(w)...)
			continue
		}
		p := e.proxy(model.SidecarProxy, w.Namespace, w.Pods[0], w.PodLabels(), w.ServiceAccount)
		out = append(out, e.proxyClient(w.Key(), ClientSidecar, p)...)
	}
	if g := m.Gateway; g != nil {
		labels := map[string]string{}
		for k, v := range g.Labels {
			labels[k] = v
		}
		p := e.proxy(model.Router, g.Namespace, g.Pod, labels, g.ServiceAccount)
		out = append(out, e.proxyClient(g.Key(), ClientGateway, p)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// meshConfig is Istio's default mesh config with the mesh's changes (nil: the default).
func meshConfig(t *testing.T, m *randmesh.Mesh) *meshconfig.MeshConfig {
	if m.MeshConfig == nil {
		return nil
	}
	mc, err := mesh.ApplyMeshConfigDefaults(m.MeshConfig.MeshConfigYAML())
	if err != nil {
		t.Fatalf("seed %d: mesh config: %v", m.Seed, err)
	}
	return mc
}

// meshScope is the test.Failer handed to Istio's fake server: failures and logs go to the
// test, cleanups run when Evaluate returns. (testing.T keeps a finished parallel subtest's
// cleanup closures reachable until its parent ends, which would keep every mesh's fake
// server alive: about 5 MB a mesh.)
type meshScope struct {
	*testing.T
	mu       sync.Mutex
	cleanups []func()
}

func (s *meshScope) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

func (s *meshScope) close() {
	for {
		s.mu.Lock()
		if len(s.cleanups) == 0 {
			s.mu.Unlock()
			return
		}
		f := s.cleanups[len(s.cleanups)-1]
		s.cleanups[len(s.cleanups)-1] = nil
		s.cleanups = s.cleanups[:len(s.cleanups)-1]
		s.mu.Unlock()
		f()
	}
}

var setupOnce sync.Once

// setup runs once per process, before the first fake server: it silences Istio's logs and
// drops krt's global debug registry, which otherwise keeps every collection of every fake
// server alive (about 5 MB per mesh).
func setup() {
	QuietLogs()
	krt.GlobalDebugHandler = nil
}

// QuietLogs silences every Istio log scope (Evaluate calls it once). Setting
// ORACLE_ISTIO_LOG=1 keeps Istio's logs.
func QuietLogs() {
	if os.Getenv("ORACLE_ISTIO_LOG") != "" {
		return
	}
	for _, s := range istiolog.Scopes() {
		s.SetOutputLevel(istiolog.NoneLevel)
	}
}

type evaluator struct {
	t       *testing.T
	m       *randmesh.Mesh
	s       *xds.FakeDiscoveryServer
	servers map[string]*serverSim // by pod IP
}

func (e *evaluator) proxy(typ model.NodeType, ns string, pod randmesh.Pod, labels map[string]string, sa string) *model.Proxy {
	return e.s.SetupProxy(&model.Proxy{
		Type:            typ,
		ID:              pod.Name + "." + ns,
		IPAddresses:     []string{pod.IP},
		ConfigNamespace: ns,
		Labels:          labels,
		Metadata: &model.NodeMetadata{
			Namespace:      ns,
			Labels:         labels,
			IstioVersion:   ProxyIstioVersion,
			ClusterID:      "Kubernetes",
			ServiceAccount: sa,
		},
	})
}

// target is one (Service port, endpoint pod) of a server workload.
type target struct {
	w    *randmesh.Workload
	port randmesh.Port
	pod  randmesh.Pod
}

func (e *evaluator) basePair(client string, kind ClientKind, tg target) Pair {
	return Pair{
		Client:        client,
		ClientKind:    kind,
		Host:          tg.w.Host(),
		ServicePort:   tg.port.ServicePort,
		TargetPort:    tg.port.ContainerPort,
		Protocol:      tg.port.Protocol,
		Endpoint:      tg.w.Namespace + "/" + tg.pod.Name,
		EndpointIP:    tg.pod.IP,
		ServerSidecar: tg.w.Sidecar,
	}
}

// plaintextClient: without a sidecar the request leaves as the app wrote it (plaintext here).
func (e *evaluator) plaintextClient(c *randmesh.Workload) []Pair {
	var out []Pair
	for i := range e.m.Workloads {
		w := &e.m.Workloads[i]
		for _, port := range w.Ports {
			for _, pod := range w.Pods {
				tg := target{w, port, pod}
				p := e.basePair(c.Key(), ClientNoSidecar, tg)
				p.ClientTLS = TLSPlaintext
				p.Evidence = append(p.Evidence, "client has no sidecar: the app's plaintext goes straight to the pod")
				e.server(&p, tg, TLSPlaintext, "", "")
				out = append(out, p)
			}
		}
	}
	return out
}

func (e *evaluator) proxyClient(client string, kind ClientKind, proxy *model.Proxy) []Pair {
	clusters := xdstest.ExtractClusters(e.s.Clusters(proxy))
	var clientSim *simulation.Simulation // built only when a service is not visible
	var out []Pair
	for i := range e.m.Workloads {
		w := &e.m.Workloads[i]
		for _, port := range w.Ports {
			// The default cluster, then one per subset cluster the proxy has.
			subsets := []string{""}
			prefix := fmt.Sprintf("outbound|%d|", port.ServicePort)
			suffix := "|" + w.Host()
			for name := range clusters {
				if strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
					if ss := strings.TrimSuffix(strings.TrimPrefix(name, prefix), suffix); ss != "" {
						subsets = append(subsets, ss)
					}
				}
			}
			sort.Strings(subsets[1:])
			for _, subset := range subsets {
				name := model.BuildSubsetKey(model.TrafficDirectionOutbound, subset, host.Name(w.Host()), port.ServicePort)
				c := clusters[name]
				var eps map[string]*endpoint.LbEndpoint
				if c != nil {
					eps = e.endpoints(name, proxy)
				}
				for _, pod := range w.Pods {
					tg := target{w, port, pod}
					p := e.basePair(client, kind, tg)
					p.Subset = subset
					if c == nil {
						if subset != "" {
							continue
						}
						p.ClientTLS = TLSNoneVisible
						if kind == ClientGateway {
							// A gateway has no passthrough: a route to this host names a missing cluster.
							p.Verdict = NoClientCluster
							p.Evidence = append(p.Evidence, fmt.Sprintf("gateway has no cluster %s: a route to it fails at the gateway (503 NC)", name))
							out = append(out, p)
							continue
						}
						addr := w.ClusterIP
						if w.Headless {
							addr = pod.IP // a headless Service resolves to its pods
						}
						p.ClientCluster = e.outboundCluster(&clientSim, proxy, w, port, addr)
						p.Evidence = append(p.Evidence, fmt.Sprintf("client proxy has no cluster %s; outbound simulation to %s:%d matches cluster %q: plaintext",
							name, addr, port.ServicePort, p.ClientCluster))
						if p.ClientCluster != "PassthroughCluster" {
							e.t.Errorf("seed %d: %s: service not visible but outbound matched %q", e.m.Seed, p.Key(), p.ClientCluster)
						}
						e.server(&p, tg, TLSPlaintext, "", "")
						out = append(out, p)
						continue
					}
					lbe, ok := eps[pod.IP]
					if !ok {
						if subset == "" {
							e.t.Errorf("seed %d: %s: endpoint %s (%s) missing from EDS of %s", e.m.Seed, client, p.Endpoint, pod.IP, name)
						}
						continue // not in this subset
					}
					p.ClientCluster = name
					tls, alpn := e.clientTLS(&p, c, lbe)
					p.ClientTLS = tls
					e.server(&p, tg, tls, alpn, p.SNI)
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// outboundCluster runs the client's outbound listeners for a request to addr (the Service's
// ClusterIP, or a pod IP of a headless Service) and returns the cluster it reaches.
func (e *evaluator) outboundCluster(sim **simulation.Simulation, proxy *model.Proxy, w *randmesh.Workload, port randmesh.Port, addr string) string {
	if *sim == nil {
		*sim = simulation.NewSimulation(e.t, e.s, proxy)
	}
	call := simulation.Call{
		Address:    addr,
		Port:       port.ServicePort,
		Protocol:   simulation.TCP,
		HostHeader: w.Host(),
		CallMode:   simulation.CallModeOutbound,
	}
	if port.Protocol == randmesh.ProtocolHTTP {
		call.Protocol = simulation.HTTP
	}
	res := (*sim).Run(call)
	if res.Error != nil {
		return "error: " + res.Error.Error()
	}
	return res.ClusterMatched
}

// endpoints builds the EDS of one cluster for the proxy and indexes it by endpoint IP.
func (e *evaluator) endpoints(clusterName string, proxy *model.Proxy) map[string]*endpoint.LbEndpoint {
	b := endpoints.NewEndpointBuilder(clusterName, proxy, e.s.PushContext())
	cla := b.BuildClusterLoadAssignment(e.s.Discovery.Env.EndpointIndex)
	out := map[string]*endpoint.LbEndpoint{}
	for _, loc := range cla.GetEndpoints() {
		for _, lbe := range loc.GetLbEndpoints() {
			out[lbe.GetEndpoint().GetAddress().GetSocketAddress().GetAddress()] = lbe
		}
	}
	return out
}

// transportSocketMatchKey is the EDS metadata namespace Envoy matches transport_socket_matches against.
const transportSocketMatchKey = "envoy.transport_socket_match"

// clientTLS picks the socket Envoy uses for this endpoint: the first transport_socket_matches
// entry whose match is a subset of the endpoint's envoy.transport_socket_match metadata, else
// the cluster's transport_socket. It returns the TLS kind and the ALPN for the server call.
func (e *evaluator) clientTLS(p *Pair, c *cluster.Cluster, lbe *endpoint.LbEndpoint) (TLS, string) {
	meta := lbe.GetMetadata().GetFilterMetadata()[transportSocketMatchKey]
	if meta != nil {
		p.Evidence = append(p.Evidence, fmt.Sprintf("EDS %s metadata %s", transportSocketMatchKey, compactStruct(meta)))
	} else {
		p.Evidence = append(p.Evidence, fmt.Sprintf("EDS endpoint has no %s metadata", transportSocketMatchKey))
	}
	var ts *core.TransportSocket
	found := false
	for _, m := range c.GetTransportSocketMatches() {
		if structSubset(m.GetMatch(), meta) {
			ts, found = m.GetTransportSocket(), true
			p.SocketMatch = m.GetName()
			p.Evidence = append(p.Evidence, fmt.Sprintf("cluster %s: transport_socket_matches entry %q matches", c.GetName(), m.GetName()))
			break
		}
	}
	if !found {
		ts = c.GetTransportSocket()
		if len(c.GetTransportSocketMatches()) > 0 {
			p.Evidence = append(p.Evidence, fmt.Sprintf("cluster %s: no transport_socket_matches entry matches; cluster transport_socket", c.GetName()))
		} else {
			p.Evidence = append(p.Evidence, fmt.Sprintf("cluster %s: single transport_socket", c.GetName()))
		}
	}
	if ts == nil || ts.GetTypedConfig() == nil {
		p.Evidence = append(p.Evidence, "no transport socket: plaintext")
		return TLSPlaintext, ""
	}
	ctx := &tlsv3.UpstreamTlsContext{}
	if err := ts.GetTypedConfig().UnmarshalTo(ctx); err != nil {
		// raw_buffer or an unknown wrapper.
		p.Evidence = append(p.Evidence, fmt.Sprintf("transport socket %s (%s): plaintext", ts.GetName(), ts.GetTypedConfig().GetTypeUrl()))
		if !strings.Contains(ts.GetTypedConfig().GetTypeUrl(), "raw_buffer") {
			e.t.Errorf("seed %d: %s: unexpected transport socket type %s", e.m.Seed, p.Key(), ts.GetTypedConfig().GetTypeUrl())
		}
		return TLSPlaintext, ""
	}
	p.SNI = ctx.GetSni()
	common := ctx.GetCommonTlsContext()
	p.SANs = sans(common)
	alpns := common.GetAlpnProtocols()
	certs := common.GetTlsCertificateSdsSecretConfigs()
	if len(certs) > 0 && certs[0].GetName() == "default" {
		p.Evidence = append(p.Evidence, fmt.Sprintf("TLS socket with SDS certificate \"default\": mTLS (sni=%q sans=%v alpn=%v)", p.SNI, p.SANs, alpns))
		// The simulation takes one ALPN; Istio's ALPN override sends istio-http/1.1 first on
		// HTTP and the cluster's istio ALPNs on TCP.
		if p.Protocol == randmesh.ProtocolHTTP {
			return TLSMutual, "istio-http/1.1"
		}
		return TLSMutual, "istio"
	}
	p.Evidence = append(p.Evidence, fmt.Sprintf("TLS socket without workload certificate: TLS (sni=%q sans=%v alpn=%v)", p.SNI, p.SANs, alpns))
	if len(alpns) > 0 {
		return TLSSimple, alpns[0]
	}
	return TLSSimple, ""
}

func sans(common *tlsv3.CommonTlsContext) []string {
	var out []string
	cvc := common.GetCombinedValidationContext().GetDefaultValidationContext()
	if cvc == nil {
		cvc = common.GetValidationContext()
	}
	matchers := cvc.GetMatchSubjectAltNames() //nolint:staticcheck // Istio still fills the deprecated field
	for _, m := range cvc.GetMatchTypedSubjectAltNames() {
		matchers = append(matchers, m.GetMatcher())
	}
	for _, m := range matchers {
		if v := m.GetExact(); v != "" {
			out = append(out, v)
		} else if v := m.GetPrefix(); v != "" {
			out = append(out, v+"*")
		}
	}
	return out
}

// structSubset reports whether every field of match is in meta with an equal value (Envoy's
// transport_socket_matches rule; an empty match matches every endpoint).
func structSubset(match, meta *structpb.Struct) bool {
	for k, v := range match.GetFields() {
		got, ok := meta.GetFields()[k]
		if !ok || !proto.Equal(v, got) {
			return false
		}
	}
	return true
}

func compactStruct(s *structpb.Struct) string {
	keys := make([]string, 0, len(s.GetFields()))
	for k := range s.GetFields() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, s.GetFields()[k].AsInterface()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// serverSim is the inbound side of one server pod, built once per mesh.
type serverSim struct {
	sim     *simulation.Simulation
	results map[string]serverResult
}

type serverResult struct {
	res        simulation.Result
	terminates bool // the matched filter chain has a transport socket (terminates TLS)
}

func (e *evaluator) serverSim(w *randmesh.Workload, pod randmesh.Pod) *serverSim {
	if ss, ok := e.servers[pod.IP]; ok {
		return ss
	}
	proxy := e.proxy(model.SidecarProxy, w.Namespace, pod, w.PodLabels(), w.ServiceAccount)
	ss := &serverSim{sim: simulation.NewSimulation(e.t, e.s, proxy), results: map[string]serverResult{}}
	e.servers[pod.IP] = ss
	return ss
}

// server fills the server-side fields of p for a request with the given TLS.
func (e *evaluator) server(p *Pair, tg target, tls TLS, alpn, sni string) {
	if tls == TLSNoneVisible {
		tls = TLSPlaintext
	}
	if !tg.w.Sidecar {
		p.Verdict = NoSidecar
		p.Accepted = tls == TLSPlaintext
		if p.Accepted {
			p.Evidence = append(p.Evidence, "server has no sidecar: plaintext reaches the app")
		} else {
			p.Evidence = append(p.Evidence, "server has no sidecar: the plaintext app cannot accept TLS")
		}
		return
	}
	ss := e.serverSim(tg.w, tg.pod)
	call := simulation.Call{
		Address:    tg.pod.IP,
		Port:       tg.port.ContainerPort,
		Protocol:   simulation.TCP,
		HostHeader: tg.w.Host(),
		CallMode:   simulation.CallModeInbound,
		Alpn:       alpn,
	}
	if tg.port.Protocol == randmesh.ProtocolHTTP {
		call.Protocol = simulation.HTTP
	}
	switch tls {
	case TLSMutual:
		call.TLS = simulation.MTLS
		call.Sni = sni
	case TLSSimple:
		call.TLS = simulation.TLS
		call.Sni = sni
	default:
		call.TLS = simulation.Plaintext
		call.Alpn = ""
	}
	call = call.FillDefaults() // so the evidence shows the ALPN actually simulated
	key := fmt.Sprintf("%d|%s|%s|%s|%s", call.Port, call.Protocol, call.TLS, call.Alpn, call.Sni)
	sr, ok := ss.results[key]
	if !ok {
		// Filter chain names are not unique (mTLS and plaintext chains of one port share
		// one): capture the chain the simulation matched.
		var matched *listener.FilterChain
		call.CustomListenerValidations = []simulation.CustomFilterChainValidation{func(fc *listener.FilterChain) error {
			matched = fc
			return nil
		}}
		sr.res = ss.sim.Run(call)
		sr.terminates = matched != nil && matched.GetTransportSocket() != nil
		ss.results[key] = sr
	}
	res := sr.res
	p.ServerFilterChain = res.FilterChainMatched
	p.ServerCluster = res.ClusterMatched
	p.ServerTerminatesTLS = sr.terminates
	if res.Error == nil {
		p.Verdict, p.Accepted = Accepted, true
	} else if v, ok := verdictOfError[res.Error]; ok {
		p.Verdict = v
	} else {
		p.Verdict = Verdict(res.Error.Error())
	}
	p.Evidence = append(p.Evidence, fmt.Sprintf("server inbound %s %s to port %d (alpn=%q): listener=%q chain=%q cluster=%q terminatesTLS=%v error=%v",
		call.TLS, call.Protocol, call.Port, call.Alpn, res.ListenerMatched, res.FilterChainMatched, res.ClusterMatched, p.ServerTerminatesTLS, res.Error))
}
