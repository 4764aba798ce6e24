// Package whatif judges a change before it is applied: it applies the change
// to the base objects as `kubectl apply` would (an object with the kind,
// namespace and name of an existing one replaces it, any other is added, and
// deletions remove), evaluates the paths the change can affect before and
// after (package paths, so the verdicts are trace's), and reports the paths it
// breaks, fixes, strips of mTLS or newly secures, newly denies or allows, and
// the findings that appear or disappear.
package whatif

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/paths"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Categories of a path change.
const (
	Broken      = "broken"       // ok before, failing after
	NewlyDenied = "newly-denied" // ok before, denied by authorization after
	Fixed       = "fixed"        // failing before, ok after
	// NowPlaintext: failing before because the server required mTLS, ok
	// after in plaintext: it works because the server stopped requiring
	// mTLS (PERMISSIVE or DISABLE), which lowers security.
	NowPlaintext = "now-plaintext"
	NewlyAllowed = "newly-allowed" // denied before, ok after
	LostMTLS     = "lost-mtls"     // ok both, mTLS before and not after
	GainedMTLS   = "gained-mtls"   // ok both, mTLS after and not before
	Changed      = "changed"       // failing both, for another reason
)

// categoryOrder is the order of the report: what breaks first.
var categoryOrder = []string{Broken, NewlyDenied, LostMTLS, NowPlaintext, NewlyAllowed, Fixed, GainedMTLS, Changed}

// Input is the base and the change.
type Input struct {
	Base []*objects.Object
	// Change objects are added, or replace the base object of the same kind,
	// namespace and name. SPEC.md: they are newer than the base's objects
	// (Istio's oldest-wins rules see the base as older).
	Change []*objects.Object
	// Delete removes base objects.
	Delete []objects.Key
	// DefaultNamespace is the namespace of objects that name none.
	DefaultNamespace string
}

// Options refine the comparison.
type Options struct {
	// Traces keeps, for each change, the before and after trace of its first
	// client with every hop.
	Traces bool
	// Findings, when set, runs the checks on a mesh; whatif reports the
	// findings that appear and disappear.
	Findings func(*mesh.Index) []Finding
	// Workers is passed to paths.All.
	Workers int
}

// Finding is what whatif needs of a check finding.
type Finding struct {
	Code     string      `json:"code"`
	Severity string      `json:"severity"`
	Message  string      `json:"message"`
	Object   objects.Ref `json:"object"`
}

// Verdict is a path's outcome.
type Verdict struct {
	Result   string `json:"result"`
	Cause    string `json:"cause,omitempty"`
	Security string `json:"security,omitempty"`
}

func verdictOf(t *trace.Trace) Verdict {
	return Verdict{Result: t.Result, Cause: t.Cause, Security: t.Security}
}

func (v Verdict) String() string {
	s := v.Result
	if v.Cause != "" {
		s += " " + v.Cause
	}
	if v.Result == trace.ResultOK && v.Security != "" {
		s += " (" + v.Security + ")"
	}
	return s
}

// PathChange is a set of paths that changed the same way: the same request
// from Clients, with the same verdicts before and after.
type PathChange struct {
	Category string `json:"category"`
	// To is the request (a URL or HOST:PORT); Service the Service port it
	// targets ("ns/name:port"), empty when it reaches none.
	To      string `json:"to"`
	Service string `json:"service,omitempty"`
	// Gateway is the gateway workload for a gateway route.
	Gateway string `json:"gateway,omitempty"`
	// Clients counts the calling workloads; Sample names the first ones.
	Clients int      `json:"clients"`
	Sample  []string `json:"sample"`
	Before  Verdict  `json:"before"`
	After   Verdict  `json:"after"`
	// Why is the sentence that explains the new verdict (the failing hop's,
	// or the old one's for a fix); Objects are the objects that decide it.
	Why     string        `json:"why"`
	Objects []objects.Ref `json:"objects"`
	// BeforeTrace and AfterTrace are set with Options.Traces.
	BeforeTrace *trace.Trace `json:"before_trace,omitempty"`
	AfterTrace  *trace.Trace `json:"after_trace,omitempty"`
}

// Summary counts paths ((client, service port) pairs and gateway routes).
type Summary struct {
	Broken          int64 `json:"broken"`
	NewlyDenied     int64 `json:"newly_denied"`
	Fixed           int64 `json:"fixed"`
	NowPlaintext    int64 `json:"now_plaintext"`
	NewlyAllowed    int64 `json:"newly_allowed"`
	LostMTLS        int64 `json:"lost_mtls"`
	GainedMTLS      int64 `json:"gained_mtls"`
	Changed         int64 `json:"changed"`
	Compared        int64 `json:"compared"`
	FindingsAdded   int   `json:"findings_added"`
	FindingsRemoved int   `json:"findings_removed"`
}

// Scope says what was recomputed.
type Scope struct {
	// Full is true when the change can affect every path (a workload,
	// Namespace, Service account, mesh config, or a host wildcard "*").
	Full bool `json:"full"`
	// Services counts the Services whose paths were recomputed.
	Services int `json:"services"`
	// Why names the changed objects.
	Why []string `json:"why"`
	// Traces counts the traces run, before and after.
	Traces int `json:"traces"`
}

// Report is the judgement of a change.
type Report struct {
	Summary Summary      `json:"summary"`
	Changes []PathChange `json:"changes"`
	// Weaker is true when the change lowers security (mTLS lost, a path
	// newly allowed by authorization, or now working in plaintext where mTLS
	// was required); Breaks when a path that worked no longer does.
	Breaks bool  `json:"breaks"`
	Weaker bool  `json:"weaker"`
	Scope  Scope `json:"scope"`
	// FindingsAdded and FindingsRemoved compare the checks' findings.
	FindingsAdded   []Finding `json:"findings_added"`
	FindingsRemoved []Finding `json:"findings_removed"`
	// Applied lists what the change did to the base: "replaced Kind ns/name",
	// "added ...", "deleted ...".
	Applied []string `json:"applied"`
	// Assumptions of the new verdicts.
	Assumptions []string `json:"assumptions"`
}

// Apply returns the base with the change applied, and what it did. A deletion
// of an object that is not in the base is an error.
func Apply(in Input) ([]*objects.Object, []string, error) {
	key := func(o *objects.Object) objects.Key { return keyIn(o.Key(), in.DefaultNamespace) }
	// The change is newer than anything in the base.
	var newest time.Time
	for _, o := range in.Base {
		if o.Created.After(newest) {
			newest = o.Created
		}
	}
	if newest.IsZero() {
		newest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	at := map[objects.Key]int{}
	out := make([]*objects.Object, 0, len(in.Base)+len(in.Change))
	for _, o := range in.Base {
		at[key(o)] = len(out)
		out = append(out, o)
	}
	var applied []string
	for _, k := range in.Delete {
		k = keyIn(k, in.DefaultNamespace)
		i, ok := at[k]
		if !ok || out[i] == nil {
			return nil, nil, fmt.Errorf("--delete %s/%s/%s: no such object in the base", k.Kind, k.Namespace, k.Name)
		}
		out[i] = nil
		applied = append(applied, "deleted "+k.String())
	}
	for _, o := range in.Change {
		c := *o
		c.Created = newest.Add(time.Minute)
		k := key(&c)
		if i, ok := at[k]; ok && out[i] != nil {
			out[i] = &c
			applied = append(applied, "replaced "+k.String())
			continue
		}
		at[k] = len(out)
		out = append(out, &c)
		applied = append(applied, "added "+k.String())
	}
	kept := out[:0]
	for _, o := range out {
		if o != nil {
			o2 := *o
			o2.Seq = len(kept)
			kept = append(kept, &o2)
		}
	}
	return kept, applied, nil
}

// Run judges the change.
func Run(in Input, opts Options) (*Report, error) {
	after, applied, err := Apply(in)
	if err != nil {
		return nil, err
	}
	meshOpts := mesh.Options{DefaultNamespace: in.DefaultNamespace}
	xb := mesh.Build(in.Base, meshOpts)
	xa := mesh.Build(after, meshOpts)
	eb, ea := resolve.New(xb), resolve.New(xa)

	scope, inScope, routes := affected(eb, ea, in)
	popts := paths.Options{Workers: opts.Workers, AllGatewayRoutes: true, Service: inScope, GatewayRoute: routes}
	before := paths.All(eb, popts)
	now := paths.All(ea, popts)

	scope.Traces = before.Evaluations + now.Evaluations
	r := &Report{Scope: scope, Applied: applied, Changes: []PathChange{}, FindingsAdded: []Finding{}, FindingsRemoved: []Finding{}, Assumptions: []string{}}
	compare(r, before, now)
	if opts.Traces {
		for i := range r.Changes {
			c := &r.Changes[i]
			from := c.Gateway
			if from == "" {
				from = c.Sample[0]
			}
			c.BeforeTrace, _ = trace.Run(eb, from, c.To, trace.Options{NoFixes: true, AnyRequest: true})
			c.AfterTrace, _ = trace.Run(ea, from, c.To, trace.Options{AnyRequest: true})
		}
	}
	if opts.Findings != nil {
		fb, fa := opts.Findings(xb), opts.Findings(xa)
		r.FindingsAdded, r.FindingsRemoved = diffFindings(fb, fa), diffFindings(fa, fb)
		r.Summary.FindingsAdded, r.Summary.FindingsRemoved = len(r.FindingsAdded), len(r.FindingsRemoved)
	}
	s := &r.Summary
	r.Breaks = s.Broken+s.NewlyDenied > 0
	r.Weaker = s.LostMTLS+s.NewlyAllowed+s.NowPlaintext > 0
	return r, nil
}

// pathKey identifies a request across the two evaluations.
type pathKey struct {
	gateway string // gateway workload key for a gateway route
	url     string
	method  string
}

func keyOf(g *paths.Group) pathKey {
	k := pathKey{url: g.URL, method: g.Method}
	if g.Gateway {
		k.gateway = g.Clients.First().Key()
	}
	return k
}

// compare diffs two evaluations request by request.
func compare(r *Report, before, after *paths.Result) {
	bg := map[pathKey][]*paths.Group{}
	var order []pathKey
	for _, g := range before.Groups {
		k := keyOf(g)
		if bg[k] == nil {
			order = append(order, k)
		}
		bg[k] = append(bg[k], g)
	}
	ag := map[pathKey][]*paths.Group{}
	for _, g := range after.Groups {
		k := keyOf(g)
		if ag[k] == nil && bg[k] == nil {
			order = append(order, k)
		}
		ag[k] = append(ag[k], g)
	}
	assumed := map[string]bool{}
	// A change is per request, category and pair of groups (before, after).
	type changeKey struct {
		cat  string
		k    pathKey
		b, a *paths.Group
	}
	index := map[changeKey]*PathChange{}
	var created []*PathChange // in the (deterministic) order met
	for _, k := range order {
		bs, as := bg[k], ag[k]
		// Quick path: the same sets of clients with the same verdicts on
		// both sides (sets compared by fingerprint: the members' kinds,
		// namespaces and names), so nothing changed for anyone.
		if samePartition(bs, as) {
			r.Summary.Compared += count(as)
			continue
		}
		// The two evaluations index different objects: clients are
		// matched by kind, namespace and name.
		beforeOf := map[string]*paths.Group{}
		for _, g := range bs {
			g.Clients.Each(func(w *mesh.Workload) bool { beforeOf[w.Kind+"/"+w.Key()] = g; return true })
		}
		for _, g := range as {
			g.Clients.Each(func(w *mesh.Workload) bool {
				b := beforeOf[w.Kind+"/"+w.Key()]
				if b == nil {
					// A client or request that did not exist before (an
					// added workload or Service) has no "before".
					return true
				}
				r.Summary.Compared++
				cat := categorize(verdictOf(b.Trace), verdictOf(g.Trace))
				if cat == "" {
					return true
				}
				id := changeKey{cat, k, b, g}
				pc := index[id]
				if pc == nil {
					pc = newChange(cat, k, b, g)
					index[id] = pc
					created = append(created, pc)
					for _, a := range g.Trace.Assumptions {
						assumed[a] = true
					}
				}
				pc.Clients++
				if len(pc.Sample) < 5 {
					pc.Sample = append(pc.Sample, w.Key())
				}
				return true
			})
		}
	}
	// Merge the changes of one request that differ only by group.
	merged := map[string]*PathChange{}
	var keys []string
	for _, pc := range created {
		id := pc.Category + "|" + pc.Gateway + "|" + pc.To + "|" + pc.Before.String() + "|" + pc.After.String()
		if m := merged[id]; m != nil {
			m.Clients += pc.Clients
			for _, s := range pc.Sample {
				if len(m.Sample) < 5 {
					m.Sample = append(m.Sample, s)
				}
			}
			continue
		}
		merged[id] = pc
		keys = append(keys, id)
	}
	rank := map[string]int{}
	for i, c := range categoryOrder {
		rank[c] = i
	}
	for _, id := range keys {
		pc := merged[id]
		sort.Strings(pc.Sample)
		r.Changes = append(r.Changes, *pc)
		n := int64(pc.Clients)
		switch pc.Category {
		case Broken:
			r.Summary.Broken += n
		case NewlyDenied:
			r.Summary.NewlyDenied += n
		case Fixed:
			r.Summary.Fixed += n
		case NowPlaintext:
			r.Summary.NowPlaintext += n
		case NewlyAllowed:
			r.Summary.NewlyAllowed += n
		case LostMTLS:
			r.Summary.LostMTLS += n
		case GainedMTLS:
			r.Summary.GainedMTLS += n
		case Changed:
			r.Summary.Changed += n
		}
	}
	sort.SliceStable(r.Changes, func(i, j int) bool {
		a, b := r.Changes[i], r.Changes[j]
		if rank[a.Category] != rank[b.Category] {
			return rank[a.Category] < rank[b.Category]
		}
		if a.Gateway != b.Gateway {
			return a.Gateway > b.Gateway // gateway routes first: what users see
		}
		if a.To != b.To {
			return a.To < b.To
		}
		if a.Before != b.Before {
			return a.Before.String() < b.Before.String()
		}
		return a.After.String() < b.After.String()
	})
	for a := range assumed {
		r.Assumptions = append(r.Assumptions, a)
	}
	sort.Strings(r.Assumptions)
}

func newChange(cat string, k pathKey, b, a *paths.Group) *PathChange {
	pc := &PathChange{Category: cat, To: k.url, Gateway: k.gateway, Before: verdictOf(b.Trace), After: verdictOf(a.Trace), Sample: []string{}, Objects: []objects.Ref{}}
	svc, port := a.Service, a.Port
	if svc == nil {
		svc, port = b.Service, b.Port
	}
	if svc != nil && port != nil {
		pc.Service = fmt.Sprintf("%s:%d", svc.Key(), port.Port)
	}
	// Why: the failing hop of the side that fails (the new one, or the old
	// one for a fix), else the new summary.
	why := a.Trace
	pc.Why = why.Summary
	if a.Trace.Result == trace.ResultOK && b.Trace.Result != trace.ResultOK {
		why = b.Trace
		pc.Why = "before, " + why.Summary
	}
	for _, h := range why.Hops {
		if h.Status == trace.HopFail {
			pc.Objects = append(pc.Objects, h.Objects...)
		}
	}
	return pc
}

// categorize names how a path changed ("" when it did not in a way that
// matters: same result, cause and security).
func categorize(b, a Verdict) string {
	switch {
	case b == a:
		return ""
	case b.Result == trace.ResultOK && a.Result == trace.ResultDenied:
		return NewlyDenied
	case b.Result == trace.ResultOK && a.Result != trace.ResultOK:
		return Broken
	case b.Result == trace.ResultDenied && a.Result == trace.ResultOK:
		return NewlyAllowed
	case b.Cause == trace.CausePlaintextToStrict && a.Result == trace.ResultOK && a.Security != resolve.TLSMutualIstio:
		return NowPlaintext
	case b.Result != trace.ResultOK && a.Result == trace.ResultOK:
		return Fixed
	case b.Result == trace.ResultOK && a.Result == trace.ResultOK:
		switch {
		case b.Security == resolve.TLSMutualIstio && a.Security != resolve.TLSMutualIstio:
			return LostMTLS
		case a.Security == resolve.TLSMutualIstio && b.Security != resolve.TLSMutualIstio:
			return GainedMTLS
		}
		return ""
	}
	return Changed
}

// samePartition reports whether two evaluations of one request split the
// same clients into groups with the same verdicts. Groups with one verdict
// are pooled first, since a class may be split differently on each side (a
// group split off by identity) with the same outcome.
func samePartition(b, a []*paths.Group) bool {
	if len(b) == 0 || len(a) == 0 {
		return false
	}
	sum := func(gs []*paths.Group) map[Verdict]uint64 {
		m := map[Verdict]uint64{}
		for _, g := range gs {
			m[verdictOf(g.Trace)] += g.Clients.Fingerprint()
		}
		return m
	}
	mb, ma := sum(b), sum(a)
	if len(mb) != len(ma) || count(b) != count(a) {
		return false
	}
	for v, f := range mb {
		if ma[v] != f {
			return false
		}
	}
	return true
}

func count(gs []*paths.Group) int64 {
	var n int64
	for _, g := range gs {
		n += int64(g.Clients.Len())
	}
	return n
}

func diffFindings(from, to []Finding) []Finding {
	// A finding is the same when its code and object are: its message may
	// name other objects that changed (the one that wins, the callers).
	key := func(f Finding) string {
		return f.Code + "|" + f.Object.Kind + "|" + f.Object.Namespace + "|" + f.Object.Name + "|" + f.Object.Field
	}
	have := map[string]bool{}
	for _, f := range from {
		have[key(f)] = true
	}
	out := []Finding{}
	for _, f := range to {
		if !have[key(f)] {
			out = append(out, f)
		}
	}
	return out
}

// affected returns the Services whose paths the change can affect, and a
// filter for paths.Options.Service.
func affected(eb, ea *resolve.Engine, in Input) (Scope, func(*mesh.Service) bool, func(*resolve.GatewayRequest) bool) {
	var sc Scope
	gatewaysChanged := false
	changed := changedObjects(in)
	var hosts []string
	nsPolicies := map[string]bool{}
	for _, o := range changed {
		sc.Why = append(sc.Why, o.Kind+" "+o.Namespace+"/"+o.Name)
		switch o.Kind {
		case "DestinationRule", "VirtualService", "ServiceEntry":
			if o.Kind == "VirtualService" {
				gatewaysChanged = true
			}
			for _, e := range []*resolve.Engine{eb, ea} {
				if c := configOf(e.X, o); c != nil {
					hosts = append(hosts, resolve.HostPatterns(c)...)
				}
			}
		case "PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication", "Sidecar":
			if o.Namespace == eb.X.Mesh.RootNamespace || o.Namespace == ea.X.Mesh.RootNamespace {
				sc.Full = true
			}
			nsPolicies[o.Namespace] = true
		case "Gateway":
			gatewaysChanged = true
		case "Service":
			for _, x := range []*mesh.Index{eb.X, ea.X} {
				if s := x.Service(o.Namespace, o.Name); s != nil {
					hosts = append(hosts, s.Host)
				}
			}
		default:
			// Workloads, Namespaces, ServiceAccounts and the mesh config
			// change who calls and how: every path.
			sc.Full = true
		}
	}
	sort.Strings(sc.Why)
	for _, h := range hosts {
		if h == "*" {
			sc.Full = true
		}
	}
	if sc.Full {
		sc.Services = len(ea.X.Services)
		return sc, nil, nil
	}
	// A Service is affected when a host that decides its requests
	// (RouteHosts, before or after) is named by a changed object, or is a
	// Service in a namespace whose policies changed.
	hit := func(e *resolve.Engine, svc *mesh.Service) bool {
		for _, rh := range e.RouteHosts(svc) {
			for _, h := range hosts {
				if resolve.HostMatches(h, rh) {
					return true
				}
			}
			if len(nsPolicies) > 0 {
				if s := e.X.ServiceByHost(rh); s != nil && nsPolicies[s.Namespace] {
					return true
				}
			}
		}
		return false
	}
	set := map[string]bool{}
	for _, e := range []*resolve.Engine{eb, ea} {
		for _, svc := range e.X.Services {
			if hit(e, svc) {
				set[svc.Key()] = true
			}
		}
	}
	sc.Services = len(set)
	inSet := func(s *mesh.Service) bool { return set[s.Key()] }
	if gatewaysChanged {
		return sc, inSet, nil
	}
	// Gateway and VirtualService objects are unchanged: a gateway route
	// changes only when a host it sends to is affected.
	routes := func(r *resolve.GatewayRequest) bool {
		for _, d := range r.Destinations {
			for _, h := range hosts {
				if resolve.HostMatches(h, d) {
					return true
				}
			}
			for _, x := range []*mesh.Index{eb.X, ea.X} {
				if s := x.ServiceByHost(d); s != nil && (set[s.Key()] || nsPolicies[s.Namespace]) {
					return true
				}
			}
		}
		return false
	}
	return sc, inSet, routes
}

// keyIn is an object's key with the namespace an object without one gets
// (kubectl apply puts it in the default namespace; a Namespace has none).
func keyIn(k objects.Key, defNS string) objects.Key {
	if defNS == "" {
		defNS = mesh.DefaultNamespace
	}
	if k.Namespace == "" && k.Kind != "Namespace" {
		k.Namespace = defNS
	}
	return k
}

// changedObjects lists the objects the change touches, in their base and
// new versions.
func changedObjects(in Input) []*objects.Object {
	var out []*objects.Object
	touched := map[objects.Key]bool{}
	for _, k := range in.Delete {
		touched[keyIn(k, in.DefaultNamespace)] = true
	}
	for _, o := range in.Change {
		touched[keyIn(o.Key(), in.DefaultNamespace)] = true
		out = append(out, o)
	}
	for _, o := range in.Base {
		if touched[keyIn(o.Key(), in.DefaultNamespace)] {
			out = append(out, o)
		}
	}
	return out
}

// configOf finds the index's Istio config built from an object with o's key.
func configOf(x *mesh.Index, o *objects.Object) mesh.Configurable {
	match := func(m *objects.Object) bool {
		return m != nil && m.Kind == o.Kind && m.Name == o.Name && (m.Namespace == o.Namespace || o.Namespace == "")
	}
	switch o.Kind {
	case "DestinationRule":
		for _, c := range x.DestinationRules {
			if match(c.Obj) {
				return c
			}
		}
	case "VirtualService":
		for _, c := range x.VirtualServices {
			if match(c.Obj) {
				return c
			}
		}
	case "ServiceEntry":
		for _, c := range x.ServiceEntries {
			if match(c.Obj) {
				return c
			}
		}
	}
	return nil
}

// Text renders the report for a terminal: the summary first, then the
// changes by category.
func (r *Report) Text() string {
	var b strings.Builder
	s := r.Summary
	fmt.Fprintf(&b, "Change: %s\n", strings.Join(r.Applied, "; "))
	verdict := "safe: no path that worked breaks, and security does not drop"
	switch {
	case r.Breaks && r.Weaker:
		verdict = "BREAKS paths that work and LOWERS security"
	case r.Breaks:
		verdict = "BREAKS paths that work"
	case r.Weaker:
		verdict = "LOWERS security"
	case s.Fixed+s.NewlyAllowed > 0:
		verdict = "fixes paths and breaks none"
	}
	fmt.Fprintf(&b, "Verdict: %s\n", verdict)
	fmt.Fprintf(&b, "Paths: %d broken, %d newly denied, %d lose mTLS, %d now plaintext, %d newly allowed, %d fixed, %d gain mTLS, %d fail differently (of %d compared",
		s.Broken, s.NewlyDenied, s.LostMTLS, s.NowPlaintext, s.NewlyAllowed, s.Fixed, s.GainedMTLS, s.Changed, s.Compared)
	if r.Scope.Full {
		b.WriteString("; every path recomputed)\n")
	} else {
		fmt.Fprintf(&b, "; %d Services and the gateway routes recomputed)\n", r.Scope.Services)
	}
	if s.FindingsAdded+s.FindingsRemoved > 0 {
		fmt.Fprintf(&b, "Findings: %d new, %d gone\n", s.FindingsAdded, s.FindingsRemoved)
	}
	cat := ""
	for _, c := range r.Changes {
		if c.Category != cat {
			cat = c.Category
			fmt.Fprintf(&b, "\n%s:\n", strings.ToUpper(cat))
		}
		from := fmt.Sprintf("%d client(s): %s", c.Clients, strings.Join(c.Sample, ", "))
		if c.Clients > len(c.Sample) {
			from += ", ..."
		}
		if c.Gateway != "" {
			from = c.Gateway
		}
		fmt.Fprintf(&b, "  %s -> %s\n    %s => %s\n", from, c.To, c.Before, c.After)
		if c.Why != "" {
			fmt.Fprintf(&b, "    why: %s\n", c.Why)
		}
		for _, o := range c.Objects {
			fmt.Fprintf(&b, "    at: %s\n", refText(o))
		}
	}
	for _, f := range r.FindingsAdded {
		fmt.Fprintf(&b, "\nnew finding: %s [%s] (%s) %s", f.Severity, f.Code, refText(f.Object), f.Message)
	}
	for _, f := range r.FindingsRemoved {
		fmt.Fprintf(&b, "\ngone finding: %s [%s] (%s) %s", f.Severity, f.Code, refText(f.Object), f.Message)
	}
	if len(r.FindingsAdded)+len(r.FindingsRemoved) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

// refText is "Kind ns/name file:line field".
func refText(r objects.Ref) string {
	if r.Field == "" {
		return r.String()
	}
	return r.String() + " " + r.Field
}
