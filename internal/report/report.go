// Package report renders the findings of a check run: text in istioctl
// analyze's line format, JSON, YAML and SARIF 2.1.0. It is the only place
// that knows about output formats; the findings are plain data.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Formats are the output formats of `check`.
var Formats = []string{"text", "json", "yaml", "sarif"}

// Input is what a renderer needs.
type Input struct {
	Result *check.Result
	// Checks are the checks that ran (SARIF rules).
	Checks []*check.Check
	// Version is meshdoctor's version; BaseDir makes absolute file paths
	// relative (SARIF artifact URIs); both injected for deterministic output.
	Version string
	BaseDir string
}

// Summary counts findings by severity.
type Summary struct {
	Errors     int `json:"errors"`
	Warnings   int `json:"warnings"`
	Infos      int `json:"infos"`
	Suppressed int `json:"suppressed"`
}

// Summarize counts the findings of r.
func Summarize(r *check.Result) Summary {
	s := Summary{Suppressed: r.Suppressed}
	for _, f := range r.Findings {
		switch f.Severity {
		case check.Error:
			s.Errors++
		case check.Warning:
			s.Warnings++
		default:
			s.Infos++
		}
	}
	return s
}

// Write renders in to w in format.
func Write(w io.Writer, format string, in Input) error {
	switch format {
	case "text":
		return Text(w, in)
	case "json", "yaml":
		return Data(w, format, in)
	case "sarif":
		return SARIF(w, in)
	}
	return fmt.Errorf("unknown output format %q", format)
}

// Text writes one line per finding in istioctl analyze's format,
// `Error [MD0101] (DestinationRule ns/name file.yaml:12) message`, then the
// related objects and the verified fixes indented below it.
func Text(w io.Writer, in Input) error {
	r := in.Result
	if len(r.Findings) == 0 {
		fmt.Fprint(w, "✔ No issues found")
		if r.Suppressed > 0 {
			fmt.Fprintf(w, " (%d suppressed)", r.Suppressed)
		}
		_, err := fmt.Fprintln(w, ".")
		return err
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "%s [%s] (%s) %s\n", f.Severity, f.Code, objectText(f.Object), f.Message)
		if f.Object.Field != "" {
			fmt.Fprintf(w, "    field: %s\n", f.Object.Field)
		}
		for _, rel := range f.Related {
			fmt.Fprintf(w, "    related: %s\n", refText(rel))
		}
		for _, a := range f.Assumptions {
			fmt.Fprintf(w, "    assuming: %s\n", a)
		}
		for _, fx := range f.Fixes {
			fmt.Fprintf(w, "    fix (verified): %s\n", fx.Summary)
			for _, l := range strings.Split(strings.TrimRight(fx.Patch, "\n"), "\n") {
				fmt.Fprintf(w, "      %s\n", l)
			}
		}
	}
	s := Summarize(r)
	_, err := fmt.Fprintf(w, "\n%d errors, %d warnings, %d info, %d suppressed\n", s.Errors, s.Warnings, s.Infos, s.Suppressed)
	if err == nil && r.FixesSkipped > 0 {
		_, err = fmt.Fprintf(w, "%d findings have fix candidates that were not verified (--max-fixes)\n", r.FixesSkipped)
	}
	return err
}

// objectText is "Kind ns/name file:line".
func objectText(r objects.Ref) string {
	k := objects.Key{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}.String()
	if p := r.Pos().String(); p != "" {
		k += " " + p
	}
	return k
}

func refText(r objects.Ref) string {
	s := objectText(r)
	if r.Field != "" {
		s += " (" + r.Field + ")"
	}
	return s
}

// data is the JSON/YAML document.
type data struct {
	Findings []check.Finding `json:"findings"`
	Summary  Summary         `json:"summary"`
}

// Data writes the findings as JSON or YAML.
func Data(w io.Writer, format string, in Input) error {
	d := data{Findings: in.Result.Findings, Summary: Summarize(in.Result)}
	if d.Findings == nil {
		d.Findings = []check.Finding{}
	}
	if format == "yaml" {
		b, err := yaml.Marshal(d)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// relURI makes a file path a relative, slash-separated URI.
func relURI(base, file string) string {
	if filepath.IsAbs(file) && base != "" {
		if rel, err := filepath.Rel(base, file); err == nil && !strings.HasPrefix(rel, "..") {
			file = rel
		}
	}
	return filepath.ToSlash(file)
}
