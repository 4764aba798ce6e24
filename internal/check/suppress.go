package check

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// IgnoreAnnotation suppresses findings on the object that carries it:
// `meshdoctor.io/ignore: "MD0103: reason"`; several entries are separated by
// ";", one entry may name several codes ("MD0103,MD0105: reason").
const IgnoreAnnotation = "meshdoctor.io/ignore"

// Ignore is one --ignore CODE[=Kind ns/name glob] flag.
type Ignore struct {
	Raw  string
	Code string
	// Glob matches "Kind ns/name" (or "Kind name" for cluster-scoped kinds);
	// "*" matches any run of characters. Empty: every object.
	Glob string
	re   *regexp.Regexp
}

// ParseIgnore reads a --ignore value against the known checks.
func ParseIgnore(s string, checks []*Check) (Ignore, error) {
	code, glob, _ := strings.Cut(s, "=")
	code = strings.TrimSpace(code)
	glob = strings.TrimSpace(glob)
	if !knownCode(code, checks) {
		return Ignore{}, fmt.Errorf("--ignore %q: unknown check code %q (see `meshdoctor checks`)", s, code)
	}
	ig := Ignore{Raw: s, Code: code, Glob: glob}
	if glob != "" {
		parts := strings.Split(glob, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		ig.re = regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
	}
	return ig, nil
}

func knownCode(code string, checks []*Check) bool {
	for _, c := range checks {
		if c.Code == code {
			return true
		}
	}
	return false
}

func (ig *Ignore) matches(f *Finding) bool {
	if f.Code != ig.Code {
		return false
	}
	if ig.re == nil {
		return true
	}
	o := objects.Key{Kind: f.Object.Kind, Namespace: f.Object.Namespace, Name: f.Object.Name}
	return ig.re.MatchString(o.String())
}

// annotationEntry is one entry of an ignore annotation.
type annotationEntry struct {
	obj    *objects.Object
	codes  []string
	reason string
	used   bool
}

type suppressions struct {
	byObj    map[objects.Key][]*annotationEntry
	entries  []*annotationEntry
	flags    []Ignore
	flagUsed []bool
	problems []Finding
}

type annotated interface{ GetAnnotations() map[string]string }

// collectSuppressions reads the annotations of every object and the flags.
func collectSuppressions(x *mesh.Index, checks []*Check, flags []Ignore) *suppressions {
	s := &suppressions{byObj: map[objects.Key][]*annotationEntry{}, flags: flags, flagUsed: make([]bool, len(flags))}
	for _, o := range x.Objects {
		a, ok := o.Typed.(annotated)
		if !ok {
			continue
		}
		v, ok := a.GetAnnotations()[IgnoreAnnotation]
		if !ok {
			continue
		}
		field := objects.Child("metadata.annotations", IgnoreAnnotation)
		for _, part := range strings.Split(v, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			codesText, reason, _ := strings.Cut(part, ":")
			reason = strings.TrimSpace(reason)
			var codes []string
			bad := ""
			for _, c := range strings.Split(codesText, ",") {
				c = strings.TrimSpace(c)
				if !knownCode(c, checks) {
					bad = fmt.Sprintf("names an unknown check code %q", c)
					break
				}
				codes = append(codes, c)
			}
			if bad == "" && reason == "" {
				bad = "gives no reason (write \"CODE: why this is fine\")"
			}
			if bad != "" {
				s.problems = append(s.problems, Finding{
					Code: InvalidSuppression.Code, Check: InvalidSuppression.Name, Severity: InvalidSuppression.Severity,
					Object:  o.Ref(field),
					Message: fmt.Sprintf("the %s entry %q %s, so it suppresses nothing", IgnoreAnnotation, part, bad),
				})
				continue
			}
			e := &annotationEntry{obj: o, codes: codes, reason: reason}
			s.byObj[o.Key()] = append(s.byObj[o.Key()], e)
			s.entries = append(s.entries, e)
		}
	}
	return s
}

// apply removes suppressed findings and counts them in res.
func (s *suppressions) apply(fs []Finding, res *Result) []Finding {
	kept := make([]Finding, 0, len(fs)) // a Finding is large: grow once
	for i := range fs {
		f := &fs[i]
		if f.Code == InternalError.Code {
			kept = append(kept, *f)
			continue
		}
		hit := false
		key := objects.Key{Kind: f.Object.Kind, Namespace: f.Object.Namespace, Name: f.Object.Name}
		for _, e := range s.byObj[key] {
			for _, c := range e.codes {
				if c == f.Code {
					e.used, hit = true, true
				}
			}
		}
		for j := range s.flags {
			if s.flags[j].matches(f) {
				s.flagUsed[j], hit = true, true
			}
		}
		if hit {
			res.Suppressed++
			continue
		}
		kept = append(kept, *f)
	}
	if len(kept) == 0 {
		return nil // as before any finding: JSON null, not []
	}
	return kept
}

// unused reports the annotation entries and flags that suppressed nothing.
func (s *suppressions) unused() []Finding {
	var out []Finding
	for _, e := range s.entries {
		if e.used {
			continue
		}
		out = append(out, Finding{
			Code: UnusedSuppression.Code, Check: UnusedSuppression.Name, Severity: UnusedSuppression.Severity,
			Object:  e.obj.Ref(objects.Child("metadata.annotations", IgnoreAnnotation)),
			Message: fmt.Sprintf("the %s entry for %s suppresses nothing: no such finding on %s", IgnoreAnnotation, strings.Join(e.codes, ","), e.obj.Key()),
		})
	}
	var flags []string
	for j, ig := range s.flags {
		if !s.flagUsed[j] {
			flags = append(flags, ig.Raw)
		}
	}
	sort.Strings(flags)
	for _, raw := range flags {
		out = append(out, Finding{
			Code: UnusedSuppression.Code, Check: UnusedSuppression.Name, Severity: UnusedSuppression.Severity,
			Object:  objects.Ref{Kind: "Flag", Name: "--ignore=" + raw},
			Message: fmt.Sprintf("--ignore %s suppresses nothing: no finding matches it", raw),
		})
	}
	return out
}
