// Package matrix is the mesh seen as a table: every client (workloads with and
// without sidecars, gateways, and "external" for the routes that enter through
// a gateway) against every Service port, with the verdict, its cause and the
// security of each cell. It is built from package paths, so a cell and
// `meshdoctor trace` of the same request cannot disagree, and it is the model
// the text, JSON and HTML renderers read.
//
// A small mesh is shown workload by workload. A large one (more pairs than
// Options.MaxPairs) is aggregated by namespace: rows are client namespaces,
// columns the namespaces of the Services, and each cell counts its paths.
package matrix

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/paths"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// DefaultMaxPairs is the largest number of (client, service port) pairs shown
// one by one; above it the matrix is aggregated by namespace.
const DefaultMaxPairs = 5000

// Client kinds besides the workload kinds (Deployment, Pod, ...).
const (
	KindExternal  = "external"
	KindNamespace = "Namespace"
)

// Options select and shape the matrix.
type Options struct {
	// Namespace keeps the paths whose client or Service is in it ("" all).
	Namespace string
	// From keeps the paths of some clients: NS/NAME (a workload), NS (every
	// workload of a namespace) or "external" (the routes of the gateways).
	From string
	// To keeps the paths to some Services: NS/NAME, NS/NAME:PORT, NAME.NS,
	// the Service's FQDN, or NS (every Service of a namespace).
	To string
	// MaxPairs is the largest number of pairs shown one by one
	// (0: DefaultMaxPairs; negative: never aggregate).
	MaxPairs int
	// Aggregate aggregates by namespace whatever the size.
	Aggregate bool
	// Hops keeps every hop of each path's trace (by default only the failing
	// hop, as package paths does). An aggregated matrix keeps the failing hop
	// only, whatever Hops says: it lists thousands of failing paths.
	Hops bool
	// Fixes is the number of failing paths whose fixes are searched and
	// verified; each verification rebuilds the mesh, so it is bounded and done
	// only when the matrix is not aggregated.
	Fixes int
	// Workers is passed to paths.All.
	Workers int
}

// Matrix is the model every renderer reads. Its JSON is documented in
// docs/matrix.md; field names are stable.
type Matrix struct {
	// Aggregated says rows and columns are namespaces.
	Aggregated bool     `json:"aggregated"`
	Summary    Summary  `json:"summary"`
	Clients    []Client `json:"clients"`
	Targets    []Target `json:"targets"`
	Cells      []Cell   `json:"cells"`
	// Paths are the decisions: each is one request traced once and shared by
	// every client of its class. Aggregated, only the failing ones are kept.
	Paths []Path `json:"paths"`
	// FixesSkipped counts failing paths whose fixes were not searched
	// (Options.Fixes, or aggregation).
	FixesSkipped int `json:"fixes_skipped,omitempty"`
}

// Summary counts paths, each (client, service port) pair or gateway route once.
type Summary struct {
	Counts
	Clients     int              `json:"clients"`
	Targets     int              `json:"targets"`
	Evaluations int              `json:"evaluations"`
	Causes      map[string]int64 `json:"causes"`
}

// Counts counts the paths of a cell or of the whole matrix by result and by
// the security of the paths that succeed.
type Counts struct {
	Paths     int64 `json:"paths"`
	OK        int64 `json:"ok"`
	Fail      int64 `json:"fail"`
	Denied    int64 `json:"denied"`
	MTLS      int64 `json:"mtls"`
	Plaintext int64 `json:"plaintext"`
	TLS       int64 `json:"tls"`
}

func (c *Counts) add(t *trace.Trace, n int64) {
	c.Paths += n
	switch t.Result {
	case trace.ResultOK:
		c.OK += n
		switch t.Security {
		case "mtls":
			c.MTLS += n
		case "plaintext":
			c.Plaintext += n
		case "tls":
			c.TLS += n
		}
	case trace.ResultDenied:
		c.Denied += n
	default:
		c.Fail += n
	}
}

// Client is a row: a workload, "external" entering through one gateway, or
// (aggregated) a namespace.
type Client struct {
	// ID is NS/NAME for a workload, "external via NS/NAME" for the routes of
	// a gateway, NS for a namespace.
	ID        string `json:"id"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Kind is the workload's kind, "external", or "Namespace".
	Kind string `json:"kind"`
	// Proxy is "sidecar", "gateway" or "none" ("" for a namespace).
	Proxy string `json:"proxy,omitempty"`
	// Gateway is the gateway an external client enters through.
	Gateway string `json:"gateway,omitempty"`
	// Workloads is the number of workloads of a namespace row.
	Workloads int               `json:"workloads,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	File      string            `json:"file,omitempty"`
	Line      int               `json:"line,omitempty"`
}

// Target is a column: a Service port or (aggregated) a namespace. A gateway
// route that reaches no Service gets a column for the host and port it asked
// for, with an empty Service.
type Target struct {
	// ID is NS/NAME:PORT, NS when aggregated, or HOST:PORT for a route
	// that reaches no Service.
	ID        string `json:"id"`
	Namespace string `json:"namespace"`
	Service   string `json:"service,omitempty"`
	Port      int32  `json:"port,omitempty"`
	PortName  string `json:"port_name,omitempty"`
	Host      string `json:"host,omitempty"`
	// Ports is the number of Service ports of a namespace column.
	Ports int    `json:"ports,omitempty"`
	File  string `json:"file,omitempty"`
	Line  int    `json:"line,omitempty"`
}

// Cell is the verdict for one client and one target: the worst of its paths
// (fail, then denied, then ok), with that path's cause and security.
type Cell struct {
	Client   string `json:"client"`
	Target   string `json:"target"`
	Result   string `json:"result"`
	Security string `json:"security"`
	Cause    string `json:"cause,omitempty"`
	Counts   Counts `json:"counts"`
	// Paths are the IDs of the paths deciding the cell (aggregated: the
	// failing ones only).
	Paths []int `json:"paths"`
}

// Path is one decision: a request traced once, for the first of the clients
// that Istio treats the same way.
type Path struct {
	ID int `json:"id"`
	// From is the client the trace ran for; Clients how many share it.
	From    string `json:"from"`
	Clients int64  `json:"clients"`
	// Gateway is set for a gateway route: the gateway external clients
	// enter through; Route names the VirtualService route.
	Gateway string `json:"gateway,omitempty"`
	Route   string `json:"route,omitempty"`
	URL     string `json:"url"`
	Method  string `json:"method,omitempty"`
	// Target is the ID of the column of the path (aggregated: a namespace);
	// Service is the Service port reached, NS/NAME:PORT ("" when none).
	Target   string       `json:"target"`
	Service  string       `json:"service,omitempty"`
	Result   string       `json:"result"`
	Security string       `json:"security"`
	Cause    string       `json:"cause,omitempty"`
	Trace    *trace.Trace `json:"trace"`

	group *paths.Group
}

// rank orders results from best to worst.
func rank(result string) int {
	switch result {
	case trace.ResultOK:
		return 0
	case trace.ResultDenied:
		return 1
	}
	return 2
}

// Build evaluates every path of the mesh behind e and arranges them as a
// matrix. An error means a --from or --to that names nothing.
func Build(e *resolve.Engine, opts Options) (*Matrix, error) {
	x := e.X
	from, err := parseFrom(x, opts.From)
	if err != nil {
		return nil, err
	}
	to, err := parseTo(x, opts.To)
	if err != nil {
		return nil, err
	}
	popts := paths.Options{Hops: opts.Hops, Workers: opts.Workers, Service: to.service}
	if from != nil {
		popts.Client = from.client
		popts.NoGateways = !from.routes
	}
	res := paths.All(e, popts)

	// The paths kept: the --to port, and --from external keeps routes only.
	var groups []*paths.Group
	for _, g := range res.Groups {
		if !to.keepPort(g) || (from != nil && !g.Gateway && !from.mesh) {
			continue
		}
		groups = append(groups, g)
	}
	b := &builder{x: x, e: e, ns: opts.Namespace, proxies: map[*mesh.Workload]string{}}
	var pairs int64
	for _, g := range groups {
		pairs += int64(b.clientsShown(g))
	}
	maxPairs := cmp.Or(opts.MaxPairs, DefaultMaxPairs)
	// Empty lists are [] in JSON, never null.
	m := &Matrix{Aggregated: opts.Aggregate || (maxPairs > 0 && pairs > int64(maxPairs)),
		Clients: []Client{}, Targets: []Target{}, Cells: []Cell{}, Paths: []Path{}}
	m.Summary.Evaluations = res.Evaluations
	m.Summary.Causes = map[string]int64{}
	if m.Aggregated {
		b.aggregate(m, groups)
		trimHops(m)
	} else {
		b.detail(m, groups)
		b.fixes(m, opts.Fixes)
	}
	for _, p := range m.Paths {
		if p.Result != trace.ResultOK && len(p.Trace.Fixes) == 0 && !b.fixed[p.ID] {
			m.FixesSkipped++
		}
	}
	m.Summary.Clients, m.Summary.Targets = len(m.Clients), len(m.Targets)
	return m, nil
}

type builder struct {
	x       *mesh.Index
	e       *resolve.Engine
	ns      string
	proxies map[*mesh.Workload]string
	fixed   map[int]bool
}

func (b *builder) proxy(w *mesh.Workload) string {
	p, ok := b.proxies[w]
	if !ok {
		p = b.e.Sidecar(w).Kind
		b.proxies[w] = p
	}
	return p
}

// inNS says whether a path from a client in clientNS to g's Service is shown
// under Options.Namespace.
func (b *builder) inNS(clientNS string, g *paths.Group) bool {
	if b.ns == "" || clientNS == b.ns {
		return true
	}
	return g.Service != nil && g.Service.Namespace == b.ns
}

// clientsShown is the number of g's clients shown under Options.Namespace.
func (b *builder) clientsShown(g *paths.Group) int {
	if g.Gateway {
		if b.inNS("", g) {
			return 1
		}
		return 0
	}
	if b.ns == "" || (g.Service != nil && g.Service.Namespace == b.ns) {
		return g.Clients.Len()
	}
	return g.Clients.Namespaces()[b.ns]
}

func externalID(gw *mesh.Workload) string { return "external via " + gw.Key() }

func (b *builder) newPath(m *Matrix, g *paths.Group, target string) *Path {
	p := Path{
		ID: len(m.Paths), From: g.Clients.First().Key(), Clients: int64(g.Clients.Len()),
		URL: g.URL, Method: g.Method, Target: target,
		Result: g.Trace.Result, Security: g.Trace.Security, Cause: g.Trace.Cause,
		Trace: g.Trace, group: g,
	}
	if g.Service != nil && g.Port != nil {
		p.Service = fmt.Sprintf("%s:%d", g.Service.Key(), g.Port.Port)
	}
	if g.Gateway {
		p.Gateway = g.Clients.First().Key()
		p.From = trace.External
		if g.Route != nil {
			p.Route = g.Route.Route
		}
	}
	m.Paths = append(m.Paths, p)
	return &m.Paths[len(m.Paths)-1]
}

// targetOf is the column of a path, workload by workload.
func targetOf(g *paths.Group) Target {
	if g.Service == nil || g.Port == nil {
		host, port := g.URL, int32(0)
		if t, err := trace.ParseTarget(g.URL); err == nil {
			host, port = t.Host, t.Port
		}
		if g.Headers["Host"] != "" {
			host = g.Headers["Host"]
		}
		return Target{ID: fmt.Sprintf("%s:%d", host, port), Host: host, Port: port}
	}
	t := Target{
		ID: fmt.Sprintf("%s:%d", g.Service.Key(), g.Port.Port), Namespace: g.Service.Namespace,
		Service: g.Service.Name, Port: g.Port.Port, PortName: g.Port.Name, Host: g.Service.Host,
	}
	if g.Service.Obj != nil {
		pos := g.Service.Obj.Pos
		t.File, t.Line = pos.File, pos.Line
	}
	return t
}

func (b *builder) workloadClient(w *mesh.Workload) Client {
	c := Client{ID: w.Key(), Namespace: w.Namespace, Name: w.Name, Kind: w.Kind, Proxy: b.proxy(w), Labels: w.Labels}
	if w.Obj != nil {
		c.File, c.Line = w.Obj.Pos.File, w.Obj.Pos.Line
	}
	return c
}

type cellKey struct{ client, target string }

// detail fills m workload by workload.
func (b *builder) detail(m *Matrix, groups []*paths.Group) {
	clients := map[string]Client{}
	targets := map[string]Target{}
	cells := map[cellKey]*Cell{}
	add := func(client string, p *Path, n int64) {
		k := cellKey{client, p.Target}
		c := cells[k]
		if c == nil {
			c = &Cell{Paths: []int{}, Client: client, Target: p.Target, Result: p.Result, Security: p.Security, Cause: p.Cause}
			cells[k] = c
		} else if rank(p.Result) > rank(c.Result) {
			c.Result, c.Security, c.Cause = p.Result, p.Security, p.Cause
		}
		c.Counts.add(p.Trace, n)
		c.Paths = append(c.Paths, p.ID)
		m.Summary.Counts.add(p.Trace, n)
		if p.Cause != "" {
			m.Summary.Causes[p.Cause] += n
		}
	}
	for _, g := range groups {
		if b.clientsShown(g) == 0 {
			continue
		}
		t := targetOf(g)
		targets[t.ID] = t
		p := b.newPath(m, g, t.ID)
		if g.Gateway {
			gw := g.Clients.First()
			id := externalID(gw)
			clients[id] = Client{ID: id, Name: trace.External, Kind: KindExternal, Gateway: gw.Key()}
			add(id, p, 1)
			continue
		}
		shown := int64(0)
		g.Clients.Each(func(w *mesh.Workload) bool {
			if !b.inNS(w.Namespace, g) {
				return true
			}
			shown++
			if _, ok := clients[w.Key()]; !ok {
				clients[w.Key()] = b.workloadClient(w)
			}
			add(w.Key(), p, 1)
			return true
		})
		p.Clients = shown
	}
	for _, c := range clients {
		m.Clients = append(m.Clients, c)
	}
	slices.SortFunc(m.Clients, compareClients)
	for _, t := range targets {
		m.Targets = append(m.Targets, t)
	}
	slices.SortFunc(m.Targets, compareTargets)
	for _, c := range cells {
		m.Cells = append(m.Cells, *c)
	}
	b.sortCells(m)
}

// aggregate fills m namespace by namespace.
func (b *builder) aggregate(m *Matrix, groups []*paths.Group) {
	clients := map[string]*Client{}
	targets := map[string]*Target{}
	cells := map[cellKey]*Cell{}
	for _, w := range b.x.Workloads {
		if b.ns != "" && w.Namespace != b.ns {
			continue
		}
		if c := clients[w.Namespace]; c != nil {
			c.Workloads++
		} else {
			clients[w.Namespace] = &Client{ID: w.Namespace, Namespace: w.Namespace, Name: w.Namespace, Kind: KindNamespace, Workloads: 1}
		}
	}
	for _, s := range b.x.Services {
		if b.ns != "" && s.Namespace != b.ns {
			continue
		}
		if t := targets[s.Namespace]; t != nil {
			t.Ports += len(s.Ports)
		} else {
			targets[s.Namespace] = &Target{ID: s.Namespace, Namespace: s.Namespace, Ports: len(s.Ports)}
		}
	}
	usedC, usedT := map[string]bool{}, map[string]bool{}
	for _, g := range groups {
		tid := ""
		if g.Service != nil {
			tid = g.Service.Namespace
		} else {
			t := targetOf(g)
			tid = t.ID
			targets[tid] = &t
		}
		var p *Path
		add := func(client string, n int64) {
			k := cellKey{client, tid}
			c := cells[k]
			if c == nil {
				c = &Cell{Paths: []int{}, Client: client, Target: tid, Result: g.Trace.Result, Security: g.Trace.Security, Cause: g.Trace.Cause}
				cells[k] = c
			} else if rank(g.Trace.Result) > rank(c.Result) {
				c.Result, c.Security, c.Cause = g.Trace.Result, g.Trace.Security, g.Trace.Cause
			}
			c.Counts.add(g.Trace, n)
			m.Summary.Counts.add(g.Trace, n)
			if g.Trace.Cause != "" {
				m.Summary.Causes[g.Trace.Cause] += n
			}
			usedC[client], usedT[tid] = true, true
			if g.Trace.Result != trace.ResultOK {
				if p == nil {
					p = b.newPath(m, g, tid)
					p.Clients = 0
				}
				p.Clients += n
				c.Paths = append(c.Paths, p.ID)
			}
		}
		if g.Gateway {
			if !b.inNS("", g) {
				continue
			}
			gw := g.Clients.First()
			id := externalID(gw)
			clients[id] = &Client{ID: id, Name: trace.External, Kind: KindExternal, Gateway: gw.Key()}
			add(id, 1)
			continue
		}
		nss := g.Clients.Namespaces()
		keys := make([]string, 0, len(nss))
		for ns := range nss {
			if b.inNS(ns, g) {
				keys = append(keys, ns)
			}
		}
		slices.Sort(keys)
		for _, ns := range keys {
			if clients[ns] == nil {
				clients[ns] = &Client{ID: ns, Namespace: ns, Name: ns, Kind: KindNamespace}
			}
			add(ns, int64(nss[ns]))
		}
	}
	for id, c := range clients {
		if usedC[id] {
			m.Clients = append(m.Clients, *c)
		}
	}
	slices.SortFunc(m.Clients, compareClients)
	for id, t := range targets {
		if usedT[id] {
			m.Targets = append(m.Targets, *t)
		}
	}
	slices.SortFunc(m.Targets, compareTargets)
	for _, c := range cells {
		m.Cells = append(m.Cells, *c)
	}
	b.sortCells(m)
}

// trimHops keeps the failing hops of each path's trace.
func trimHops(m *Matrix) {
	for i := range m.Paths {
		p := &m.Paths[i]
		t := *p.Trace
		t.Hops = nil
		for _, h := range p.Trace.Hops {
			if h.Status == trace.HopFail {
				t.Hops = append(t.Hops, h)
			}
		}
		p.Trace = &t
	}
}

// fixes searches verified fixes for the first n failing paths.
func (b *builder) fixes(m *Matrix, n int) {
	b.fixed = map[int]bool{}
	for i := range m.Paths {
		p := &m.Paths[i]
		if p.Result == trace.ResultOK || n <= 0 {
			continue
		}
		n--
		g := p.group
		t, err := trace.Run(b.e, g.Clients.First().Key(), g.URL, trace.Options{Method: g.Method, Headers: g.Headers, AnyRequest: true})
		b.fixed[p.ID] = true
		if err != nil || t.Result != p.Result || t.Cause != p.Cause {
			// The full trace must tell the same story as the class's; if it
			// does not, keep the class's verdict and show no fixes.
			continue
		}
		p.Trace = t
	}
}

// compareClients puts external clients first, then workloads by namespace
// and name.
func compareClients(a, b Client) int {
	if ea, eb := a.Kind == KindExternal, b.Kind == KindExternal; ea != eb {
		if ea {
			return -1
		}
		return 1
	}
	return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
}

// compareTargets orders Service ports (or namespaces) by namespace, name and
// port, and puts the hosts of routes that reach no Service last.
func compareTargets(a, b Target) int {
	if ha, hb := a.Namespace == "", b.Namespace == ""; ha != hb {
		if ha {
			return 1
		}
		return -1
	}
	return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Service, b.Service),
		cmp.Compare(a.Port, b.Port), strings.Compare(a.ID, b.ID))
}

func (b *builder) sortCells(m *Matrix) {
	ci := map[string]int{}
	for i, c := range m.Clients {
		ci[c.ID] = i
	}
	ti := map[string]int{}
	for i, t := range m.Targets {
		ti[t.ID] = i
	}
	slices.SortFunc(m.Cells, func(a, b Cell) int {
		return cmp.Or(cmp.Compare(ci[a.Client], ci[b.Client]), cmp.Compare(ti[a.Target], ti[b.Target]))
	})
}

// Failing returns the paths that fail or are denied, worst first, then in
// path order.
func (m *Matrix) Failing() []Path {
	var out []Path
	for _, p := range m.Paths {
		if p.Result != trace.ResultOK {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b Path) int { return cmp.Compare(rank(b.Result), rank(a.Result)) })
	return out
}
