package html

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/matrix"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Verdict colours, shared by the edges and the legend.
const (
	colourMTLS      = "#2e9e44"
	colourTLS       = "#1f77b4"
	colourPlaintext = "#e0a100"
	colourFail      = "#d62728"
	colourDenied    = "#8e44ad"
	colourIngress   = "#9aa0a6"
)

// Graph is the mesh laid out for SVG, in a deterministic grid: namespaces
// (or, aggregated, namespace nodes) in rows of a few columns; inside a
// namespace, clients on the left and services on the right.
type Graph struct {
	Width, Height int
	Groups        []Box
	Nodes         []Node
	Edges         []Edge
	Aggregated    bool

	data []EdgeData
	info map[string]Info
}

// Box is a namespace group.
type Box struct {
	Label      string
	X, Y, W, H int
}

// Node is a workload, a service, an external client or (aggregated) a
// namespace.
type Node struct {
	ID, Label, Sub, Class, Title string
	X, Y, W, H                   int
}

// Edge is one client -> service line, the worst of its paths.
type Edge struct {
	ID, D, Stroke, Class string
	Result, Security     string
	Cause                string
	FromLabel, ToLabel   string
	Width                float64
	// Failing counts the failing and denied paths behind the edge.
	Failing int64
	// Clickable is false for the neutral line from external to its gateway.
	Clickable bool
}

// EdgeData is what the script shows for an edge.
type EdgeData struct {
	ID       string        `json:"id"`
	From     string        `json:"from"`
	To       string        `json:"to"`
	Result   string        `json:"result"`
	Security string        `json:"security"`
	Cause    string        `json:"cause"`
	Counts   matrix.Counts `json:"counts"`
	Paths    []int         `json:"paths"`
}

// Info describes a node for its tooltip and the filter.
type Info struct {
	Label  string            `json:"label"`
	Kind   string            `json:"kind"`
	Labels map[string]string `json:"labels,omitempty"`
}

func colour(result, security string) (string, string) {
	switch result {
	case trace.ResultOK:
		switch security {
		case "mtls":
			return colourMTLS, "v-mtls"
		case "tls":
			return colourTLS, "v-tls"
		}
		return colourPlaintext, "v-plaintext"
	case trace.ResultDenied:
		return colourDenied, "v-denied"
	}
	return colourFail, "v-fail"
}

func rank(result string) int {
	switch result {
	case trace.ResultOK:
		return 0
	case trace.ResultDenied:
		return 1
	}
	return 2
}

const (
	nodeW, nodeH, rowH = 200, 24, 32
	boxPad, boxHead    = 12, 30
	colGap             = 90
	boxGap             = 40
)

// Layout places m's clients and targets.
func Layout(m *matrix.Matrix) *Graph {
	if m.Aggregated {
		return layoutAggregated(m)
	}
	return layoutDetail(m)
}

type edgeAcc struct {
	from, to string
	via      bool
	EdgeData
}

func layoutDetail(m *matrix.Matrix) *Graph {
	g := &Graph{info: map[string]Info{}}
	const outside = "\x00outside"
	type group struct {
		left, right []string // node keys
	}
	groups := map[string]*group{}
	grp := func(ns string) *group {
		if groups[ns] == nil {
			groups[ns] = &group{}
		}
		return groups[ns]
	}
	nodeOf := map[string]*Node{}
	addNode := func(key, ns string, right bool, n Node) {
		if nodeOf[key] != nil {
			return
		}
		n.ID = fmt.Sprintf("n%d", len(nodeOf))
		nodeOf[key] = &n
		if right {
			grp(ns).right = append(grp(ns).right, key)
		} else {
			grp(ns).left = append(grp(ns).left, key)
		}
	}
	clients := map[string]matrix.Client{}
	for _, c := range m.Clients {
		clients[c.ID] = c
		if c.Kind == matrix.KindExternal {
			addNode(c.ID, outside, false, Node{Label: "external", Sub: "via " + c.Gateway, Class: "node external", Title: c.ID})
			gns, gname, _ := strings.Cut(c.Gateway, "/")
			addNode("gw:"+c.Gateway, gns, false, Node{Label: gname, Sub: "gateway", Class: "node gateway", Title: c.Gateway + " (gateway)"})
			g.info[nodeOf[c.ID].ID] = Info{Label: c.ID, Kind: c.Kind}
			g.info[nodeOf["gw:"+c.Gateway].ID] = Info{Label: c.Gateway, Kind: "gateway"}
			continue
		}
		title := c.ID + " (" + c.Kind + ", proxy: " + c.Proxy + ")"
		keys := make([]string, 0, len(c.Labels))
		for k := range c.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			title += "\n" + k + "=" + c.Labels[k]
		}
		key := "w:" + c.ID
		if c.Proxy == "gateway" {
			key = "gw:" + c.ID
		}
		addNode(key, c.Namespace, false, Node{Label: c.Name, Sub: c.Kind + " · " + c.Proxy, Class: "node workload proxy-" + c.Proxy, Title: title})
		g.info[nodeOf[key].ID] = Info{Label: c.ID, Kind: c.Kind, Labels: c.Labels}
	}
	svcKey := map[string]string{}
	for _, t := range m.Targets {
		if t.Service == "" {
			key := "h:" + t.ID
			svcKey[t.ID] = key
			addNode(key, outside, true, Node{Label: t.ID, Sub: "no Service", Class: "node service unresolved", Title: t.ID + " (a route that reaches no Service)"})
			g.info[nodeOf[key].ID] = Info{Label: t.ID, Kind: "host"}
			continue
		}
		key := "s:" + t.Namespace + "/" + t.Service
		svcKey[t.ID] = key
		if n := nodeOf[key]; n != nil {
			n.Sub += fmt.Sprintf(", %d", t.Port)
			n.Title += fmt.Sprintf(", %d", t.Port)
			continue
		}
		addNode(key, t.Namespace, true, Node{Label: t.Service, Sub: fmt.Sprintf("Service :%d", t.Port), Class: "node service",
			Title: fmt.Sprintf("Service %s/%s ports %d", t.Namespace, t.Service, t.Port)})
		g.info[nodeOf[key].ID] = Info{Label: t.Namespace + "/" + t.Service, Kind: "Service"}
	}

	// Place the groups: outside first, then namespaces by name.
	names := make([]string, 0, len(groups))
	for ns := range groups {
		if ns != outside {
			names = append(names, ns)
		}
	}
	slices.Sort(names)
	if groups[outside] != nil {
		names = append([]string{outside}, names...)
	}
	cols := max(1, min(3, int(math.Ceil(math.Sqrt(float64(len(names)))))))
	boxW := 2*boxPad + 2*nodeW + colGap
	y, rowMax := boxGap/2, 0
	for i, ns := range names {
		col := i % cols
		if col == 0 && i > 0 {
			y += rowMax + boxGap
			rowMax = 0
		}
		gr := groups[ns]
		h := boxHead + max(len(gr.left), len(gr.right))*rowH + boxPad
		x := boxGap/2 + col*(boxW+boxGap)
		label := ns
		if ns == outside {
			label = "outside the cluster"
		}
		g.Groups = append(g.Groups, Box{Label: label, X: x, Y: y, W: boxW, H: h})
		for j, k := range gr.left {
			n := nodeOf[k]
			n.X, n.Y, n.W, n.H = x+boxPad, y+boxHead+j*rowH, nodeW, nodeH
		}
		for j, k := range gr.right {
			n := nodeOf[k]
			n.X, n.Y, n.W, n.H = x+boxPad+nodeW+colGap, y+boxHead+j*rowH, nodeW, nodeH
		}
		rowMax = max(rowMax, h)
		g.Width = max(g.Width, x+boxW+boxGap/2)
	}
	g.Height = y + rowMax + boxGap/2
	for _, ns := range names {
		for _, k := range append(slices.Clone(groups[ns].left), groups[ns].right...) {
			g.Nodes = append(g.Nodes, *nodeOf[k])
		}
	}

	// Edges: one per client and Service, the worst of its cells.
	acc := map[[2]string]*edgeAcc{}
	var order [][2]string
	for _, c := range m.Cells {
		cl := clients[c.Client]
		from := "w:" + c.Client
		if cl.Kind == matrix.KindExternal {
			from = "gw:" + cl.Gateway
		} else if cl.Proxy == "gateway" {
			from = "gw:" + c.Client
		}
		to := svcKey[c.Target]
		k := [2]string{c.Client, to}
		a := acc[k]
		if a == nil {
			a = &edgeAcc{from: from, to: to, EdgeData: EdgeData{From: c.Client, To: strings.TrimPrefix(strings.TrimPrefix(to, "s:"), "h:"),
				Result: c.Result, Security: c.Security, Cause: c.Cause}}
			acc[k] = a
			order = append(order, k)
		} else if rank(c.Result) > rank(a.Result) {
			a.Result, a.Security, a.Cause = c.Result, c.Security, c.Cause
		}
		addCounts(&a.Counts, c.Counts)
		a.Paths = append(a.Paths, c.Paths...)
	}
	for _, k := range order {
		a := acc[k]
		a.ID = fmt.Sprintf("e%d", len(g.data))
		g.data = append(g.data, a.EdgeData)
		g.Edges = append(g.Edges, edgeFor(a, nodeOf[a.from], nodeOf[a.to], 1.6))
	}
	// The neutral line from each external client into its gateway.
	for _, c := range m.Clients {
		if c.Kind == matrix.KindExternal {
			s, t := nodeOf[c.ID], nodeOf["gw:"+c.Gateway]
			g.Edges = append(g.Edges, Edge{ID: "in-" + s.ID, D: curve(s, t), Stroke: colourIngress, Class: "edge ingress",
				FromLabel: "external", ToLabel: c.Gateway, Width: 1.6, Result: "ingress"})
		}
	}
	sortEdges(g.Edges)
	return g
}

func addCounts(a *matrix.Counts, b matrix.Counts) {
	a.Paths += b.Paths
	a.OK += b.OK
	a.Fail += b.Fail
	a.Denied += b.Denied
	a.MTLS += b.MTLS
	a.Plaintext += b.Plaintext
	a.TLS += b.TLS
}

func edgeFor(a *edgeAcc, s, t *Node, width float64) Edge {
	stroke, class := colour(a.Result, a.Security)
	d := curve(s, t)
	if s == t {
		d = loop(s)
	}
	return Edge{ID: a.ID, D: d, Stroke: stroke, Class: "edge " + class, Result: a.Result, Security: a.Security, Cause: a.Cause,
		FromLabel: a.From, ToLabel: a.To, Width: width, Clickable: true, Failing: a.Counts.Fail + a.Counts.Denied}
}

// curve joins the right side of s to the left side of t.
func curve(s, t *Node) string {
	x1, y1 := s.X+s.W, s.Y+s.H/2
	x2, y2 := t.X, t.Y+t.H/2
	if t.X+t.W <= s.X {
		// t is left of s: leave from the left, arrive on the right.
		x1, x2 = s.X, t.X+t.W
		dx := max(40, (x1-x2)/2)
		return fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, x1-dx, y1, x2+dx, y2, x2, y2)
	}
	dx := max(40, abs(x2-x1)/2)
	return fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, x1+dx, y1, x2-dx, y2, x2, y2)
}

// loop is a self edge above a node.
func loop(n *Node) string {
	x, y := n.X+n.W-30, n.Y
	return fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x, y, x-10, y-34, x+30, y-34, x+20, y)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// sortEdges draws good edges first so that failing ones are on top.
func sortEdges(es []Edge) {
	slices.SortStableFunc(es, func(a, b Edge) int {
		ra, rb := rank(a.Result), rank(b.Result)
		if !a.Clickable {
			ra = -1
		}
		if !b.Clickable {
			rb = -1
		}
		return cmp.Compare(ra, rb)
	})
}

func layoutAggregated(m *matrix.Matrix) *Graph {
	g := &Graph{Aggregated: true, info: map[string]Info{}}
	type nodeSpec struct {
		key, label, sub, class string
		workloads, ports       int
	}
	specs := map[string]*nodeSpec{}
	var keys []string
	add := func(key, label, class string) *nodeSpec {
		if s := specs[key]; s != nil {
			return s
		}
		s := &nodeSpec{key: key, label: label, class: class}
		specs[key] = s
		keys = append(keys, key)
		return s
	}
	for _, c := range m.Clients {
		if c.Kind == matrix.KindExternal {
			add("x:"+c.ID, "external", "node external").sub = "via " + c.Gateway
			continue
		}
		add("ns:"+c.ID, c.ID, "node namespace").workloads = c.Workloads
	}
	for _, t := range m.Targets {
		if t.Service == "" && t.Ports == 0 {
			add("h:"+t.ID, t.ID, "node service unresolved").sub = "no Service"
			continue
		}
		add("ns:"+t.ID, t.ID, "node namespace").ports = t.Ports
	}
	slices.SortFunc(keys, func(a, b string) int {
		// external first, then namespaces, then unresolved hosts.
		order := func(k string) int { return strings.Index("xnh", k[:1]) }
		return cmp.Or(cmp.Compare(order(a), order(b)), strings.Compare(a, b))
	})
	const w, h, cellW, cellH = 190, 50, 250, 100
	cols := max(1, int(math.Ceil(math.Sqrt(float64(len(keys))*1.6))))
	nodeOf := map[string]*Node{}
	for i, k := range keys {
		s := specs[k]
		n := &Node{ID: fmt.Sprintf("n%d", i), Label: s.label, Class: s.class,
			X: boxGap + (i%cols)*cellW, Y: boxGap + (i/cols)*cellH, W: w, H: h}
		n.Sub = s.sub
		if s.class == "node namespace" {
			n.Sub = fmt.Sprintf("%d workloads · %d service ports", s.workloads, s.ports)
		}
		n.Title = s.label + " (" + n.Sub + ")"
		nodeOf[k] = n
		g.Nodes = append(g.Nodes, *n)
		g.info[n.ID] = Info{Label: s.label, Kind: strings.TrimPrefix(s.class, "node ")}
		g.Width = max(g.Width, n.X+w+boxGap)
		g.Height = max(g.Height, n.Y+h+boxGap)
	}
	for _, c := range m.Cells {
		from := "ns:" + c.Client
		if specs[from] == nil {
			from = "x:" + c.Client
		}
		to := "ns:" + c.Target
		if specs[to] == nil {
			to = "h:" + c.Target
		}
		a := &edgeAcc{EdgeData: EdgeData{ID: fmt.Sprintf("e%d", len(g.data)), From: c.Client, To: c.Target,
			Result: c.Result, Security: c.Security, Cause: c.Cause, Counts: c.Counts, Paths: c.Paths}}
		g.data = append(g.data, a.EdgeData)
		// Width grows with the paths of the edge's verdict: a namespace pair
		// with one failing path among thousands is red but thin.
		n := c.Counts.OK
		if c.Result != trace.ResultOK {
			n = c.Counts.Fail + c.Counts.Denied
		}
		width := 1 + math.Round(math.Log10(float64(max(1, n)))*10)/10
		g.Edges = append(g.Edges, edgeFor(a, nodeOf[from], nodeOf[to], width))
	}
	sortEdges(g.Edges)
	return g
}
