// Package paths evaluates every path of a mesh: every client workload against
// every Service port, and every route of every gateway. It is what check,
// matrix and whatif read, and it decides through package trace, so a path and
// `meshdoctor trace` of the same request cannot disagree.
//
// A 10,000-service mesh has about 10^8 (client, service port) pairs; Istio
// does not configure them one by one and neither does this package. A
// sidecar's outbound configuration depends only on its namespace and, for a
// few resources, its labels (resolve.OutboundClass), and only the namespaces
// that own or are named by configuration for a host see that host differently
// from any other namespace (resolve.HostViews). So for each Service port the
// clients fall into a handful of classes: one per (namespace, outbound class)
// for the namespaces that matter to the host, and one per outbound class for
// all the others. The server side does not depend on the client except
// through its mTLS identity, and that only where AuthorizationPolicies name
// principals, namespaces or service accounts (resolve.AuthzIdentityTerms):
// the clients those terms match are split off into their own groups. Each
// group is traced once, for its first member. paths_test.go checks the
// result against tracing every pair one by one.
package paths

import (
	"sort"
	"strconv"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Options select what to evaluate.
type Options struct {
	// Client keeps only the clients it returns true for (nil: all). Gateways
	// are clients too: their paths are their routes.
	Client func(*mesh.Workload) bool
	// Service keeps only the Services it returns true for (nil: all). A
	// gateway route is kept when the Service it reaches is kept, or when it
	// reaches none.
	Service func(*mesh.Service) bool
	// Hops keeps every hop of each group's trace; by default only the
	// failing hop is kept, which is what findings need and a tenth of the
	// memory.
	Hops bool
	// NoGateways leaves the gateways' routes out.
	NoGateways bool
}

// Group is a set of paths that Istio decides the same way: the same request
// from any of Clients.
type Group struct {
	// Clients are the calling workloads (for a gateway group, the gateway).
	Clients *Clients
	// Gateway marks a gateway following its Gateway and VirtualService
	// routes; Route then names the route the request was built for.
	Gateway bool
	Route   *resolve.GatewayRequest
	// URL is the request traced (trace.Run's TO); Method and Headers refine
	// it for gateway routes.
	URL     string
	Method  string
	Headers map[string]string
	// Service and Port are the Service port called (for a gateway route, the
	// one reached; nil when the request failed before reaching one).
	Service *mesh.Service
	Port    *mesh.ServicePort
	// Trace is the verdict, traced for Clients.First() without fixes and for
	// any request on the port (trace.Options.AnyRequest).
	Trace *trace.Trace
}

// Result is every path of the mesh, grouped.
type Result struct {
	Groups []*Group
	// Pairs counts the (client, service port) pairs and gateway routes the
	// groups stand for.
	Pairs int64
	// Evaluations counts the traces run; Classes the client classes (an
	// outbound class in a namespace).
	Evaluations int
	Classes     int
}

// client is a mesh client with what its class depends on.
type client struct {
	w     *mesh.Workload
	ns    string
	class string
	id    string // "ns/NS/sa/SA": the principal without its trust domain
}

// All evaluates every path of the mesh behind e. The engine is not safe for
// concurrent use, so neither is All on one engine.
func All(e *resolve.Engine, opts Options) *Result {
	x := e.X
	res := &Result{}
	var gateways []*mesh.Workload
	byNS := map[string]map[string][]*client{} // namespace -> outbound class -> clients
	pool := map[string][]*client{}            // outbound class -> clients of every namespace
	for _, w := range x.Workloads {
		if opts.Client != nil && !opts.Client(w) {
			continue
		}
		if e.Sidecar(w).Kind == resolve.ProxyGateway {
			gateways = append(gateways, w)
			continue
		}
		c := &client{w: w, ns: w.Namespace, class: e.OutboundClass(w), id: "ns/" + w.Namespace + "/sa/" + w.ServiceAccount}
		if byNS[c.ns] == nil {
			byNS[c.ns] = map[string][]*client{}
		}
		if len(byNS[c.ns][c.class]) == 0 {
			res.Classes++
		}
		byNS[c.ns][c.class] = append(byNS[c.ns][c.class], c)
		pool[c.class] = append(pool[c.class], c)
	}
	classes := make([]string, 0, len(pool))
	for k := range pool {
		classes = append(classes, k)
	}
	sort.Strings(classes)
	ev := &evaluator{e: e, opts: opts, res: res, poolIdx: map[string]*memberIndex{}}

	for _, svc := range sortedServices(x) {
		if opts.Service != nil && !opts.Service(svc) {
			continue
		}
		views := e.HostViews(svc)
		special := make(map[string]bool, len(views))
		for _, n := range views {
			special[n] = true
		}
		for pi := range svc.Ports {
			port := &svc.Ports[pi]
			url := trace.ServiceURL(svc, port)
			// The namespaces whose view of the host is their own.
			for _, n := range views {
				for _, cl := range sortedKeys(byNS[n]) {
					set := &Clients{list: byNS[n][cl]}
					set.n = len(set.list)
					ev.evaluate(set, svc, port, url, nil)
				}
			}
			// Every other namespace sees the host the same way.
			for _, cl := range classes {
				set := &Clients{list: pool[cl], skipNS: special, class: cl}
				set.n = len(set.list)
				for _, n := range views {
					set.n -= len(byNS[n][cl])
				}
				if set.n > 0 {
					ev.evaluate(set, svc, port, url, ev.index(cl, pool[cl]))
				}
			}
		}
	}
	if !opts.NoGateways {
		for _, gw := range gateways {
			for _, r := range e.GatewayRequests(gw) {
				ev.gateway(gw, r)
			}
		}
	}
	return res
}

// evaluator runs the traces.
type evaluator struct {
	e       *resolve.Engine
	opts    Options
	res     *Result
	poolIdx map[string]*memberIndex
}

// memberIndex finds the members of a large client list by identity.
type memberIndex struct {
	byID map[string][]*client
	byNS map[string][]*client
}

func (ev *evaluator) index(class string, list []*client) *memberIndex {
	if ix := ev.poolIdx[class]; ix != nil {
		return ix
	}
	ix := &memberIndex{byID: map[string][]*client{}, byNS: map[string][]*client{}}
	for _, c := range list {
		ix.byID[c.id] = append(ix.byID[c.id], c)
		ix.byNS[c.ns] = append(ix.byNS[c.ns], c)
	}
	ev.poolIdx[class] = ix
	return ix
}

// run traces one request; authz says whether it evaluated
// AuthorizationPolicies, the only decision that depends on who the client is.
func (ev *evaluator) run(rep *mesh.Workload, url, method string, headers map[string]string) (tr *trace.Trace, authz bool) {
	ev.res.Evaluations++
	tr, err := trace.Run(ev.e, rep.Key(), url, trace.Options{NoFixes: true, AnyRequest: true, Method: method, Headers: headers})
	if err != nil {
		// trace.Run fails only when FROM or TO cannot be resolved, and both
		// come from the index: report it as a failing path rather than drop it.
		return &trace.Trace{From: rep.Key(), To: url, Result: trace.ResultFail, Cause: trace.CauseUnknownHost, Summary: err.Error(), Hops: []trace.Hop{}}, false
	}
	for _, h := range tr.Hops {
		if h.Step == "authorization" {
			authz = true
		}
	}
	if !ev.opts.Hops {
		kept := tr.Hops[:0]
		for _, h := range tr.Hops {
			if h.Status == trace.HopFail {
				kept = append(kept, h)
			}
		}
		tr.Hops = kept[:len(kept):len(kept)]
	}
	return tr, authz
}

func (ev *evaluator) add(g *Group) {
	ev.res.Groups = append(ev.res.Groups, g)
	ev.res.Pairs += int64(g.Clients.Len())
}

// evaluate traces one class of clients to a service port, splitting off the
// clients that the AuthorizationPolicies on the way name.
func (ev *evaluator) evaluate(set *Clients, svc *mesh.Service, port *mesh.ServicePort, url string, ix *memberIndex) {
	rep := set.First()
	tr, authz := ev.run(rep, url, "", nil)
	reached := tr.Service
	if reached == nil || !authz {
		ev.add(&Group{Clients: set, URL: url, Service: svc, Port: port, Trace: tr})
		return
	}
	named := ev.named(set, reached, tr.Port, ix)
	if len(named) == 0 {
		ev.add(&Group{Clients: set, URL: url, Service: svc, Port: port, Trace: tr})
		return
	}
	// Members named by the same terms form a group; the others stay.
	bySig := map[string][]*client{}
	var sigs []string
	skip := map[*mesh.Workload]bool{}
	for c, sig := range named {
		if bySig[sig] == nil {
			sigs = append(sigs, sig)
		}
		bySig[sig] = append(bySig[sig], c)
		skip[c.w] = true
	}
	sort.Strings(sigs)
	rest := &Clients{list: set.list, skipNS: set.skipNS, skip: skip, class: set.class, n: set.n - len(skip)}
	if rest.n > 0 {
		if rest.First() != rep {
			tr, _ = ev.run(rest.First(), url, "", nil)
		}
		ev.add(&Group{Clients: rest, URL: url, Service: svc, Port: port, Trace: tr})
	}
	for _, sig := range sigs {
		list := bySig[sig]
		sort.Slice(list, func(i, j int) bool { return list[i].w.Key() < list[j].w.Key() })
		g := &Clients{list: list, n: len(list)}
		gt, _ := ev.run(g.First(), url, "", nil)
		ev.add(&Group{Clients: g, URL: url, Service: svc, Port: port, Trace: gt})
	}
}

// named returns the members of set that an identity term of the policies on
// the endpoints of svc matches, each with the signature of the terms it
// matches. ix indexes set's candidates (nil: scan them).
func (ev *evaluator) named(set *Clients, svc *mesh.Service, port *mesh.ServicePort, ix *memberIndex) map[*client]string {
	var terms []resolve.AuthzTerm
	for _, ep := range ev.e.Endpoints(svc, port, nil) {
		terms = append(terms, ev.e.AuthzIdentityTerms(ep.Workload)...)
	}
	if len(terms) == 0 {
		return nil
	}
	out := map[*client]string{}
	mark := func(c *client, t int) {
		if !set.has(c) {
			return
		}
		out[c] += strconv.Itoa(t) + ","
	}
	for ti, t := range terms {
		key, exact := termKey(t)
		if key == "*" {
			continue // any authenticated caller: the same for every member
		}
		if exact && ix != nil {
			if t.Kind == "namespace" {
				for _, c := range ix.byNS[key] {
					mark(c, ti)
				}
			} else {
				for _, c := range ix.byID[key] {
					mark(c, ti)
				}
			}
			continue
		}
		for _, c := range set.list {
			if termMatches(t, key, exact, c) {
				mark(c, ti)
			}
		}
	}
	return out
}

// termKey normalises a term to what it compares: a namespace, or "ns/N/sa/S"
// (a principal without its trust domain, which every member shares: an
// over-approximation only splits groups). exact is false for Istio's
// prefix/suffix wildcards (security/authz/matcher StringMatcherWithPrefix).
func termKey(t resolve.AuthzTerm) (string, bool) {
	v := t.Value
	if v == "*" {
		return "*", false
	}
	exact := !strings.HasPrefix(v, "*") && !strings.HasSuffix(v, "*")
	switch t.Kind {
	case "principal":
		if i := strings.Index(v, "/ns/"); i >= 0 {
			v = v[i+1:]
		}
	case "serviceAccount":
		if ns, sa, ok := strings.Cut(v, "/"); ok {
			v = "ns/" + ns + "/sa/" + sa
		} else {
			v = "ns/" + t.PolicyNS + "/sa/" + v
		}
	}
	return v, exact
}

func termMatches(t resolve.AuthzTerm, key string, exact bool, c *client) bool {
	subject := c.id
	if t.Kind == "namespace" {
		subject = c.ns
	}
	if exact {
		return subject == key
	}
	// Wildcards compare against the principal as Envoy sees it; without the
	// trust domain, match both ways round (an over-approximation).
	full := "td/" + c.id
	if t.Kind == "namespace" {
		full = c.ns
	}
	switch {
	case strings.HasPrefix(t.Value, "*"):
		suf := t.Value[1:]
		return strings.HasSuffix(subject, suf) || strings.HasSuffix(full, suf)
	case strings.HasSuffix(t.Value, "*"):
		pre := t.Value[:len(t.Value)-1]
		if i := strings.Index(pre, "/ns/"); i >= 0 && t.Kind == "principal" {
			pre = pre[i+1:]
		}
		return strings.HasPrefix(subject, pre)
	}
	return false
}

// gateway traces one gateway route.
func (ev *evaluator) gateway(gw *mesh.Workload, r resolve.GatewayRequest) {
	url := r.URL()
	tr, _ := ev.run(gw, url, r.Method, r.Headers)
	if ev.opts.Service != nil && tr.Service != nil && !ev.opts.Service(tr.Service) {
		return
	}
	req := r
	ev.add(&Group{Clients: &Clients{list: []*client{{w: gw, ns: gw.Namespace}}, n: 1}, Gateway: true, Route: &req,
		URL: url, Method: r.Method, Headers: r.Headers, Service: tr.Service, Port: tr.Port, Trace: tr})
}

func sortedServices(x *mesh.Index) []*mesh.Service {
	out := make([]*mesh.Service, 0, len(x.Services))
	out = append(out, x.Services...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
