package cli

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

func (a *app) describeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "Show the effective Istio policy of one workload or service, and which object decided each part",
		Long: `describe shows what Istio makes of one workload or one service, each decision with
the object (file:line) that made it and the assumptions it rests on.

  describe workload NS/NAME   sidecar or not, identity, mTLS mode per port, whether the
                              application listens, the Services and Gateways that select it,
                              the AuthorizationPolicies that select it, and the
                              DestinationRule and client TLS of its calls to every service
  describe service NAME.NS    ports and target ports, endpoints (sidecar, identity, mTLS,
                              listening), the DestinationRule each client namespace uses,
                              and the VirtualServices and Gateways that route to it

Exit status: 0, or 2 on bad input or when the workload or service is not in the input.`,
		Example: `  meshdoctor describe workload -k examples/titanium/k8s-manifests/overlays/gcp titanium-prod/prod-blog-service
  meshdoctor describe service -k examples/titanium/k8s-manifests/overlays/gcp prod-blog-service.titanium-prod -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErr("describe needs what to describe: describe workload NS/NAME or describe service NAME.NS")
		},
	}
	cmd.AddCommand(a.describeWorkloadCommand(), a.describeServiceCommand())
	return cmd
}

func (a *app) describeWorkloadCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "workload NS/NAME",
		Aliases: []string{"wl"},
		Short:   "Effective policy of one workload: sidecar, identity, mTLS per port, authorization, outbound DestinationRules",
		Long: `describe workload shows the effective Istio policy of one workload (a Deployment,
StatefulSet, DaemonSet or Pod, or the ingress gateway istio-system/istio-ingressgateway):
whether its pods get a sidecar and why, its SPIFFE identity, the PeerAuthentication mode
of each container port and the policy that set it, whether the application listens on
that port, the Services and Gateways that select it, the AuthorizationPolicies that
select it, and for each service of the mesh the DestinationRule its calls would use and
the client TLS that results. NAME alone is looked up in -n NAMESPACE ("default").

Exit status: 0, or 2 on bad input or when the workload is not in the input.`,
		Example: `  meshdoctor describe workload -k examples/titanium/k8s-manifests/overlays/gcp titanium-prod/prod-postgres
  meshdoctor describe workload -f manifests/ shop/frontend -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json", "yaml"); err != nil {
				return err
			}
			ref, err := a.workloadArg(args[0])
			if err != nil {
				return err
			}
			in, err := a.loadInput()
			if err != nil {
				return err
			}
			w, err := trace.FindWorkload(in.idx, ref)
			if err != nil {
				return usageErr("%v", err)
			}
			d := describeWorkload(resolve.New(in.idx), w)
			if a.g.output == "text" {
				writeWorkloadText(a.stdout, d)
				return nil
			}
			return writeData(a.stdout, a.g.output, d)
		},
	}
}

func (a *app) describeServiceCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "service NAME.NS",
		Aliases: []string{"svc"},
		Short:   "Ports, endpoints, the DestinationRule each client namespace uses, and the routes to one service",
		Long: `describe service shows one Kubernetes Service as Istio sees it: its ports and the
container ports they reach, its endpoints with their sidecar, identity, mTLS mode and
whether the application listens, the DestinationRule clients of each namespace use for
it (every namespace that has workloads, and the root namespace), and the VirtualService
routes and Gateways that send traffic to it.

The service is NAME.NS, NS/NAME, its FQDN NAME.NS.svc.cluster.local, or NAME in
-n NAMESPACE ("default").

Exit status: 0, or 2 on bad input or when the service is not in the input.`,
		Example: `  meshdoctor describe service -k examples/titanium/k8s-manifests/overlays/gcp prod-blog-service.titanium-prod
  meshdoctor describe service -f manifests/ shop/cart -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json", "yaml"); err != nil {
				return err
			}
			ns, name, err := a.serviceArg(args[0])
			if err != nil {
				return err
			}
			in, err := a.loadInput()
			if err != nil {
				return err
			}
			svc := in.idx.Service(ns, name)
			if svc == nil {
				return usageErr("%s", unknownServiceMessage(in.idx, args[0], ns, name))
			}
			d := describeService(resolve.New(in.idx), svc)
			if a.g.output == "text" {
				writeServiceText(a.stdout, d)
				return nil
			}
			return writeData(a.stdout, a.g.output, d)
		},
	}
}

// defaultNS is the namespace of a name given without one: -n, else "default".
func (a *app) defaultNS() string {
	if a.g.namespace != "" {
		return a.g.namespace
	}
	return mesh.DefaultNamespace
}

// workloadArg checks NS/NAME (or NS/KIND/NAME, or NAME with -n) and returns it
// in the form trace.FindWorkload reads.
func (a *app) workloadArg(s string) (string, error) {
	parts := strings.Split(s, "/")
	for _, p := range parts {
		if p == "" {
			return "", usageErr("workload %q must be NAMESPACE/NAME (or NAME with -n NAMESPACE)", s)
		}
	}
	switch len(parts) {
	case 1:
		return a.defaultNS() + "/" + s, nil
	case 2, 3:
		return s, nil
	}
	return "", usageErr("workload %q must be NAMESPACE/NAME (or NAME with -n NAMESPACE)", s)
}

// serviceArg reads NAME.NS, NS/NAME, NAME.NS.svc[.DOMAIN] or NAME (with -n).
func (a *app) serviceArg(s string) (ns, name string, err error) {
	bad := usageErr("service %q must be NAME.NAMESPACE, NAMESPACE/NAME or NAME with -n NAMESPACE", s)
	if before, after, ok := strings.Cut(s, "/"); ok {
		if before == "" || after == "" || strings.Contains(after, "/") {
			return "", "", bad
		}
		return before, after, nil
	}
	h := strings.TrimSuffix(strings.ToLower(s), ".")
	if i := strings.Index(h, ".svc"); i >= 0 && (len(h) == i+4 || h[i+4] == '.') {
		h = h[:i]
	}
	if h == "" {
		return "", "", bad
	}
	name, ns, ok := strings.Cut(h, ".")
	if !ok {
		return a.defaultNS(), h, nil
	}
	if name == "" || ns == "" || strings.Contains(ns, ".") {
		return "", "", bad
	}
	return ns, name, nil
}

// unknownServiceMessage names the service that is not in the input and lists
// the closest ones, as trace does for workloads.
func unknownServiceMessage(x *mesh.Index, arg, ns, name string) string {
	msg := fmt.Sprintf("no service %q in the input (looked for Service %s/%s)", arg, ns, name)
	type scored struct {
		key string
		d   int
	}
	var cands []scored
	for _, s := range x.Services {
		key := s.Name + "." + s.Namespace
		d := trace.EditDistance(strings.ToLower(name), strings.ToLower(s.Name))
		switch {
		case s.Name == name:
			d = 0 // the same name in another namespace
		case strings.Contains(s.Name, name):
			d = 1
		case d > len(name)/3+1:
			continue
		}
		if s.Namespace != ns {
			d++
		}
		cands = append(cands, scored{key, d})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].d != cands[j].d {
			return cands[i].d < cands[j].d
		}
		return cands[i].key < cands[j].key
	})
	var close []string
	for i := 0; i < len(cands) && i < 5; i++ {
		close = append(close, cands[i].key)
	}
	if len(close) > 0 {
		return msg + "; did you mean " + strings.Join(close, ", ") + "?"
	}
	if in := x.ServicesIn(ns); len(in) > 0 {
		var names []string
		for _, s := range in {
			if len(names) == 5 {
				names = append(names, "...")
				break
			}
			names = append(names, s.Name+"."+s.Namespace)
		}
		return msg + "; the services of namespace " + ns + " are " + strings.Join(names, ", ")
	}
	return msg
}

// ---------------------------------------------------------------------------
// Data (-o json|yaml)

// DescReason is a decision as describe shows it: why, and the objects (file,
// line, field) that decided. Assumptions are gathered once, at the end.
type DescReason struct {
	Reason string        `json:"reason"`
	By     []objects.Ref `json:"by,omitempty"`
}

// DescObject names the object described.
type DescObject struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Source    string `json:"source,omitempty"`
	// Implicit marks the ingress gateway assumed when it is not in the input.
	Implicit bool `json:"implicit,omitempty"`
}

// WorkloadDescription is the data of `meshdoctor describe workload`.
type WorkloadDescription struct {
	Workload       DescObject `json:"workload"`
	Proxy          DescProxy  `json:"proxy"`
	Identity       string     `json:"identity"`
	ServiceAccount string     `json:"service_account"`
	// PeerAuthentication is set for a gateway: PeerAuthentication does not
	// apply to its listeners.
	PeerAuthentication    *DescReason         `json:"peer_authentication,omitempty"`
	Ports                 []DescWorkloadPort  `json:"ports"`
	Services              []DescSelectingSvc  `json:"services"`
	GatewayServers        []DescGatewayServer `json:"gateway_servers,omitempty"`
	AuthorizationPolicies []DescPolicy        `json:"authorization_policies"`
	AuthorizationNote     *DescReason         `json:"authorization_note,omitempty"`
	Outbound              DescOutbound        `json:"outbound"`
	Assumptions           []string            `json:"assumptions,omitempty"`
}

// DescProxy is the sidecar decision.
type DescProxy struct {
	// Kind is sidecar, gateway or none.
	Kind    string `json:"kind"`
	Ambient bool   `json:"ambient,omitempty"`
	DescReason
}

// DescWorkloadPort is one pod port: its PeerAuthentication mode and whether
// the application listens there.
type DescWorkloadPort struct {
	Port     int32  `json:"port"`
	Name     string `json:"name,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	// Container declares the port; empty when only a Service targets it.
	Container string        `json:"container,omitempty"`
	MTLS      DescMTLS      `json:"mtls"`
	Listening DescListening `json:"listening"`
}

// DescMTLS is an effective PeerAuthentication mode ("" for a gateway).
type DescMTLS struct {
	Mode string `json:"mode"`
	DescReason
}

// DescListening is resolve.ListenDecision.
type DescListening struct {
	Listening  string `json:"listening"`
	Loopback   bool   `json:"loopback,omitempty"`
	Evidence   string `json:"evidence,omitempty"`
	Confidence string `json:"confidence"`
	DescReason
}

// DescSelectingSvc is a Service whose selector matches the workload's pods.
type DescSelectingSvc struct {
	Service string   `json:"service"`
	Ports   []string `json:"ports"`
	// Endpoint is false when the pods match but give no endpoint (0 replicas).
	Endpoint bool `json:"endpoint"`
	DescReason
}

// DescGatewayServer is one server of a Gateway that selects a gateway workload.
type DescGatewayServer struct {
	Gateway    string   `json:"gateway"`
	Index      int      `json:"index"`
	Port       uint32   `json:"port"`
	ListenPort uint32   `json:"listen_port"`
	Protocol   string   `json:"protocol"`
	Hosts      []string `json:"hosts"`
	TLSMode    string   `json:"tls_mode,omitempty"`
	Rejected   string   `json:"rejected,omitempty"`
	DescReason
}

// DescPolicy is an AuthorizationPolicy that selects the workload.
type DescPolicy struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"`
	Enforced  bool   `json:"enforced"`
	Rules     int    `json:"rules"`
	DescReason
}

// DescOutbound is what the workload's proxy does with its calls: per service
// of the mesh, the DestinationRule and the client TLS to its endpoints.
type DescOutbound struct {
	// Proxy is false when the workload has no proxy: DestinationRules and auto
	// mTLS do not apply (Reason says so) and Destinations is empty.
	Proxy        bool              `json:"proxy"`
	Reason       string            `json:"reason,omitempty"`
	Destinations []DescDestination `json:"destinations"`
}

// DescDestination is one service host as the workload's proxy sees it.
type DescDestination struct {
	Service string `json:"service"`
	Host    string `json:"host"`
	// DestinationRule is "ns/name" of the rule (several joined by " + " when
	// merged); empty when none applies.
	DestinationRule string          `json:"destination_rule,omitempty"`
	Rule            DescReason      `json:"rule"`
	ClientTLS       []DescClientTLS `json:"client_tls"`
}

// DescClientTLS is what the client's proxy sends to one endpoint of a port.
type DescClientTLS struct {
	Port int32 `json:"port"`
	// Endpoint and TargetPort are empty when the port has no endpoint.
	Endpoint   string `json:"endpoint,omitempty"`
	TargetPort int32  `json:"target_port,omitempty"`
	// Mode is mtls, plaintext, tls or mutual.
	Mode string `json:"mode"`
	Auto bool   `json:"auto,omitempty"`
	DescReason
}

// ServiceDescription is the data of `meshdoctor describe service`.
type ServiceDescription struct {
	Service          DescObject        `json:"service"`
	Host             string            `json:"host"`
	Type             string            `json:"type"`
	Headless         bool              `json:"headless,omitempty"`
	Selector         map[string]string `json:"selector,omitempty"`
	Ports            []DescServicePort `json:"ports"`
	DestinationRules []DescClientRule  `json:"destination_rules"`
	Routes           []DescRoute       `json:"routes"`
	Gateways         []DescGateway     `json:"gateways"`
	Assumptions      []string          `json:"assumptions,omitempty"`
}

// DescServicePort is one Service port and its endpoints.
type DescServicePort struct {
	Name        string `json:"name,omitempty"`
	Port        int32  `json:"port"`
	Protocol    string `json:"protocol"`
	AppProtocol string `json:"app_protocol,omitempty"`
	// TargetPort is the targetPort as written (a number or a name).
	TargetPort string         `json:"target_port"`
	Endpoints  []DescEndpoint `json:"endpoints"`
	// Excluded are pods the selector matches that give no endpoint.
	Excluded []DescEndpoint `json:"excluded,omitempty"`
	DescReason
}

// DescEndpoint is one workload behind a Service port.
type DescEndpoint struct {
	Workload   string         `json:"workload"`
	Kind       string         `json:"kind"`
	TargetPort DescTargetPort `json:"target_port"`
	// Proxy is sidecar, gateway or none.
	Proxy     string         `json:"proxy"`
	Identity  string         `json:"identity"`
	MTLS      *DescMTLS      `json:"mtls,omitempty"`
	Listening *DescListening `json:"listening,omitempty"`
	DescReason
}

// DescTargetPort is resolve.TargetPortDecision.
type DescTargetPort struct {
	Port      int32  `json:"port"`
	Name      string `json:"name,omitempty"`
	Found     bool   `json:"found"`
	Container string `json:"container,omitempty"`
	DescReason
}

// DescClientRule is the DestinationRule clients of one namespace use for the
// service.
type DescClientRule struct {
	Namespace string `json:"namespace"`
	// Clients are the workloads of the namespace this row is for; empty when
	// the namespace has none in the input (any client there).
	Clients         []string      `json:"clients,omitempty"`
	DestinationRule string        `json:"destination_rule,omitempty"`
	TLS             []DescRuleTLS `json:"tls,omitempty"`
	DescReason
}

// DescRuleTLS is the TLS a DestinationRule sets for one service port; Mode ""
// means it sets none and auto mTLS decides.
type DescRuleTLS struct {
	Port int32  `json:"port"`
	Mode string `json:"mode"`
	DescReason
}

// DescRoute is one VirtualService route whose destination is the service.
type DescRoute struct {
	VirtualService string   `json:"virtual_service"`
	Delegate       string   `json:"delegate,omitempty"`
	Kind           string   `json:"kind"`
	Route          string   `json:"route"`
	Port           int32    `json:"port,omitempty"`
	Subset         string   `json:"subset,omitempty"`
	Weight         int32    `json:"weight"`
	Gateways       []string `json:"gateways"`
	DescReason
}

// DescGateway is a Gateway a route to the service is bound to.
type DescGateway struct {
	Gateway string   `json:"gateway"`
	Found   bool     `json:"found"`
	Servers []string `json:"servers,omitempty"`
	// Workloads are the gateway workloads the Gateway configures.
	Workloads []string `json:"workloads,omitempty"`
	DescReason
}

// assumptions gathers assumptions once, in first-seen order; they are sorted
// at the end.
type assumptions struct {
	list []string
	seen map[string]bool
}

func (s *assumptions) add(as ...string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, a := range as {
		if !s.seen[a] {
			s.seen[a] = true
			s.list = append(s.list, a)
		}
	}
}

func (s *assumptions) dec(d resolve.Decision) DescReason {
	s.add(d.Assumptions...)
	return DescReason{Reason: d.Reason, By: d.By}
}

func (s *assumptions) key(x *mesh.Index, key string) {
	if v, ok := x.Assumption(key); ok {
		s.add(v)
	}
}

func (s *assumptions) sorted() []string { return resolve.SortedAssumptions(s.list) }

func describeObject(w *mesh.Workload) DescObject {
	return DescObject{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, Source: w.At("").String(), Implicit: w.Implicit}
}

func servicePortText(p mesh.ServicePort) string {
	s := fmt.Sprintf("%d->%s/%s", p.Port, p.TargetPort.String(), p.Protocol)
	if p.Name != "" {
		s = p.Name + ":" + s
	}
	return s
}

func mtlsOf(as *assumptions, d resolve.MTLSDecision) DescMTLS {
	return DescMTLS{Mode: d.Mode, DescReason: as.dec(d.Decision)}
}

func listeningOf(as *assumptions, d resolve.ListenDecision) DescListening {
	return DescListening{Listening: d.Listening, Loopback: d.Loopback, Evidence: d.Evidence, Confidence: d.Confidence, DescReason: as.dec(d.Decision)}
}

// ---------------------------------------------------------------------------
// describe workload

func describeWorkload(e *resolve.Engine, w *mesh.Workload) *WorkloadDescription {
	var as assumptions
	x := e.X
	sc := e.Sidecar(w)
	d := &WorkloadDescription{
		Workload:       describeObject(w),
		Proxy:          DescProxy{Kind: sc.Kind, Ambient: sc.Ambient, DescReason: as.dec(sc.Decision)},
		Identity:       e.Identity(w),
		ServiceAccount: w.ServiceAccount,
		Services:       []DescSelectingSvc{},
	}
	as.key(x, mesh.AssumeTrustDomain)
	if w.Implicit {
		as.key(x, mesh.AssumeIngressGateway)
	}

	// The Services whose selector matches the pods, as Kubernetes builds their
	// endpoints (resolve.EndpointSet); their target ports are pod ports too.
	var targeted []int32
	for _, s := range x.ServicesIn(w.Namespace) {
		set := e.EndpointSet(s, nil, nil)
		var ep *resolve.Endpoint
		isEndpoint := false
		for i := range set.Endpoints {
			if set.Endpoints[i].Workload == w {
				ep, isEndpoint = &set.Endpoints[i], true
			}
		}
		for i := range set.Excluded {
			if set.Excluded[i].Workload == w {
				ep = &set.Excluded[i]
			}
		}
		if ep == nil {
			continue
		}
		row := DescSelectingSvc{Service: s.Key(), Endpoint: isEndpoint, DescReason: as.dec(ep.Decision)}
		if s.Obj != nil {
			row.By = append([]objects.Ref{s.Obj.Ref("spec.selector")}, row.By...)
		}
		for i := range s.Ports {
			row.Ports = append(row.Ports, servicePortText(s.Ports[i]))
			tp := e.TargetPort(s, &s.Ports[i], w)
			if tp.Port != 0 && !tp.Found {
				targeted = append(targeted, tp.Port)
			}
		}
		d.Services = append(d.Services, row)
	}

	// Pod ports: the declared container ports of the containers that serve
	// (not the injected istio-proxy of a sidecar), then ports only a Service
	// targets.
	seen := map[int32]bool{}
	addPort := func(p DescWorkloadPort) {
		if seen[p.Port] {
			return
		}
		seen[p.Port] = true
		mt := e.ServerMTLS(w, p.Port)
		p.MTLS = mtlsOf(&as, mt)
		p.Listening = listeningOf(&as, e.Listening(w, p.Port))
		d.Ports = append(d.Ports, p)
	}
	for _, c := range w.Containers {
		if (c.Init && !c.RestartAlways) || (c.Name == mesh.ProxyContainerName && sc.Kind != resolve.ProxyGateway) {
			continue
		}
		for _, p := range c.Ports {
			addPort(DescWorkloadPort{Port: p.Port, Name: p.Name, Protocol: p.Protocol, Container: c.Name})
		}
	}
	sort.Slice(targeted, func(i, j int) bool { return targeted[i] < targeted[j] })
	for _, p := range targeted {
		addPort(DescWorkloadPort{Port: p})
	}
	if d.Ports == nil {
		d.Ports = []DescWorkloadPort{}
	}

	if sc.Kind == resolve.ProxyGateway {
		r := as.dec(e.ServerMTLS(w, 0).Decision)
		r.Reason = strings.Replace(r.Reason, "is a gateway: ", "is a gateway proxy: ", 1)
		d.PeerAuthentication = &r
		for _, gs := range e.GatewayServers(w) {
			d.GatewayServers = append(d.GatewayServers, DescGatewayServer{
				Gateway: gs.Gateway.Namespace + "/" + gs.Gateway.Name, Index: gs.Index, Port: gs.Port, ListenPort: gs.ListenPort,
				Protocol: gs.Protocol, Hosts: gs.Hosts, TLSMode: gs.TLSMode, Rejected: gs.Rejected, DescReason: as.dec(gs.Decision),
			})
		}
	}

	pols, note := e.AuthorizationPolicies(w)
	d.AuthorizationPolicies = []DescPolicy{}
	for _, p := range pols {
		d.AuthorizationPolicies = append(d.AuthorizationPolicies, DescPolicy{
			Namespace: p.Policy.Namespace, Name: p.Policy.Name, Action: p.Action, Enforced: p.Enforced,
			Rules: len(p.Policy.Spec.GetRules()), DescReason: as.dec(p.Decision),
		})
	}
	if note.Reason != "" {
		r := as.dec(note)
		d.AuthorizationNote = &r
	}
	if len(pols) == 0 {
		as.key(x, mesh.AssumeRootNamespace)
	}

	d.Outbound = describeOutbound(e, w, sc, &as)
	d.Assumptions = as.sorted()
	return d
}

// describeOutbound lists, for every service of the mesh, the DestinationRule
// the workload's proxy uses and the client TLS to each endpoint of each port.
func describeOutbound(e *resolve.Engine, w *mesh.Workload, sc resolve.SidecarDecision, as *assumptions) DescOutbound {
	out := DescOutbound{Proxy: sc.HasProxy, Destinations: []DescDestination{}}
	if !sc.HasProxy {
		out.Reason = fmt.Sprintf("%s has no Istio proxy: DestinationRules and auto mTLS are proxy configuration and do not apply; its calls leave as the application sends them (plaintext unless the application itself uses TLS)", w.Key())
		return out
	}
	for _, s := range e.X.Services {
		dr := e.DestinationRule(w, s.Host)
		dst := DescDestination{Service: s.Key(), Host: s.Host, Rule: as.dec(dr.Decision), ClientTLS: []DescClientTLS{}}
		if dr.Rule != nil {
			dst.DestinationRule = dr.Rule.Name()
		}
		for i := range s.Ports {
			sp := &s.Ports[i]
			eps := e.Endpoints(s, sp, nil)
			if len(eps) == 0 {
				t := e.ClientTLS(w, s, sp, "", nil, 0)
				dst.ClientTLS = append(dst.ClientTLS, DescClientTLS{Port: sp.Port, Mode: t.Mode, Auto: t.Auto, DescReason: as.dec(t.Decision)})
				continue
			}
			for _, ep := range eps {
				t := e.ClientTLS(w, s, sp, "", ep.Workload, ep.TargetPort)
				dst.ClientTLS = append(dst.ClientTLS, DescClientTLS{Port: sp.Port, Endpoint: ep.Workload.Key(), TargetPort: ep.TargetPort,
					Mode: t.Mode, Auto: t.Auto, DescReason: as.dec(t.Decision)})
			}
		}
		out.Destinations = append(out.Destinations, dst)
	}
	return out
}

// ---------------------------------------------------------------------------
// describe service

func describeService(e *resolve.Engine, s *mesh.Service) *ServiceDescription {
	var as assumptions
	x := e.X
	d := &ServiceDescription{
		Service:          DescObject{Kind: "Service", Namespace: s.Namespace, Name: s.Name},
		Host:             s.Host,
		Type:             s.Type,
		Headless:         s.Headless,
		Selector:         s.Selector,
		Ports:            []DescServicePort{},
		DestinationRules: []DescClientRule{},
		Routes:           []DescRoute{},
		Gateways:         []DescGateway{},
	}
	if s.Obj != nil {
		d.Service.Source = s.Obj.Pos.String()
	}

	for i := range s.Ports {
		sp := &s.Ports[i]
		set := e.EndpointSet(s, sp, nil)
		row := DescServicePort{Name: sp.Name, Port: sp.Port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol,
			TargetPort: sp.TargetPort.String(), Endpoints: []DescEndpoint{}}
		row.Reason = set.Reason
		if s.Obj != nil {
			row.By = []objects.Ref{s.Obj.Ref(sp.Path)}
		}
		as.add(set.Assumptions...)
		endpoint := func(ep resolve.Endpoint, full bool) DescEndpoint {
			w := ep.Workload
			tp := e.TargetPort(s, sp, w)
			sc := e.Sidecar(w)
			de := DescEndpoint{
				Workload: w.Key(), Kind: w.Kind, Proxy: sc.Kind, Identity: e.Identity(w),
				TargetPort: DescTargetPort{Port: tp.Port, Name: tp.Name, Found: tp.Found, Container: tp.Container, DescReason: as.dec(tp.Decision)},
				DescReason: as.dec(ep.Decision),
			}
			as.add(sc.Assumptions...)
			as.key(x, mesh.AssumeTrustDomain)
			if full && tp.Port != 0 {
				mt := mtlsOf(&as, e.ServerMTLS(w, tp.Port))
				de.MTLS = &mt
				ln := listeningOf(&as, e.Listening(w, tp.Port))
				de.Listening = &ln
			}
			return de
		}
		for _, ep := range set.Endpoints {
			row.Endpoints = append(row.Endpoints, endpoint(ep, true))
		}
		for _, ep := range set.Excluded {
			row.Excluded = append(row.Excluded, endpoint(ep, false))
		}
		d.Ports = append(d.Ports, row)
	}

	// Client namespaces: every namespace with workloads, and the root namespace.
	nsSet := map[string]bool{x.Mesh.RootNamespace: true}
	for _, w := range x.Workloads {
		nsSet[w.Namespace] = true
	}
	for _, ns := range objects.SortedKeys(nsSet) {
		clients := x.WorkloadsIn(ns)
		if len(clients) == 0 {
			// No workload of that namespace is in the input: a client without
			// labels stands for any of them.
			row := describeClientRule(e, &mesh.Workload{Kind: "Pod", Namespace: ns, Name: "(any)"}, s, &as)
			d.DestinationRules = append(d.DestinationRules, row)
			continue
		}
		// Clients of one namespace differ only through workloadSelector rules:
		// one row per distinct answer.
		var rows []DescClientRule
		var keys []string
		for _, w := range clients {
			dr := e.DestinationRule(w, s.Host)
			k := dr.Reason
			if dr.Rule != nil {
				k = dr.Rule.Name() + "|" + k
			}
			found := -1
			for i, kk := range keys {
				if kk == k {
					found = i
				}
			}
			if found < 0 {
				rows = append(rows, describeClientRule(e, w, s, &as))
				keys = append(keys, k)
				found = len(rows) - 1
			}
			rows[found].Clients = append(rows[found].Clients, w.Key())
		}
		if len(rows) == 1 {
			rows[0].Clients = nil // every client of the namespace
		}
		d.DestinationRules = append(d.DestinationRules, rows...)
	}

	gwNames := map[string]bool{}
	var gwOrder []string
	for _, r := range e.RoutesTo(s) {
		row := DescRoute{VirtualService: r.VirtualService.Namespace + "/" + r.VirtualService.Name, Kind: r.Kind, Route: r.Route,
			Port: r.Port, Subset: r.Subset, Weight: r.Weight, Gateways: r.Gateways, DescReason: as.dec(r.Decision)}
		if r.Delegate != nil {
			row.Delegate = r.Delegate.Namespace + "/" + r.Delegate.Name
		}
		d.Routes = append(d.Routes, row)
		for _, g := range r.Gateways {
			if g != "mesh" && !gwNames[g] {
				gwNames[g] = true
				gwOrder = append(gwOrder, g)
			}
		}
	}
	for _, g := range gwOrder {
		row := DescGateway{Gateway: g}
		ns, name, _ := strings.Cut(g, "/")
		for _, gw := range x.Gateways {
			if gw.Namespace != ns || gw.Name != name {
				continue
			}
			row.Found = true
			for _, srv := range gw.Spec.GetServers() {
				if srv.GetPort() != nil {
					s := fmt.Sprintf("%s/%d %s", srv.GetPort().GetProtocol(), srv.GetPort().GetNumber(), strings.Join(srv.GetHosts(), ","))
					if t := srv.GetTls(); t != nil {
						s += " tls " + t.GetMode().String()
					}
					row.Servers = append(row.Servers, s)
				}
			}
			row.Reason = fmt.Sprintf("VirtualService routes to %s are bound to Gateway %s", s.Host, g)
			if sel := gw.Spec.GetSelector(); len(sel) > 0 {
				row.Reason += fmt.Sprintf(", which selects gateway pods with %s", labelString(sel))
			}
			row.By = []objects.Ref{gw.Obj.Ref("spec.selector"), gw.Obj.Ref("spec.servers")}
			for _, w := range x.Workloads {
				if e.Sidecar(w).Kind != resolve.ProxyGateway {
					continue
				}
				selected := false
				for _, gs := range e.GatewayServers(w) {
					if gs.Gateway == gw {
						selected = true
						as.add(gs.Assumptions...)
					}
				}
				if selected {
					row.Workloads = append(row.Workloads, w.Key())
				}
			}
			if len(row.Workloads) == 0 {
				row.Reason += "; it configures no gateway workload in the input"
			} else {
				row.Reason += "; it configures " + strings.Join(row.Workloads, ", ")
			}
		}
		if !row.Found {
			row.Reason = fmt.Sprintf("a VirtualService route to %s is bound to Gateway %s, which is not in the input: no gateway serves that route", s.Host, g)
		}
		d.Gateways = append(d.Gateways, row)
	}
	d.Assumptions = as.sorted()
	return d
}

func describeClientRule(e *resolve.Engine, client *mesh.Workload, s *mesh.Service, as *assumptions) DescClientRule {
	dr := e.DestinationRule(client, s.Host)
	row := DescClientRule{Namespace: client.Namespace, DescReason: as.dec(dr.Decision)}
	if dr.Rule == nil {
		return row
	}
	row.DestinationRule = dr.Rule.Name()
	for _, sp := range s.Ports {
		t := dr.Rule.TLS(sp.Port, "")
		rt := DescRuleTLS{Port: sp.Port, Mode: t.Mode(), DescReason: DescReason{Reason: t.Reason}}
		switch {
		case t.Settings != nil:
			rt.By = []objects.Ref{t.From.Obj.Ref(objects.Join(t.Path, "mode"))}
		case t.From != nil:
			rt.By = []objects.Ref{t.Ref()}
		}
		if rt.Mode == "" {
			rt.Reason += "; auto mTLS decides per endpoint"
		}
		row.TLS = append(row.TLS, rt)
	}
	return row
}

// ---------------------------------------------------------------------------
// Text

// writeRefs prints the references that point into a file, one a line, except
// those already printed with shown (a reference to an object that is not in
// the input, such as the assumed ingress gateway, has no file to show).
func writeRefs(w io.Writer, indent string, refs []objects.Ref, shown ...objects.Ref) {
	for _, r := range refs {
		if r.File == "" || slices.Contains(shown, r) {
			continue
		}
		fmt.Fprintf(w, "%s%s\n", indent, refText(r))
	}
}

func writeWorkloadText(w io.Writer, d *WorkloadDescription) {
	wl := d.Workload
	src := wl.Source
	if wl.Implicit {
		src = "(assumed: not in input)"
	}
	fmt.Fprintf(w, "WORKLOAD  %s/%s (%s)  %s\n", wl.Namespace, wl.Name, wl.Kind, src)
	proxy := d.Proxy.Kind
	if d.Proxy.Ambient {
		proxy += " (ambient)"
	}
	fmt.Fprintf(w, "PROXY     %s: %s\n", proxy, d.Proxy.Reason)
	writeRefs(w, "            ", d.Proxy.By)
	fmt.Fprintf(w, "IDENTITY  %s (service account %s)\n", d.Identity, d.ServiceAccount)

	fmt.Fprintln(w, "\nPORTS (inbound)")
	if d.PeerAuthentication != nil {
		fmt.Fprintf(w, "  peer authentication: %s\n", d.PeerAuthentication.Reason)
		writeRefs(w, "      ", d.PeerAuthentication.By)
	}
	if len(d.Ports) == 0 {
		fmt.Fprintln(w, "  none: no container declares a port and no Service targets one")
	}
	for _, p := range d.Ports {
		head := fmt.Sprintf("%d", p.Port)
		if p.Protocol != "" {
			head += "/" + p.Protocol
		}
		if p.Name != "" {
			head += " " + p.Name
		}
		if p.Container != "" {
			head += ", container " + p.Container
		} else {
			head += ", declared by no container (a Service targets it)"
		}
		fmt.Fprintf(w, "  %s\n", head)
		if d.PeerAuthentication == nil {
			fmt.Fprintf(w, "    mtls       %s: %s\n", dash(p.MTLS.Mode), p.MTLS.Reason)
			writeRefs(w, "        ", p.MTLS.By)
		}
		fmt.Fprintf(w, "    listening  %s: %s\n", p.Listening.Listening, p.Listening.Reason)
		writeRefs(w, "        ", p.Listening.By)
	}

	if d.PeerAuthentication != nil {
		fmt.Fprintln(w, "\nGATEWAY SERVERS")
		if len(d.GatewayServers) == 0 {
			fmt.Fprintln(w, "  none: no Gateway resource selects this gateway, so it serves nothing")
		}
		for _, g := range d.GatewayServers {
			tls := ""
			if g.TLSMode != "" {
				tls = " tls " + g.TLSMode
			}
			fmt.Fprintf(w, "  %s server %d  %s/%d (listens on %d) hosts %s%s\n", g.Gateway, g.Index, g.Protocol, g.Port, g.ListenPort, strings.Join(g.Hosts, ","), tls)
			fmt.Fprintf(w, "    %s\n", g.Reason)
			writeRefs(w, "        ", g.By)
		}
	}

	fmt.Fprintln(w, "\nSERVICES SELECTING IT")
	if len(d.Services) == 0 {
		fmt.Fprintf(w, "  none: no Service in %s selects its pods\n", wl.Namespace)
	}
	for _, s := range d.Services {
		fmt.Fprintf(w, "  %s  %s\n", s.Service, strings.Join(s.Ports, ","))
		fmt.Fprintf(w, "    %s\n", s.Reason)
		writeRefs(w, "        ", s.By)
	}

	fmt.Fprintln(w, "\nAUTHORIZATION POLICIES (in evaluation order: CUSTOM, DENY, ALLOW)")
	if len(d.AuthorizationPolicies) == 0 {
		fmt.Fprintf(w, "  none: no AuthorizationPolicy selects %s/%s, so every request is allowed\n", wl.Namespace, wl.Name)
	}
	for _, p := range d.AuthorizationPolicies {
		state := ""
		if !p.Enforced {
			state = " (not enforced)"
		}
		fmt.Fprintf(w, "  %-6s %s/%s%s, %d rule(s): %s\n", p.Action, p.Namespace, p.Name, state, p.Rules, p.Reason)
		writeRefs(w, "        ", p.By)
	}
	if len(d.AuthorizationPolicies) > 0 && d.Proxy.Kind == resolve.ProxyNone {
		fmt.Fprintf(w, "  note: %s/%s has no Istio proxy, so nothing enforces these policies\n", wl.Namespace, wl.Name)
	}
	if d.AuthorizationNote != nil {
		fmt.Fprintf(w, "  note: %s\n", d.AuthorizationNote.Reason)
		writeRefs(w, "        ", d.AuthorizationNote.By)
	}

	fmt.Fprintln(w, "\nOUTBOUND (the DestinationRule and client TLS of its calls, per service)")
	if !d.Outbound.Proxy {
		fmt.Fprintf(w, "  %s\n", d.Outbound.Reason)
	}
	for _, dst := range d.Outbound.Destinations {
		fmt.Fprintf(w, "  %s\n", dst.Host)
		fmt.Fprintf(w, "    rule       %s: %s\n", orText(dst.DestinationRule, "none"), dst.Rule.Reason)
		writeRefs(w, "        ", dst.Rule.By)
		for _, t := range dst.ClientTLS {
			to := "no endpoint"
			if t.Endpoint != "" {
				to = fmt.Sprintf("%s:%d", t.Endpoint, t.TargetPort)
			}
			fmt.Fprintf(w, "    port %-5d %s to %s: %s\n", t.Port, dash(t.Mode), to, t.Reason)
			writeRefs(w, "        ", t.By, dst.Rule.By...)
		}
	}
	writeAssumptions(w, d.Assumptions)
}

func writeServiceText(w io.Writer, d *ServiceDescription) {
	kind := d.Type
	if d.Headless {
		kind += ", headless"
	}
	fmt.Fprintf(w, "SERVICE   %s/%s (%s)  %s\n", d.Service.Namespace, d.Service.Name, kind, d.Service.Source)
	fmt.Fprintf(w, "HOST      %s\n", d.Host)
	fmt.Fprintf(w, "SELECTOR  %s\n", labelString(d.Selector))

	fmt.Fprintln(w, "\nPORTS AND ENDPOINTS")
	if len(d.Ports) == 0 {
		fmt.Fprintln(w, "  none: the Service declares no port")
	}
	for _, p := range d.Ports {
		head := fmt.Sprintf("%d/%s -> targetPort %s", p.Port, p.Protocol, p.TargetPort)
		if p.Name != "" {
			head = p.Name + " " + head
		}
		if p.AppProtocol != "" {
			head += ", appProtocol " + p.AppProtocol
		}
		fmt.Fprintf(w, "  %s\n", head)
		writeRefs(w, "        ", p.By)
		if len(p.Endpoints) == 0 {
			fmt.Fprintf(w, "    no endpoints: %s\n", p.Reason)
		}
		for _, ep := range p.Endpoints {
			fmt.Fprintf(w, "    %s (%s)  %s, %s\n", ep.Workload, ep.Kind, ep.Proxy, ep.Identity)
			fmt.Fprintf(w, "      target port  %d: %s\n", ep.TargetPort.Port, ep.TargetPort.Reason)
			writeRefs(w, "          ", ep.TargetPort.By)
			if ep.MTLS != nil {
				fmt.Fprintf(w, "      mtls         %s: %s\n", dash(ep.MTLS.Mode), ep.MTLS.Reason)
				writeRefs(w, "          ", ep.MTLS.By)
			}
			if ep.Listening != nil {
				fmt.Fprintf(w, "      listening    %s: %s\n", ep.Listening.Listening, ep.Listening.Reason)
				writeRefs(w, "          ", ep.Listening.By)
			}
		}
		for _, ep := range p.Excluded {
			fmt.Fprintf(w, "    excluded %s (%s): %s\n", ep.Workload, ep.Kind, ep.Reason)
			writeRefs(w, "          ", ep.By)
		}
	}

	fmt.Fprintln(w, "\nDESTINATION RULES (per client namespace)")
	for _, r := range d.DestinationRules {
		who := "clients in " + r.Namespace
		if len(r.Clients) > 0 {
			who = strings.Join(r.Clients, ", ")
		}
		fmt.Fprintf(w, "  %s: %s\n", who, orText(r.DestinationRule, "no DestinationRule"))
		fmt.Fprintf(w, "    %s\n", r.Reason)
		writeRefs(w, "        ", r.By)
		for _, t := range r.TLS {
			mode := t.Mode
			if mode == "" {
				mode = "no tls"
			}
			fmt.Fprintf(w, "    port %-5d %s: %s\n", t.Port, mode, t.Reason)
			writeRefs(w, "        ", t.By)
		}
	}

	fmt.Fprintln(w, "\nROUTES TO IT (VirtualServices)")
	if len(d.Routes) == 0 {
		fmt.Fprintln(w, "  none: no VirtualService route names this service; sidecars reach it by its default route")
	}
	for _, r := range d.Routes {
		dst := ""
		if r.Port != 0 {
			dst += fmt.Sprintf(", port %d", r.Port)
		}
		if r.Subset != "" {
			dst += ", subset " + r.Subset
		}
		fmt.Fprintf(w, "  %s %s (%s, weight %d%s) gateways %s\n", r.VirtualService, r.Route, r.Kind, r.Weight, dst, strings.Join(r.Gateways, ","))
		fmt.Fprintf(w, "    %s\n", r.Reason)
		writeRefs(w, "        ", r.By)
	}

	fmt.Fprintln(w, "\nGATEWAYS ROUTING TO IT")
	if len(d.Gateways) == 0 {
		fmt.Fprintln(w, "  none: no route to it is bound to a Gateway")
	}
	for _, g := range d.Gateways {
		fmt.Fprintf(w, "  %s  %s\n", g.Gateway, strings.Join(g.Servers, "; "))
		fmt.Fprintf(w, "    %s\n", g.Reason)
		writeRefs(w, "        ", g.By)
	}
	writeAssumptions(w, d.Assumptions)
}

func writeAssumptions(w io.Writer, as []string) {
	if len(as) == 0 {
		return
	}
	fmt.Fprintln(w, "\nASSUMPTIONS")
	for _, s := range as {
		fmt.Fprintf(w, "  - %s\n", s)
	}
}

func orText(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
