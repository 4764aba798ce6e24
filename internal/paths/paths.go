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
// the clients those terms match are split off into their own groups. Clients
// without a proxy form one class whatever their namespace: nothing configures
// their outbound calls and their plaintext carries no identity. Each
// group is traced once, for its first member. paths_test.go checks the
// result against tracing every pair one by one.
package paths

import (
	"cmp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
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
	// AllGatewayRoutes keeps every gateway route whatever Service says.
	AllGatewayRoutes bool
	// GatewayRoute, when set, selects the gateway routes to trace (before
	// tracing them; Service filters after).
	GatewayRoute func(*resolve.GatewayRequest) bool
	// Workers is the number of goroutines, each with its own engine
	// (0: GOMAXPROCS).
	Workers int
	// Keep, when set, is asked about each group as soon as it is made, from
	// the workers' goroutines (concurrently); the groups it returns false for
	// count in Pairs and Evaluations but are not kept in Groups. A caller that
	// reads only some groups bounds the heap with it on a large mesh.
	Keep func(*Group) bool
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
	fp    uint64 // fingerprint(w)
	pos   int32  // w's position in the index's workloads
}

// All evaluates every path of the mesh behind e. It uses e and, for each
// further worker, a new engine over the same index; the result does not depend
// on the number of workers.
func All(e *resolve.Engine, opts Options) *Result {
	x := e.X
	res := &Result{}
	var gateways []*mesh.Workload
	var direct []*client                      // clients without a proxy
	byNS := map[string]map[string][]*client{} // namespace -> outbound class -> clients
	pool := map[string][]*client{}            // outbound class -> clients of every namespace
	for pos, w := range x.Workloads {
		if opts.Client != nil && !opts.Client(w) {
			continue
		}
		if e.Sidecar(w).Kind == resolve.ProxyGateway {
			gateways = append(gateways, w)
			continue
		}
		c := &client{w: w, ns: w.Namespace, class: e.OutboundClass(w), id: "ns/" + w.Namespace + "/sa/" + w.ServiceAccount, fp: fingerprint(w), pos: int32(pos)}
		if c.class == resolve.ProxyNone {
			// Without a proxy no VirtualService, DestinationRule or
			// Service exportTo applies (they configure Envoy), and the
			// connection is plaintext, so it carries no identity: every
			// such client calls a service port the same way, whatever its
			// namespace (the application resolves the FQDN with DNS).
			if len(direct) == 0 {
				res.Classes++
			}
			direct = append(direct, c)
			continue
		}
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
	// The shared class indexes are built before the workers start; each
	// worker has its own engine (an engine is for one goroutine) and takes
	// the next service, and the groups are put back in service order.
	poolIdx := map[string]*memberIndex{}
	sums := map[string]*memberSums{}
	for _, cl := range classes {
		poolIdx[cl] = newMemberIndex(pool[cl])
		sums[cl] = newMemberSums(pool[cl])
	}
	if len(direct) > 0 {
		sums[resolve.ProxyNone] = newMemberSums(direct) // no pool class is ProxyNone
	}
	var svcs []*mesh.Service
	for _, svc := range x.Services {
		if opts.Service == nil || opts.Service(svc) {
			svcs = append(svcs, svc)
		}
	}
	// Gateway routes are jobs after the Services, for the same workers.
	type gwJob struct {
		gw *mesh.Workload
		r  resolve.GatewayRequest
	}
	var gwJobs []gwJob
	if !opts.NoGateways {
		for _, gw := range gateways {
			for _, r := range e.GatewayRequests(gw) {
				if opts.GatewayRoute != nil && !opts.GatewayRoute(&r) {
					continue
				}
				gwJobs = append(gwJobs, gwJob{gw, r})
			}
		}
	}
	jobs := len(svcs) + len(gwJobs)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, jobs))
	per := make([][]*Group, jobs)
	evals := make([]int, workers)
	dropped := make([]int64, workers) // pairs of the groups Keep left out
	panics := make([]any, workers)
	// The engines are made before any worker starts: Worker reads e.
	engines := []*resolve.Engine{e}
	for len(engines) < workers {
		engines = append(engines, e.Worker())
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for k, eng := range engines {
		wg.Add(1)
		go func(k int, ev *evaluator) {
			defer wg.Done()
			defer func() {
				// Re-raised below, in the caller's goroutine, where the
				// check driver can turn it into an internal-error finding.
				if p := recover(); p != nil {
					panics[k] = p
				}
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= jobs {
					break
				}
				ev.out = nil
				if i >= len(svcs) {
					j := &gwJobs[i-len(svcs)]
					ev.gateway(j.gw, j.r)
					per[i] = ev.keep(&dropped[k])
					continue
				}
				ev.service(svcs[i], byNS, pool, sums, classes, direct)
				per[i] = ev.keep(&dropped[k])
				// Each Service port is evaluated once: its decisions
				// would only grow the heap.
				ev.e.ForgetRequests()
			}
			evals[k] = ev.evals
		}(k, &evaluator{e: eng, opts: opts, poolIdx: poolIdx})
	}
	wg.Wait()
	for _, p := range panics {
		if p != nil {
			panic(p)
		}
	}
	for k := range evals {
		res.Evaluations += evals[k]
		res.Pairs += dropped[k]
	}
	for _, gs := range per {
		for _, g := range gs {
			res.add(g)
		}
	}
	return res
}

// evaluator runs the traces of one goroutine.
type evaluator struct {
	e       *resolve.Engine
	opts    Options
	poolIdx map[string]*memberIndex
	out     []*Group
	evals   int
	terms   map[*mesh.Workload][]resolve.AuthzTerm // AuthzIdentityTerms per server
	// tgt is the URL of the Service port being evaluated, parsed once for
	// all its callers.
	tgt *trace.Target
}

// service evaluates every port of svc for every class of clients.
func (ev *evaluator) service(svc *mesh.Service, byNS map[string]map[string][]*client, pool map[string][]*client, sums map[string]*memberSums, classes []string, direct []*client) {
	views := ev.e.HostViews(svc)
	special := make(map[string]bool, len(views))
	for _, n := range views {
		special[n] = true
	}
	for pi := range svc.Ports {
		port := &svc.Ports[pi]
		url := trace.ServiceURL(svc, port)
		ev.tgt = nil
		if tgt, err := trace.ParseTarget(url); err == nil {
			ev.tgt = &tgt
		}
		// The namespaces whose view of the host is their own.
		for _, n := range views {
			for _, cl := range objects.SortedKeys(byNS[n]) {
				set := &Clients{list: byNS[n][cl], class: cl}
				set.n = len(set.list)
				ev.evaluate(set, svc, port, url, nil)
			}
		}
		if len(direct) > 0 {
			ev.evaluate(&Clients{list: direct, n: len(direct), class: resolve.ProxyNone, sums: sums[resolve.ProxyNone]}, svc, port, url, nil)
		}
		// Every other namespace sees the host the same way.
		for _, cl := range classes {
			set := &Clients{list: pool[cl], skipNS: special, class: cl, sums: sums[cl]}
			set.n = len(set.list)
			for _, n := range views {
				set.n -= len(byNS[n][cl])
			}
			if set.n > 0 {
				ev.evaluate(set, svc, port, url, ev.poolIdx[cl])
			}
		}
	}
}

// memberIndex finds the members of a large client list by identity.
type memberIndex struct {
	byID map[string][]*client
	byNS map[string][]*client
}

func newMemberIndex(list []*client) *memberIndex {
	ix := &memberIndex{byID: map[string][]*client{}, byNS: map[string][]*client{}}
	for _, c := range list {
		ix.byID[c.id] = append(ix.byID[c.id], c)
		ix.byNS[c.ns] = append(ix.byNS[c.ns], c)
	}
	return ix
}

// run traces one request; authz says whether it evaluated
// AuthorizationPolicies, the only decision that depends on who the client is.
func (ev *evaluator) run(rep *mesh.Workload, url, method string, headers map[string]string) (tr *trace.Trace, authz bool) {
	ev.evals++
	tr, err := trace.Run(ev.e, rep.Key(), url, trace.Options{NoFixes: true, AnyRequest: true, FailingHopsOnly: !ev.opts.Hops, Method: method, Headers: headers, Target: ev.tgt})
	if err != nil {
		// trace.Run fails only when FROM or TO cannot be resolved, and both
		// come from the index: report it as a failing path rather than drop it.
		return &trace.Trace{From: rep.Key(), To: url, Result: trace.ResultFail, Cause: trace.CauseUnknownHost, Summary: err.Error(), Hops: []trace.Hop{}}, false
	}
	tr.Hops = tr.Hops[:len(tr.Hops):len(tr.Hops)]
	return tr, tr.AuthzEvaluated
}

func (ev *evaluator) add(g *Group) { ev.out = append(ev.out, g) }

// keep returns the groups made since ev.out was reset that Options.Keep
// keeps, adding the pairs of the others to dropped.
func (ev *evaluator) keep(dropped *int64) []*Group {
	if ev.opts.Keep == nil {
		return ev.out
	}
	kept := ev.out[:0]
	for _, g := range ev.out {
		if ev.opts.Keep(g) {
			kept = append(kept, g)
		} else {
			*dropped += int64(g.Clients.Len())
		}
	}
	clear(ev.out[len(kept):]) // no hold on the groups left out
	return kept
}

func (r *Result) add(g *Group) {
	r.Groups = append(r.Groups, g)
	r.Pairs += int64(g.Clients.Len())
}

// evaluate traces one class of clients to a service port, splitting off the
// clients that the AuthorizationPolicies on the way name.
func (ev *evaluator) evaluate(set *Clients, svc *mesh.Service, port *mesh.ServicePort, url string, ix *memberIndex) {
	rep := set.First()
	tr, authz := ev.run(rep, url, "", nil)
	reached := tr.Service
	// A client without a proxy sends plaintext, which carries no identity:
	// no AuthorizationPolicy term can tell its members apart.
	if reached == nil || !authz || set.class == resolve.ProxyNone {
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
	skip := make(map[*mesh.Workload]bool, len(named))
	for _, m := range named {
		c, sig := m.c, m.sig
		if bySig[sig] == nil {
			sigs = append(sigs, sig)
		}
		bySig[sig] = append(bySig[sig], c)
		skip[c.w] = true
	}
	sort.Strings(sigs)
	rest := &Clients{list: set.list, skipNS: set.skipNS, skip: skip, class: set.class, n: set.n - len(skip), sums: set.sums}
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
func (ev *evaluator) named(set *Clients, svc *mesh.Service, port *mesh.ServicePort, ix *memberIndex) []namedMember {
	var terms []resolve.AuthzTerm
	if ev.terms == nil {
		ev.terms = map[*mesh.Workload][]resolve.AuthzTerm{}
	}
	for _, ep := range ev.e.Endpoints(svc, port, nil) {
		t, ok := ev.terms[ep.Workload]
		if !ok {
			t = ev.e.AuthzIdentityTerms(ep.Workload)
			ev.terms[ep.Workload] = t
		}
		terms = append(terms, t...)
	}
	if len(terms) == 0 {
		return nil
	}
	// Equal terms (the same principal in several rules, say) match the same
	// members: each distinct term is matched once, and a member's signature
	// lists the indexes of every term it matches, in order ("0,3,"), as if
	// each had been matched alone.
	type distinct struct {
		t   resolve.AuthzTerm
		idx []int
	}
	var ds []distinct
	byTerm := map[resolve.AuthzTerm]int{}
	for ti, t := range terms {
		k, ok := byTerm[t]
		if !ok {
			k = len(ds)
			byTerm[t] = k
			ds = append(ds, distinct{t: t})
		}
		ds[k].idx = append(ds[k].idx, ti)
	}
	// Marks are (member, distinct term) pairs, grouped by member below: a
	// namespace term marks every member of the namespace, and a map per
	// member would cost more than the marks.
	type mk struct {
		pos, k int32
		c      *client
	}
	var marks []mk
	mark := func(c *client, k int) {
		if set.has(c) {
			marks = append(marks, mk{c.pos, int32(k), c})
		}
	}
	for k, d := range ds {
		t := d.t
		key, exact := termKey(t)
		if key == "*" {
			continue // any authenticated caller: the same for every member
		}
		if exact && ix != nil {
			list := ix.byID[key]
			if t.Kind == "namespace" {
				list = ix.byNS[key]
			}
			// The members of one list share a namespace: it is skipped or
			// not as a whole.
			if len(list) == 0 || set.skipNS[list[0].ns] {
				continue
			}
			for _, c := range list {
				if !set.skip[c.w] {
					marks = append(marks, mk{c.pos, int32(k), c})
				}
			}
			continue
		}
		for _, c := range set.list {
			if termMatches(t, key, exact, c) {
				mark(c, k)
			}
		}
	}
	// Stable: a member's distinct terms stay in increasing order.
	slices.SortStableFunc(marks, func(a, b mk) int { return cmp.Compare(a.pos, b.pos) })
	out := make([]namedMember, 0, len(marks))
	var buf []byte
	var idx []int
	sigs := map[string]string{} // members share the few distinct signatures
	for i := 0; i < len(marks); {
		j := i
		idx = idx[:0]
		for ; j < len(marks) && marks[j].pos == marks[i].pos; j++ {
			idx = append(idx, ds[marks[j].k].idx...)
		}
		if j-i > 1 {
			slices.Sort(idx)
		}
		buf = buf[:0]
		for _, t := range idx {
			buf = strconv.AppendInt(buf, int64(t), 10)
			buf = append(buf, ',')
		}
		sig, ok := sigs[string(buf)]
		if !ok {
			sig = string(buf)
			sigs[sig] = sig
		}
		out = append(out, namedMember{marks[i].c, sig})
		i = j
	}
	return out
}

// namedMember is a member of a class that an identity term names, with the
// signature of the terms it matches.
type namedMember struct {
	c   *client
	sig string
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
	if !ev.opts.AllGatewayRoutes && ev.opts.Service != nil && tr.Service != nil && !ev.opts.Service(tr.Service) {
		return
	}
	req := r
	ev.add(&Group{Clients: &Clients{list: []*client{{w: gw, ns: gw.Namespace, fp: fingerprint(gw)}}, n: 1}, Gateway: true, Route: &req,
		URL: url, Method: r.Method, Headers: r.Headers, Service: tr.Service, Port: tr.Port, Trace: tr})
}
