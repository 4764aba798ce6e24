// Package check is meshdoctor's checker: the Check type, the Finding a check
// reports, and the driver that runs an explicit list of checks over the
// engine's decisions (package resolve), applies suppressions and verifies
// fixes by running the checks again on the patched mesh.
//
// A check is one exported value in a package of its own under checks/; it
// reads the mesh index and asks the engine, never re-deciding Istio's
// semantics itself. Checks never import the driver's callers (cli, report)
// and never touch files, the cluster or stdout.
package check

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Severity of a finding. The order matters: Error > Warning > Info.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota + 1
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "Info"
	case Warning:
		return "Warning"
	case Error:
		return "Error"
	}
	return "Unknown"
}

// MarshalText writes the severity's name, for JSON and YAML.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads "error", "warning" or "info" (any case).
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "error":
		return Error, nil
	case "warning":
		return Warning, nil
	case "info":
		return Info, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// Doc is a check's documentation, kept next to its code. The CLI's `checks`
// command, docs/checks.md and the SARIF rules are generated from it.
type Doc struct {
	// Title is a short noun phrase, no trailing period.
	Title string
	// What the check finds, Why it matters (what Istio does, with a citation),
	// an Example of YAML it reports, and how to Fix it. Plain text; Example is YAML.
	What, Why, Example, Fix string
}

// Check is one check.
type Check struct {
	// Code is stable: "MD" and four digits. It never changes meaning.
	Code string
	// Name is a short kebab-case name, e.g. "loopback-bind".
	Name     string
	Severity Severity
	Doc      Doc
	// Run reports the check's findings on the pass.
	Run func(p *Pass)
}

var (
	codeRE = regexp.MustCompile(`^MD[0-9]{4}$`)
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
)

// Validate checks a list of checks before any run: codes and names well
// formed and unique, the list sorted by code, every doc complete.
func Validate(checks []*Check) error {
	codes, names := map[string]bool{}, map[string]bool{}
	for i, c := range checks {
		switch {
		case !codeRE.MatchString(c.Code):
			return fmt.Errorf("check %q: code %q is not MD and four digits", c.Name, c.Code)
		case !nameRE.MatchString(c.Name):
			return fmt.Errorf("check %s: name %q is not kebab-case", c.Code, c.Name)
		case codes[c.Code]:
			return fmt.Errorf("check %s: code used twice", c.Code)
		case names[c.Name]:
			return fmt.Errorf("check %s: name %q used twice", c.Code, c.Name)
		case i > 0 && checks[i-1].Code >= c.Code:
			return fmt.Errorf("check %s: the list is not sorted by code (after %s)", c.Code, checks[i-1].Code)
		case c.Severity < Info || c.Severity > Error:
			return fmt.Errorf("check %s: no severity", c.Code)
		case c.Run == nil && !strings.HasPrefix(c.Code, "MD00"):
			return fmt.Errorf("check %s: no Run", c.Code)
		case c.Doc.Title == "" || c.Doc.What == "" || c.Doc.Why == "" || c.Doc.Fix == "":
			return fmt.Errorf("check %s: the doc needs a title, what, why and fix", c.Code)
		case strings.HasSuffix(c.Doc.Title, "."):
			return fmt.Errorf("check %s: the title ends with a period", c.Code)
		}
		codes[c.Code], names[c.Name] = true, true
	}
	return nil
}

// Finding is one thing a check found.
type Finding struct {
	Code     string   `json:"code"`
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	// Message is one specific sentence.
	Message string `json:"message"`
	// Object is the object (and field) the finding points at.
	Object objects.Ref `json:"object"`
	// Related are the other objects involved (the policy that wins, the
	// callers affected, ...).
	Related     []objects.Ref `json:"related,omitempty"`
	Assumptions []string      `json:"assumptions,omitempty"`
	Fixes       []Fix         `json:"fixes,omitempty"`
	// Suppressed says what suppressed the finding (only with Options.KeepSuppressed).
	Suppressed string `json:"suppressed,omitempty"`

	// candidates make the fix candidates when the driver verifies them.
	candidates []func() []Candidate
}

// Fix is a change that makes the finding disappear without a new error,
// verified by running the checks again on the patched mesh.
type Fix struct {
	Summary string `json:"summary"`
	// Patch is YAML: a new object, a patch of an existing one (strategic merge
	// for Kubernetes kinds, JSON merge for Istio kinds), or a delete command.
	Patch  string      `json:"patch"`
	Target objects.Ref `json:"target"`
}

// Candidate is a fix a check proposes; the driver keeps it only when verified.
type Candidate struct {
	Summary string
	Changes []trace.Change
}

// Pass is what a check sees: the mesh and the engine's decisions.
type Pass struct {
	X      *mesh.Index
	Engine *resolve.Engine
	// Paths is shared work that several checks read (the evaluated paths),
	// computed at most once per run.
	shared map[string]any
	fixes  bool
	// budget is the number of findings that may still get fixes (nil: no bound).
	budget *int

	check    *Check
	findings []Finding
}

// Shared returns the value computed by fn for key, computing it once per run:
// work several checks need (like Requires in go/analysis).
func (p *Pass) Shared(key string, fn func() any) any {
	if v, ok := p.shared[key]; ok {
		return v
	}
	v := fn()
	p.shared[key] = v
	return v
}

// Fixes reports whether the run wants fixes. Checks that find fixes by other
// means than a Candidate (path checks reuse trace's fixes, verified by tracing
// the patched mesh) compute them only then.
func (p *Pass) Fixes() bool { return p.fixes && (p.budget == nil || *p.budget > 0) }

// TakeFix reserves the fixes of one finding out of Options.MaxFixes; it
// returns false when the run wants no (more) fixes.
func (p *Pass) TakeFix() bool {
	if !p.Fixes() {
		return false
	}
	if p.budget != nil {
		*p.budget--
	}
	return true
}

// Report records a finding of the running check. Code, Check and Severity are
// filled from the check when empty.
func (p *Pass) Report(f Finding) {
	if f.Code == "" {
		f.Code = p.check.Code
	}
	if f.Check == "" {
		f.Check = p.check.Name
	}
	if f.Severity == 0 {
		f.Severity = p.check.Severity
	}
	p.findings = append(p.findings, f)
}

// Reportf reports a finding on the field at path of o, with a formatted
// message, and returns it for the caller to add related objects or fixes.
func (p *Pass) Reportf(o *objects.Object, path string, format string, args ...any) *Finding {
	p.Report(Finding{Object: o.Ref(path), Message: fmt.Sprintf(format, args...)})
	return &p.findings[len(p.findings)-1]
}

// Propose adds a fix candidate to the finding; the driver verifies it.
func (f *Finding) Propose(c Candidate) {
	f.candidates = append(f.candidates, func() []Candidate { return []Candidate{c} })
}

// ProposeFunc adds the candidates fn makes, called only when the driver
// verifies the finding's fixes: making a change copies an object, and a
// large mesh has thousands of findings of which Options.MaxFixes get fixes.
func (f *Finding) ProposeFunc(fn func() []Candidate) { f.candidates = append(f.candidates, fn) }

// Relate adds related references, without duplicates.
func (f *Finding) Relate(refs ...objects.Ref) {
	if len(refs) > 8 && len(f.Related)+len(refs) > 32 {
		// A path finding may relate thousands of Service ports at once.
		seen := make(map[objects.Ref]bool, len(f.Related)+len(refs))
		for _, o := range f.Related {
			seen[o] = true
		}
		for _, r := range refs {
			if r.Kind != "" && !seen[r] {
				seen[r] = true
				f.Related = append(f.Related, r)
			}
		}
		return
	}
next:
	for _, r := range refs {
		if r.Kind == "" {
			continue
		}
		for _, o := range f.Related {
			if o == r {
				continue next
			}
		}
		f.Related = append(f.Related, r)
	}
}

// key identifies a finding across runs on patched meshes: code, object and
// message (positions change when a patch moves lines).
func (f *Finding) key() string {
	return f.Code + "|" + f.Object.Kind + "|" + f.Object.Namespace + "|" + f.Object.Name + "|" + f.Object.Field + "|" + f.Message
}

// Sort orders findings by file, line, code, object, then message: the order of
// the text report. Each object is written out once, not per comparison (a
// large mesh has thousands of findings).
func Sort(fs []Finding) {
	objs := make([]string, len(fs))
	idx := make([]int, len(fs))
	for i := range fs {
		objs[i], idx[i] = fs[i].Object.String(), i
	}
	sort.SliceStable(idx, func(x, y int) bool {
		i, j := idx[x], idx[y]
		a, b := &fs[i], &fs[j]
		if a.Object.File != b.Object.File {
			return a.Object.File < b.Object.File
		}
		if a.Object.Line != b.Object.Line {
			return a.Object.Line < b.Object.Line
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if objs[i] != objs[j] {
			return objs[i] < objs[j]
		}
		return a.Message < b.Message
	})
	sorted := make([]Finding, len(fs))
	for k, i := range idx {
		sorted[k] = fs[i]
	}
	copy(fs, sorted)
}
