package explain

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Likelihoods, most likely first.
const (
	High     = "high"
	MediumL  = "medium"
	Low      = "low"
	Excluded = "excluded"
)

var likelihoodOrder = map[string]int{High: 0, MediumL: 1, Low: 2, Excluded: 3}

// Cause is one ranked candidate.
type Cause struct {
	Cause      string `json:"cause"`
	Likelihood string `json:"likelihood"`
	Why        string `json:"why"`
	Check      string `json:"check"`
	// Evidence are the table rows (and "trace") that decided the likelihood.
	Evidence []string `json:"evidence,omitempty"`
}

// Report is the "explain JSON" of SPEC.md.
type Report struct {
	Input   string   `json:"input"`
	Parsed  *Parsed  `json:"parsed"`
	Causes  []Cause  `json:"causes"`
	Summary string   `json:"summary"`
	Notes   []string `json:"notes,omitempty"`
	// Trace is the request traced on the configuration, when given.
	Trace *trace.Trace `json:"trace,omitempty"`
}

// fieldPriority orders evidence from the most specific part of an input to
// the least: the reason Envoy gives for a failure says more than its flag.
var fieldPriority = map[Field]int{FieldCurl: 0, FieldTransport: 1, FieldDetails: 2, FieldReset: 3, FieldFlag: 4, FieldCluster: 5, FieldBody: 6, FieldRetried: 7, FieldTermination: 8, FieldStatus: 9}

var rowByID = func() map[string]*Row {
	m := make(map[string]*Row, len(Table))
	for i := range Table {
		m[Table[i].ID] = &Table[i]
	}
	return m
}()

// Explain parses text and ranks the causes.
func Explain(text string) (*Report, error) {
	p, err := Parse(text)
	if err != nil {
		return nil, err
	}
	r := &Report{Input: strings.TrimSpace(text), Parsed: p, Causes: Rank(p)}
	if p.logLines > 1 {
		r.Notes = append(r.Notes, fmt.Sprintf("the input has %d access-log lines; explain reads the first one only", p.logLines))
	}
	r.Summary = r.summarize()
	return r, nil
}

type hit struct {
	row *Row
	eff Effect
}

// matchedRows are the rows the parts matched, most specific field first, then
// in table order; each row once.
func matchedRows(p *Parsed) []*Row {
	seen := map[string]bool{}
	var rows []*Row
	for _, part := range p.Parts {
		for _, id := range part.Rows {
			if !seen[id] {
				seen[id] = true
				rows = append(rows, rowByID[id])
			}
		}
	}
	idx := map[string]int{}
	for i, r := range Table {
		idx[r.ID] = i
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if a, b := fieldPriority[rows[i].Field], fieldPriority[rows[j].Field]; a != b {
			return a < b
		}
		return idx[rows[i].ID] < idx[rows[j].ID]
	})
	return rows
}

// Rank combines the effects of the rows the input matched: any exclusion rules
// a cause out; otherwise its strongest support decides (strong: high, medium:
// medium, weak or none: low). Sorted by likelihood, then in Causes order.
func Rank(p *Parsed) []Cause {
	rows := matchedRows(p)
	out := make([]Cause, 0, len(Causes))
	for _, c := range Causes {
		var excl, best []hit
		var evidence []string
		for _, r := range rows {
			for _, e := range r.Effects {
				if e.Cause != c {
					continue
				}
				evidence = append(evidence, r.ID)
				switch {
				case e.Level == Exclude:
					excl = append(excl, hit{r, e})
				case len(best) == 0 || e.Level > best[0].eff.Level:
					best = []hit{{r, e}}
				}
			}
		}
		rc := Cause{Cause: c, Evidence: dedupe(evidence)}
		switch {
		case len(excl) > 0:
			rc.Likelihood = Excluded
			rc.Why = excl[0].eff.Why
		case len(best) > 0:
			rc.Likelihood = map[Level]string{Strong: High, Medium: MediumL, Weak: Low}[best[0].eff.Level]
			rc.Why = best[0].eff.Why
			rc.Check = checkFor(c, p)
		default:
			rc.Likelihood = Low
			rc.Why = "nothing in the text points to it or rules it out"
			rc.Check = checkFor(c, p)
		}
		out = append(out, rc)
	}
	sortCauses(out, "")
	return out
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// sortCauses orders by likelihood, first the cause the configuration gives,
// then in Causes order.
func sortCauses(cs []Cause, first string) {
	pos := map[string]int{}
	for i, c := range Causes {
		pos[c] = i
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := likelihoodOrder[cs[i].Likelihood], likelihoodOrder[cs[j].Likelihood]
		if a != b {
			return a < b
		}
		if (cs[i].Cause == first) != (cs[j].Cause == first) {
			return cs[i].Cause == first
		}
		return pos[cs[i].Cause] < pos[cs[j].Cause]
	})
}

// checkFor says what to look at for a cause, with what the input told about
// the destination.
func checkFor(cause string, p *Parsed) string {
	port := "the Service's targetPort"
	if p.Port > 0 {
		port = fmt.Sprintf("port %d", p.Port)
	}
	dest := "the destination"
	if p.Host != "" {
		dest = p.Host
	}
	switch cause {
	case trace.CausePortNotListening:
		return fmt.Sprintf("that the application of %s listens on 0.0.0.0 (not 127.0.0.1/localhost) on %s, and that the Service's targetPort is that container port; `kubectl exec POD -c istio-proxy -- netstat -ltn` lists what listens", dest, port)
	case trace.CausePlaintextToStrict:
		return "whether the caller has a sidecar, any DestinationRule with tls.mode DISABLE for the host, and the server's PeerAuthentication mode on the port (STRICT)"
	case trace.CauseMTLSToNonMesh:
		return fmt.Sprintf("whether the pods of %s have an istio-proxy container, the PeerAuthentication mode on %s (DISABLE), and the DestinationRule that sets tls.mode ISTIO_MUTUAL for the caller", dest, port)
	case trace.CauseSANMismatch:
		return "the DestinationRule's tls.subjectAltNames against the server's identity spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT, and the trust domain and root CA of both sides"
	case trace.CauseTLSToSidecar:
		return "DestinationRules with tls.mode SIMPLE or MUTUAL for a host whose pods have a sidecar: use ISTIO_MUTUAL, or let auto mTLS decide"
	case trace.CauseAuthzDenied:
		return "the AuthorizationPolicies that select the server (CUSTOM, then DENY, then ALLOW: with any ALLOW policy, a request no rule matches is denied) against the caller's identity, method and path"
	case trace.CauseNoEndpoints:
		return "the Service's selector against the pod labels and readiness (`kubectl get endpointslices`), and the labels of the route's subset"
	case trace.CauseNoRoute:
		return "the Gateway servers (port, hosts) and the VirtualServices' hosts, gateways and matches for the host and path"
	case trace.CauseUnknownSubset:
		return "the route's destination.subset against the subsets of the DestinationRule for the host that the caller sees (namespace, exportTo)"
	case trace.CauseUnknownHost:
		return "the route's destination host against the Services and ServiceEntries, and meshConfig.outboundTrafficPolicy"
	}
	return ""
}

func (r *Report) summarize() string {
	top := r.Causes[0]
	if top.Likelihood == High || top.Likelihood == MediumL {
		s := fmt.Sprintf("most likely %s: %s", top.Cause, top.Why)
		var excl []string
		mtlsWhy := ""
		for _, c := range r.Causes {
			if c.Likelihood == Excluded && contains(tlsFamily, c.Cause) {
				excl = append(excl, c.Cause)
				if c.Cause == trace.CauseMTLSToNonMesh {
					mtlsWhy = c.Why
				}
			}
		}
		if len(excl) == len(tlsFamily) && top.Cause != "" {
			s += fmt.Sprintf(". No mTLS mismatch fits (%s are excluded): %s", strings.Join(excl, ", "), mtlsWhy)
		}
		return s
	}
	for _, row := range matchedRows(r.Parsed) {
		if row.Note != "" {
			return "no cause code fits well: " + row.Note
		}
	}
	if top.Likelihood == Excluded {
		return "every cause code is excluded: " + top.Why
	}
	return "nothing in the text singles out a cause; give an access-log line of the proxy that answered, or manifests with --from/--to"
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// Narrow adds what the configuration says: the trace of the request. The
// cause the trace finds becomes high and first when the text allows it; other
// causes the text left open become low. When the text rules out the
// configuration's cause, or the configuration lets the request through, the
// ranking stays the text's and the summary says so.
func (r *Report) Narrow(t *trace.Trace) {
	r.Trace = t
	if t.Result == trace.ResultOK {
		r.Summary = fmt.Sprintf("the configuration lets %s -> %s through (%s), so the error comes from something the manifests do not show (a pod not ready or crashing, a port changed at run time, manifests that differ from what runs); from the text alone, %s", t.From, t.To, orNone(t.Security), r.Summary)
		return
	}
	idx := -1
	for i, c := range r.Causes {
		if c.Cause == t.Cause {
			idx = i
		}
	}
	if idx < 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("the configuration fails with %s, a code explain does not rank", t.Cause))
		return
	}
	where, first := failingHop(t)
	if r.Causes[idx].Likelihood == Excluded {
		r.Summary = fmt.Sprintf("the configuration fails with %s (%s), but the text rules it out: %s; the manifests may differ from what runs, or the text comes from another request", t.Cause, where, r.Causes[idx].Why)
		return
	}
	for i := range r.Causes {
		c := &r.Causes[i]
		if i == idx {
			c.Likelihood = High
			c.Why = "the configuration produces it: " + t.Summary
			c.Check = where
			c.Evidence = append(c.Evidence, "trace")
			continue
		}
		if c.Likelihood != Excluded {
			c.Likelihood = Low
			c.Why = fmt.Sprintf("the configuration fails with %s before this could matter; from the text alone: %s", t.Cause, c.Why)
		}
	}
	sortCauses(r.Causes, t.Cause)
	r.Summary = fmt.Sprintf("the configuration produces %s at %s", t.Cause, first)
}

func orNone(s string) string {
	if s == "" {
		return "no security"
	}
	return s
}

// failingHop names the failing hop and the objects (file:line) that decided
// it, and the first of them (the one the trace names first).
func failingHop(t *trace.Trace) (all, first string) {
	for i := len(t.Hops) - 1; i >= 0; i-- {
		h := t.Hops[i]
		if h.Status != trace.HopFail {
			continue
		}
		var objs []string
		for _, o := range h.Objects {
			s := o.String()
			if o.Field != "" {
				s += " (" + o.Field + ")"
			}
			objs = append(objs, s)
		}
		if len(objs) == 0 {
			return "the " + h.Step + " hop", "the " + h.Step + " hop"
		}
		return "the " + h.Step + " hop: " + strings.Join(objs, "; "), objs[0]
	}
	return "no failing hop", "no failing hop"
}
