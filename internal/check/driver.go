package check

import (
	"fmt"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// The driver's own checks: they have no Run; the driver reports them.
var (
	InternalError = &Check{
		Code: "MD0001", Name: "internal-error", Severity: Error,
		Doc: Doc{
			Title: "A check failed",
			What:  "A check panicked while it ran. Its other findings on this input are missing.",
			Why:   "A crash must not hide the findings of the other checks; it is reported as a finding instead, with the panic's message.",
			Fix:   "Report the message and the input to the meshdoctor maintainers; suppress the code meanwhile with --ignore MD0001.",
		},
	}
	InvalidSuppression = &Check{
		Code: "MD0002", Name: "invalid-suppression", Severity: Error,
		Doc: Doc{
			Title:   "A suppression annotation that cannot be read",
			What:    "A meshdoctor.io/ignore annotation whose entries are not `CODE[,CODE]: reason`, name an unknown code, or give no reason.",
			Why:     "A suppression without a reason hides a finding nobody can re-evaluate later; an unknown code suppresses nothing while looking like it does.",
			Example: "metadata:\n  annotations:\n    meshdoctor.io/ignore: \"MD0103\"   # no reason",
			Fix:     "Write the annotation as `meshdoctor.io/ignore: \"MD0103: why this is fine\"`; separate several entries with `;`.",
		},
	}
	UnusedSuppression = &Check{
		Code: "MD0003", Name: "unused-suppression", Severity: Warning,
		Doc: Doc{
			Title:   "A suppression that suppresses nothing",
			What:    "A meshdoctor.io/ignore annotation entry or an --ignore flag that matched no finding.",
			Why:     "Stale suppressions hide the next real finding of that code on the object.",
			Example: "metadata:\n  annotations:\n    meshdoctor.io/ignore: \"MD0201: host is created later\"  # but the host exists now",
			Fix:     "Remove the entry or the flag.",
		},
	}
)

// Options tune a run.
type Options struct {
	// Ignore are the --ignore flags.
	Ignore []Ignore
	// Fixes verifies the fixes the checks propose (each costs a rebuild of the
	// mesh and a run of every check); without it findings carry no fixes.
	Fixes bool
	// MaxFixes bounds the number of findings that get fixes (0: no bound):
	// fixes cost a rebuild of part of the mesh each (or a trace with fixes, for
	// path findings). Findings beyond it have no fixes; Result.FixesSkipped
	// counts those that had candidates (or, proposed with ProposeFunc, could
	// have had: they are made only for the findings verified).
	// Verification is scoped to the namespaces a finding concerns (see verifier).
	MaxFixes int
}

// Result is the outcome of a run.
type Result struct {
	Findings []Finding `json:"findings"`
	// Suppressed counts the findings left out by annotations and --ignore.
	Suppressed int `json:"suppressed"`
	// FixesSkipped counts findings whose fix candidates were not verified (MaxFixes).
	FixesSkipped int `json:"fixes_skipped,omitempty"`
}

// Max returns the highest severity among the findings (0 when none).
func (r *Result) Max() Severity {
	var m Severity
	for _, f := range r.Findings {
		m = max(m, f.Severity)
	}
	return m
}

// Run runs checks over x with the driver's suppressions and fix verification.
// checks must pass Validate.
func Run(x *mesh.Index, checks []*Check, opts Options) *Result {
	var budget *int
	if opts.MaxFixes > 0 {
		b := opts.MaxFixes
		budget = &b
	}
	raw := runChecks(x, checks, opts.Fixes, budget)
	res := &Result{}
	sup := collectSuppressions(x, checks, opts.Ignore)
	kept := sup.apply(append(raw, sup.problems...), res)
	kept = append(kept, sup.unused()...)
	if opts.Fixes {
		v := &verifier{x: x, checks: checks, before: raw}
		// Errors first: when the budget runs out, warnings go without fixes.
		order := make([]int, 0, len(kept))
		for _, sev := range []Severity{Error, Warning, Info} {
			for i := range kept {
				if kept[i].Severity == sev && len(kept[i].candidates) > 0 {
					order = append(order, i)
				}
			}
		}
		for _, i := range order {
			if budget != nil && *budget <= 0 {
				res.FixesSkipped++
				continue
			}
			// Made before the budget is charged: a proposer may find no
			// candidate, and must not take the place of one that has.
			cands := kept[i].makeCandidates()
			if len(cands) == 0 {
				continue
			}
			if budget != nil {
				*budget--
			}
			kept[i].Fixes = v.verify(&kept[i], cands)
		}
	}
	// The candidates' closures hold the run's engine and shared work: the
	// result must not.
	for i := range kept {
		kept[i].candidates = nil
	}
	Sort(kept)
	res.Findings = kept
	return res
}

// runChecks runs every check on a fresh engine; a panicking check becomes an
// MD0001 finding.
func runChecks(x *mesh.Index, checks []*Check, fixes bool, budget *int) []Finding {
	e := resolve.New(x)
	shared := map[string]any{}
	var out []Finding
	for _, c := range checks {
		if c.Run == nil {
			continue
		}
		p := &Pass{X: x, Engine: e, shared: shared, check: c, fixes: fixes, budget: budget}
		func() {
			defer func() {
				if r := recover(); r != nil {
					stack := string(debug.Stack())
					out = append(out, Finding{
						Code: InternalError.Code, Check: InternalError.Name, Severity: Error,
						Message: fmt.Sprintf("check %s (%s) panicked: %v", c.Code, c.Name, r),
						Object:  objects.Ref{Kind: "Check", Name: c.Code},
						Related: nil,
						// The first frame of the check, for the bug report.
						Assumptions: []string{"at " + panicSite(stack)},
					})
				}
			}()
			c.Run(p)
		}()
		out = append(out, p.findings...)
	}
	return out
}

// panicSite returns the first stack frame below the panic machinery.
func panicSite(stack string) string {
	lines := strings.Split(stack, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "panic(") && i+3 < len(lines) {
			return strings.TrimSpace(lines[i+3])
		}
	}
	return "unknown"
}

// verifier checks fix candidates by running the checks on the patched mesh.
//
// Rebuilding a 10,000-service mesh and running every check costs seconds, so
// a candidate is first verified on the namespaces it concerns (those of the
// changed objects, of the finding's object and related objects, and the root
// namespace): the finding must be there before the patch, gone after it, and
// no Error may appear that was not there before. Only when the scoped mesh
// does not reproduce the finding is the whole mesh used.
type verifier struct {
	x      *mesh.Index
	checks []*Check
	before []Finding
	// scoped caches the unpatched findings per namespace set.
	scoped map[string][]Finding
	// byNS holds the objects of each namespace ("" for cluster-scoped ones
	// and Namespace objects, under their own name), in load order.
	byNS map[string][]*objects.Object
}

// makeCandidates runs the finding's proposers.
func (f *Finding) makeCandidates() []Candidate {
	var cands []Candidate
	for _, mk := range f.candidates {
		cands = append(cands, mk()...)
	}
	return cands
}

func (v *verifier) verify(f *Finding, cands []Candidate) []Fix {
	var out []Fix
	for _, c := range cands {
		if len(c.Changes) == 0 || !v.holds(f, c) {
			continue
		}
		var patches []string
		ok := true
		for _, ch := range c.Changes {
			p, err := renderChange(ch)
			if err != nil {
				ok = false
				break
			}
			patches = append(patches, p)
		}
		if !ok {
			continue
		}
		target := c.Changes[0].New
		if c.Changes[0].Old != nil {
			target = c.Changes[0].Old
		}
		out = append(out, Fix{Summary: c.Summary, Patch: strings.Join(patches, "---\n"), Target: target.Ref("")})
	}
	return out
}

// holds reports whether candidate c removes f without a new error.
func (v *verifier) holds(f *Finding, c Candidate) bool {
	nss := map[string]bool{v.x.Mesh.RootNamespace: true, f.Object.Namespace: true}
	for _, r := range f.Related {
		nss[r.Namespace] = true
	}
	for _, ch := range c.Changes {
		for _, o := range []*objects.Object{ch.Old, ch.New} {
			if o != nil {
				nss[o.Namespace] = true
			}
		}
	}
	key := strings.Join(objects.SortedKeys(nss), ",")
	objs := v.scope(nss)
	if v.scoped == nil {
		v.scoped = map[string][]Finding{}
	}
	base, ok := v.scoped[key]
	if !ok {
		base = runChecks(trace.Rebuild(v.x, objs), v.checks, false, nil)
		v.scoped[key] = base
	}
	if !contains(base, f.key()) {
		// The finding needs more of the mesh than these namespaces: verify
		// on the whole mesh.
		objs, base = v.x.Objects, v.before
	}
	errs := map[string]bool{}
	for i := range base {
		if base[i].Severity == Error {
			errs[base[i].key()] = true
		}
	}
	after := runChecks(trace.Rebuild(v.x, trace.Apply(objs, c.Changes)), v.checks, false, nil)
	for i := range after {
		a := &after[i]
		if a.key() == f.key() || (a.Severity == Error && !errs[a.key()]) {
			return false
		}
	}
	return true
}

// scope returns the objects of the namespaces nss, their Namespace objects,
// and the objects without a namespace, in load order.
func (v *verifier) scope(nss map[string]bool) []*objects.Object {
	if v.byNS == nil {
		v.byNS = map[string][]*objects.Object{}
		for _, o := range v.x.Objects {
			ns := o.Namespace
			if o.Kind == "Namespace" && ns == "" {
				ns = o.Name
			}
			v.byNS[ns] = append(v.byNS[ns], o)
		}
	}
	out := append([]*objects.Object(nil), v.byNS[""]...)
	for ns := range nss {
		if ns != "" {
			out = append(out, v.byNS[ns]...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

func contains(fs []Finding, key string) bool {
	for i := range fs {
		if fs[i].key() == key {
			return true
		}
	}
	return false
}

// renderChange writes one change as YAML an operator can apply.
func renderChange(c trace.Change) (string, error) {
	if c.New == nil {
		o := c.Old
		ns := ""
		if o.Namespace != "" {
			ns = " -n " + o.Namespace
		}
		return fmt.Sprintf("# delete, defined at %s\n# kubectl delete %s%s %s\n", o.Pos.String(), strings.ToLower(o.Kind), ns, o.Name), nil
	}
	return trace.PatchYAML(c)
}
