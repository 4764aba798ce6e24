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
	// LX, LY anchor the label of a row or column of an aggregated matrix.
	LX, LY int
}

// Edge is one client -> service line, the worst of its paths.
type Edge struct {
	ID, D, Stroke, Class string
	Result, Security     string
	Cause                string
	FromLabel, ToLabel   string
	Width                float64
	Counts               matrix.Counts
	// Failing counts the failing and denied paths behind the edge.
	Failing int64
	// Clickable is false for the neutral line from external to its gateway.
	Clickable bool
	// X, Y, W, H place the square of an aggregated matrix (D is empty then),
	// Opacity its fill.
	X, Y, W, H int
	Opacity    float64
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
	d := ""
	switch {
	case s == nil || t == nil:
	case s == t:
		d = loop(s)
	default:
		d = curve(s, t)
	}
	return Edge{ID: a.ID, D: d, Stroke: stroke, Class: "edge " + class, Result: a.Result, Security: a.Security, Cause: a.Cause,
		FromLabel: a.From, ToLabel: a.To, Width: width, Clickable: true, Failing: a.Counts.Fail + a.Counts.Denied, Counts: a.Counts}
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

// layoutAggregated draws a large mesh as its adjacency matrix: client
// namespaces (and external clients) as rows, the namespaces of the Services
// (and hosts no Service has) as columns, one square per pair that has paths.
// A node-link drawing of every namespace pair is a hairball at a thousand
// services; the matrix keeps every pair visible and clickable. A square's
// colour is its worst verdict and its opacity the share of its paths that
// have it, so one failing path among thousands is pale.
func layoutAggregated(m *matrix.Matrix) *Graph {
	g := &Graph{Aggregated: true, info: map[string]Info{}}
	const cell, rowLabelW, colLabelH, pad = 16, 300, 210, 12
	row := map[string]int{}
	for i, c := range m.Clients {
		row[c.ID] = i
		n := Node{ID: fmt.Sprintf("r%d", i), Label: c.ID, X: pad, Y: pad + colLabelH + i*cell, W: rowLabelW - 8, H: cell, Class: "node row"}
		n.LX, n.LY = n.X+n.W, n.Y+12
		kind := "namespace"
		if c.Kind == matrix.KindExternal {
			kind = "external"
			n.Title = c.ID + " (routes entering through " + c.Gateway + ")"
		} else {
			n.Title = fmt.Sprintf("%s (%d workloads)", c.ID, c.Workloads)
		}
		g.Nodes = append(g.Nodes, n)
		g.info[n.ID] = Info{Label: c.ID, Kind: kind}
	}
	col := map[string]int{}
	for j, t := range m.Targets {
		col[t.ID] = j
		n := Node{ID: fmt.Sprintf("c%d", j), Label: t.ID, X: pad + rowLabelW + j*cell, Y: pad, W: cell, H: colLabelH - 4, Class: "node col"}
		n.LX, n.LY = n.X+cell/2+3, n.Y+n.H
		kind := "namespace"
		if t.Namespace == "" {
			kind = "host"
			n.Title = t.ID + " (a route that reaches no Service)"
			n.Class += " unresolved"
		} else {
			n.Title = fmt.Sprintf("%s (%d service ports)", t.ID, t.Ports)
		}
		g.Nodes = append(g.Nodes, n)
		g.info[n.ID] = Info{Label: t.ID, Kind: kind}
	}
	g.Width = pad + rowLabelW + len(m.Targets)*cell + pad
	g.Height = pad + colLabelH + len(m.Clients)*cell + pad
	for _, c := range m.Cells {
		a := &edgeAcc{EdgeData: EdgeData{ID: fmt.Sprintf("e%d", len(g.data)), From: c.Client, To: c.Target,
			Result: c.Result, Security: c.Security, Cause: c.Cause, Counts: c.Counts, Paths: c.Paths}}
		g.data = append(g.data, a.EdgeData)
		e := edgeFor(a, nil, nil, 1)
		e.X, e.Y, e.W, e.H = pad+rowLabelW+col[c.Target]*cell+1, pad+colLabelH+row[c.Client]*cell+1, cell-2, cell-2
		share := 1.0
		if c.Counts.Paths > 0 {
			n := c.Counts.OK
			if c.Result != trace.ResultOK {
				n = c.Counts.Fail + c.Counts.Denied
			}
			share = float64(n) / float64(c.Counts.Paths)
		}
		e.Opacity = math.Round((0.3+0.7*share)*100) / 100
		g.Edges = append(g.Edges, e)
	}
	return g
}
