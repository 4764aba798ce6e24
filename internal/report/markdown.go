package report

import (
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
)

// CheckMarkdown is one check's documentation as a Markdown section.
func CheckMarkdown(c *check.Check) string {
	return fmt.Sprintf("## %s %s\n\n`%s`, default severity %s.\n\n%s", c.Code, c.Doc.Title, c.Name, c.Severity, RuleHelp(c))
}

// ChecksMarkdown is docs/checks.md: every check, generated from the code.
func ChecksMarkdown(checks []*check.Check) string {
	var b strings.Builder
	b.WriteString("# meshdoctor checks\n\n<!-- Generated from the checks' docs by `go test ./internal/cli -update`; do not edit. -->\n\n")
	b.WriteString("`meshdoctor check` runs every check below. Suppress a finding with the annotation\n`meshdoctor.io/ignore: \"CODE: reason\"` on the object, or with `--ignore CODE[=Kind ns/name glob]`.\n\n")
	b.WriteString("| code | severity | name | title |\n|---|---|---|---|\n")
	for _, c := range checks {
		fmt.Fprintf(&b, "| [%s](#%s) | %s | `%s` | %s |\n", c.Code, strings.ToLower(c.Code)+"-"+anchor(c.Doc.Title), c.Severity, c.Name, c.Doc.Title)
	}
	for _, c := range checks {
		b.WriteString("\n" + CheckMarkdown(c))
	}
	return b.String()
}

// anchor is GitHub's heading anchor of a title.
func anchor(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
