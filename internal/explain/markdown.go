package explain

import (
	"fmt"
	"strings"
)

// TableMarkdown renders Table for docs/explain.md: one line per row with the
// causes it points to, those it rules out, and its source.
func TableMarkdown() string {
	var b strings.Builder
	b.WriteString("| row | field | matches (normalised) | meaning | points to | rules out | source |\n|---|---|---|---|---|---|---|\n")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, r := range Table {
		var sup, ex []string
		for _, e := range r.Effects {
			if e.Level == Exclude {
				ex = append(ex, e.Cause)
				continue
			}
			sup = append(sup, fmt.Sprintf("%s (%s)", e.Cause, map[Level]string{Strong: High, Medium: MediumL, Weak: Low}[e.Level]))
		}
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s | %s | %s | %s |\n", r.ID, r.Field, esc(r.Match.String()), esc(r.Meaning), strings.Join(sup, ", "), strings.Join(ex, ", "), esc(r.Source))
	}
	return b.String()
}
