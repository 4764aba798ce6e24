package trace

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// Options refine a trace.
type Options struct {
	Method  string
	Headers map[string]string
	// Gateway is NS/NAME of the gateway an external client enters through
	// (default: the ingress gateway).
	Gateway string
	// NoFixes skips the search for fixes (used when verifying a fix).
	NoFixes bool
	// FailingHopsOnly keeps only the failing hop and skips writing the
	// details of the others (the verdict, cause and assumptions are the
	// same): what package paths asks for every path of a mesh.
	FailingHopsOnly bool
	// AnyRequest evaluates authorization for any request on the port, not
	// for this method and path (resolve.AuthzRequest.AnyRequest): what the
	// path checks ask, since callers' requests are not in the manifests.
	AnyRequest bool
	// Target, when set, is TO already parsed (ParseTarget): package paths
	// parses a Service port's URL once for all its callers.
	Target *Target
}

// request is the trace's working state.
type request struct {
	e        *resolve.Engine
	t        *Trace
	tgt      Target
	opts     Options
	client   *mesh.Workload
	sidecar  resolve.SidecarDecision
	external bool
	// decided along the way
	svc *mesh.Service
	// se is the ServiceEntry the route sends to, when the destination is not
	// a Kubernetes Service.
	se       *mesh.ServiceEntry
	sePort   int32
	port     *mesh.ServicePort
	host     string
	subset   string
	http     bool
	viaProxy bool
	// routeAction is the proxy's route action (resolve.Action*), which says
	// what an unknown host gets: PassthroughCluster, the 502 of
	// BlackHoleCluster, or (a route to a host without cluster) 503 NC.
	routeAction string
	failed      *failure
	assumed     []string
}

// failure is the first failing hop: it decides the verdict.
type failure struct {
	cause    string
	endpoint *mesh.Workload
	port     int32
	detail   string
	// inputs for fixes
	listen  *resolve.ListenDecision
	target  *resolve.TargetPortDecision
	tls     *resolve.ClientTLSDecision
	accept  *resolve.AcceptDecision
	authz   *resolve.AuthzDecision
	dr      *resolve.DRDecision
	mtlsDec *resolve.MTLSDecision
	// vs and vsPath: the route destination host that is in no registry.
	vs     *mesh.VirtualService
	vsPath string
	// portVS and portPath: the route destination port that portSvc lacks.
	portVS   *mesh.VirtualService
	portPath string
	portSvc  *mesh.Service
}

// Run traces one request from FROM (NAMESPACE/WORKLOAD or "external") to TO (a
// URL or HOST:PORT). An error means FROM or TO could not be resolved.
func Run(e *resolve.Engine, from, to string, opts Options) (*Trace, error) {
	var tgt Target
	if opts.Target != nil && opts.Target.Raw == to {
		tgt = *opts.Target
	} else {
		var err error
		if tgt, err = ParseTarget(to); err != nil {
			return nil, err
		}
	}
	r := &request{e: e, tgt: tgt, opts: opts, assumed: make([]string, 0, 8), t: &Trace{From: from, To: to, Hops: []Hop{}, Assumptions: []string{}, Fixes: []Fix{}}}
	if err := r.resolveClient(from); err != nil {
		return nil, err
	}
	if err := r.route(); err != nil {
		return nil, err
	}
	if r.failed == nil {
		if r.se != nil {
			r.serviceEntryDestination()
		} else {
			r.destination()
		}
	}
	r.verdict()
	r.t.Service, r.t.Port = r.svc, r.port
	if !opts.NoFixes && r.failed != nil {
		r.t.Fixes = r.fixes()
	}
	// r.assumed is the request's own: sorted in place, it becomes the
	// trace's list.
	r.t.Assumptions = resolve.SortAssumptionsInPlace(append(r.assumed, r.t.Assumptions...))
	return r.t, nil
}

// keep says whether passing hops are recorded.
func (r *request) keep() bool { return !r.opts.FailingHopsOnly }

func (r *request) hop(step, status, detail string, d resolve.Decision) {
	if status != HopFail && !r.keep() {
		r.assumed = append(r.assumed, d.Assumptions...)
		return
	}
	// A hop names a handful of objects: a quadratic dedup allocates only
	// the result (this runs for every path of a mesh in package paths).
	by := make([]objects.Ref, 0, len(d.By))
next:
	for _, ref := range d.By {
		for _, b := range by {
			if b == ref {
				continue next
			}
		}
		by = append(by, ref)
	}
	r.t.Hops = append(r.t.Hops, Hop{Step: step, Status: status, Detail: detail, Objects: by})
	r.assumed = append(r.assumed, d.Assumptions...)
}

func (r *request) resolveClient(from string) error {
	x := r.e.X
	if from == External {
		r.external = true
		gw, err := r.findGateway()
		if err != nil {
			return err
		}
		r.client = gw
	} else {
		w, err := FindWorkload(x, from)
		if err != nil {
			return err
		}
		r.client = w
	}
	r.sidecar = r.e.Sidecar(r.client)
	r.viaProxy = r.sidecar.HasProxy
	c := r.client
	// The engine's reason starts with the workload's key ("ns/name gets a
	// sidecar: ..."); the hop says it once.
	if !r.keep() {
		r.hop("client", HopInfo, "", r.sidecar.Decision)
		return nil
	}
	why := strings.TrimPrefix(r.sidecar.Reason, c.Key()+" ")
	var detail string
	switch {
	case r.external:
		detail = fmt.Sprintf("an external client enters through %s, which %s; the gateway's mTLS identity is %s", c.Key(), why, r.e.Identity(c))
	case r.sidecar.Kind == "gateway":
		detail = fmt.Sprintf("%s %s; its mTLS identity is %s", c.Key(), why, r.e.Identity(c))
	case r.sidecar.HasProxy:
		detail = fmt.Sprintf("%s %s %s; its mTLS identity is %s", c.Kind, c.Key(), why, r.e.Identity(c))
	default:
		detail = fmt.Sprintf("%s %s %s; it sends what the application sends (plaintext here), and no VirtualService or DestinationRule applies to it", c.Kind, c.Key(), why)
	}
	r.hop("client", HopInfo, detail, r.sidecar.Decision)
	return nil
}

// findGateway picks the gateway an external client enters through.
func (r *request) findGateway() (*mesh.Workload, error) {
	x := r.e.X
	if r.opts.Gateway != "" {
		return FindWorkload(x, r.opts.Gateway)
	}
	var found []*mesh.Workload
	for _, w := range x.Workloads {
		if w.Labels["istio"] == "ingressgateway" {
			found = append(found, w)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no ingress gateway (a workload labelled istio=ingressgateway) in the input; name one with --gateway NS/NAME")
	}
	sort.SliceStable(found, func(i, j int) bool {
		// the root namespace's gateway first, as the default install has it
		return found[i].Namespace == x.Mesh.RootNamespace && found[j].Namespace != x.Mesh.RootNamespace
	})
	return found[0], nil
}

func (r *request) fail(cause string, f *failure) {
	if r.failed != nil {
		return
	}
	if f == nil {
		f = &failure{}
	}
	f.cause = cause
	r.failed = f
}

func (r *request) route() error {
	req := resolve.Request{
		Scheme:  r.tgt.Scheme,
		Host:    r.tgt.Host,
		Port:    r.tgt.Port,
		Path:    r.tgt.Path,
		Method:  r.opts.Method,
		Headers: r.opts.Headers,
	}
	if req.Method == "" {
		req.Method = "GET"
	}
	if h, ok := r.opts.Headers["Host"]; ok {
		req.Host = h
	}
	var rd resolve.RouteDecision
	switch {
	case r.sidecar.Kind == "gateway":
		rd = r.e.RouteFromGateway(r.client, req)
	case r.sidecar.HasProxy:
		rd = r.e.RouteFromSidecar(r.client, req)
	default:
		// No proxy: the application resolves the name with DNS and connects
		// through kube-proxy; no VirtualService or DestinationRule applies.
		svc, fqdn, d := r.e.ResolveHost(r.client.Namespace, r.tgt.Host)
		if svc == nil {
			r.hop("route", HopFail, fmt.Sprintf("%s does not resolve to a Service in the input", r.tgt.Host), d)
			r.fail(CauseUnknownHost, &failure{detail: d.Reason})
			return nil
		}
		port, err := r.servicePort(svc, r.tgt.Port)
		if err != nil {
			r.hop("route", HopFail, err.Error(), d)
			r.fail(CauseUnknownHost, &failure{detail: err.Error()})
			return nil
		}
		r.svc, r.port, r.host = svc, port, fqdn
		r.http = isHTTP(port, r.tgt.Scheme)
		r.hop("route", HopOK, fmt.Sprintf("DNS resolves %s to Service %s; kube-proxy picks a pod (no proxy, so no routing rules)", r.tgt.Host, svc.Key()), d)
		return nil
	}
	r.routeAction = rd.Action
	if !rd.Matched {
		cause := CauseNoRoute
		if rd.UnknownHost {
			cause = CauseUnknownHost
		}
		r.hop("route", HopFail, rd.Reason, rd.Decision)
		r.fail(cause, &failure{detail: rd.Reason})
		return nil
	}
	if len(rd.Destinations) > 0 && rd.Service == nil && rd.ServiceEntry != nil && !rd.UnknownHost {
		// A ServiceEntry host: in the registry, outside Kubernetes.
		r.hop("route", HopOK, rd.Reason, rd.Decision)
		dest := rd.Destinations[0]
		r.se, r.host, r.subset, r.sePort = rd.ServiceEntry, dest.Host, dest.Subset, dest.Port
		if r.sePort == 0 {
			r.sePort = r.tgt.Port
		}
		r.http = rd.HTTP
		return nil
	}
	if len(rd.Destinations) == 0 || rd.Service == nil {
		// Point at the destination host that is in no registry.
		f := &failure{detail: rd.Reason}
		if vs := rd.VirtualService; vs != nil && rd.Delegate == nil && rd.HTTPRoute >= 0 {
			rd.By = append([]objects.Ref(nil), rd.By...)
			for j, ds := range rd.Destinations {
				if ds.Service == nil && ds.ServiceEntry == nil {
					path := objects.Path("spec", "http", rd.HTTPRoute, "route", j, "destination", "host")
					rd.By = append(rd.By, vs.Obj.Ref(path))
					if f.vs == nil {
						f.vs, f.vsPath = vs, path
					}
				}
			}
		}
		r.hop("route", HopFail, rd.Reason, rd.Decision)
		r.fail(CauseUnknownHost, f)
		return nil
	}
	r.hop("route", HopOK, rd.Reason, rd.Decision)
	dest := rd.Destinations[0]
	r.svc, r.host, r.subset = rd.Service, dest.Host, dest.Subset
	p := dest.Port
	if p == 0 {
		p = r.tgt.Port
	}
	port, err := r.servicePort(rd.Service, p)
	if err != nil {
		// A route whose destination names a port the Service lacks: pilot
		// names the cluster outbound|PORT||host (route/route.go
		// GetDestinationCluster) but builds clusters only for the Service's
		// ports, so Envoy answers 503 NC. The route's port is what to fix.
		f := &failure{detail: err.Error()}
		by := []objects.Ref{rd.Service.Obj.Ref("spec.ports")}
		if vs := rd.VirtualService; vs != nil && vs.Obj != nil && vs.Spec != nil && rd.Delegate == nil && dest.Port != 0 {
			// The route's destination that names this port: the only one,
			// or no field is cited (and no fix made).
			var ports []uint32
			var kind string
			var idx int
			switch {
			case rd.HTTPRoute >= 0 && rd.HTTPRoute < len(vs.Spec.GetHttp()):
				kind, idx = "http", rd.HTTPRoute
				for _, d := range vs.Spec.GetHttp()[idx].GetRoute() {
					ports = append(ports, d.GetDestination().GetPort().GetNumber())
				}
			case rd.TCPRoute >= 0 && rd.TCPRoute < len(vs.Spec.GetTcp()):
				kind, idx = "tcp", rd.TCPRoute
				for _, d := range vs.Spec.GetTcp()[idx].GetRoute() {
					ports = append(ports, d.GetDestination().GetPort().GetNumber())
				}
			case rd.TLSRoute >= 0 && rd.TLSRoute < len(vs.Spec.GetTls()):
				kind, idx = "tls", rd.TLSRoute
				for _, d := range vs.Spec.GetTls()[idx].GetRoute() {
					ports = append(ports, d.GetDestination().GetPort().GetNumber())
				}
			}
			var path string
			for j, pn := range ports {
				if pn != uint32(dest.Port) {
					continue
				}
				if path != "" {
					path = "" // several destinations name it
					break
				}
				path = objects.Path("spec", kind, idx, "route", j, "destination", "port", "number")
			}
			if path != "" {
				by = append([]objects.Ref{vs.Obj.Ref(path)}, by...)
				f.portVS, f.portPath, f.portSvc = vs, path, rd.Service
			}
		}
		r.hop("destination", HopFail, err.Error(), resolve.Decision{By: by})
		r.fail(CauseUnknownHost, f)
		return nil
	}
	r.port = port
	r.http = rd.HTTP || isHTTP(port, r.tgt.Scheme)
	return nil
}

// servicePort finds the service port a request on port p uses (0: the only port).
func (r *request) servicePort(svc *mesh.Service, p int32) (*mesh.ServicePort, error) {
	if p == 0 {
		if len(svc.Ports) == 1 {
			return &svc.Ports[0], nil
		}
		return nil, fmt.Errorf("Service %s has %d ports: say which one (HOST:PORT)", svc.Key(), len(svc.Ports))
	}
	if sp := svc.Port(p); sp != nil {
		return sp, nil
	}
	var ports []string
	for _, sp := range svc.Ports {
		ports = append(ports, fmt.Sprint(sp.Port))
	}
	return nil, fmt.Errorf("Service %s has no port %d (ports: %s)", svc.Key(), p, strings.Join(ports, ", "))
}

// ServiceURL is the request a caller of svc on port p makes in a path
// enumeration: http://FQDN:PORT/ when the port carries HTTP by its name or
// appProtocol, else FQDN:PORT (TCP; an unnamed port is sniffed, and a TCP
// client is the general case).
func ServiceURL(svc *mesh.Service, p *mesh.ServicePort) string {
	hp := fmt.Sprintf("%s:%d", svc.Host, p.Port)
	if isHTTP(p, "") {
		return "http://" + hp + "/"
	}
	return hp
}

// isHTTP says whether a service port carries HTTP: Istio's protocol selection
// from the port name prefix or appProtocol (https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/);
// an unnamed port is sniffed, which detects HTTP when the client speaks it.
func isHTTP(p *mesh.ServicePort, scheme string) bool {
	proto := strings.ToLower(p.AppProtocol)
	if proto == "" {
		proto = strings.ToLower(p.Name)
		if i := strings.IndexByte(proto, '-'); i >= 0 {
			proto = proto[:i]
		}
	}
	switch proto {
	case "http", "http2", "grpc", "grpc-web", "h2c", "kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss":
		return true
	case "tcp", "tls", "https", "mongo", "mysql", "redis":
		return false
	}
	return scheme == "http" || scheme == "https"
}
