package report

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/), the subset
// code scanning reads: one run, the rules from the checks' docs, one result
// per finding with the object's file (relative URI) and start line.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name"`
	ShortDescription     sarifText    `json:"shortDescription"`
	FullDescription      sarifText    `json:"fullDescription"`
	Help                 sarifText    `json:"help"`
	DefaultConfiguration sarifRuleCfg `json:"defaultConfiguration"`
}

type sarifRuleCfg struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID           string          `json:"ruleId"`
	RuleIndex        int             `json:"ruleIndex"`
	Level            string          `json:"level"`
	Message          sarifText       `json:"message"`
	Locations        []sarifLocation `json:"locations,omitempty"`
	RelatedLocations []sarifLocation `json:"relatedLocations,omitempty"`
	Properties       *sarifProps     `json:"properties,omitempty"`
}

type sarifProps struct {
	Object      string   `json:"object"`
	Field       string   `json:"field,omitempty"`
	Assumptions []string `json:"assumptions,omitempty"`
	Fixes       []string `json:"fixes,omitempty"`
}

type sarifLocation struct {
	ID               *int          `json:"id,omitempty"`
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	Message          *sarifText    `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

func sarifLevel(s check.Severity) string {
	switch s {
	case check.Error:
		return "error"
	case check.Warning:
		return "warning"
	}
	return "note"
}

// RuleHelp is a check's doc as Markdown: what, why, example, fix.
func RuleHelp(c *check.Check) string {
	var b strings.Builder
	b.WriteString(c.Doc.What + "\n\n**Why:** " + c.Doc.Why + "\n")
	if c.Doc.Example != "" {
		b.WriteString("\n**Example:**\n\n```yaml\n" + c.Doc.Example + "\n```\n")
	}
	b.WriteString("\n**Fix:** " + c.Doc.Fix + "\n")
	return b.String()
}

// SARIF writes the findings as a SARIF 2.1.0 log.
func SARIF(w io.Writer, in Input) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{
		Name: "meshdoctor", Version: in.Version,
		InformationURI: "https://github.com/meshdoctor/meshdoctor/blob/main/docs/checks.md",
	}}, Results: []sarifResult{}}
	index := map[string]int{}
	for i, c := range in.Checks {
		index[c.Code] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: c.Code, Name: c.Name,
			ShortDescription:     sarifText{Text: c.Doc.Title},
			FullDescription:      sarifText{Text: c.Doc.What},
			Help:                 sarifText{Text: c.Doc.What + " Fix: " + c.Doc.Fix, Markdown: RuleHelp(c)},
			DefaultConfiguration: sarifRuleCfg{Level: sarifLevel(c.Severity)},
		})
	}
	for _, f := range in.Result.Findings {
		r := sarifResult{
			RuleID: f.Code, RuleIndex: index[f.Code], Level: sarifLevel(f.Severity),
			Message:    sarifText{Text: f.Message},
			Properties: &sarifProps{Object: objectText(f.Object), Field: f.Object.Field, Assumptions: f.Assumptions},
		}
		if l, ok := location(in.BaseDir, f.Object, ""); ok {
			r.Locations = []sarifLocation{l}
		}
		for i, rel := range f.Related {
			if l, ok := location(in.BaseDir, rel, refText(rel)); ok {
				id := i + 1
				l.ID = &id
				r.RelatedLocations = append(r.RelatedLocations, l)
			}
		}
		for _, fx := range f.Fixes {
			r.Properties.Fixes = append(r.Properties.Fixes, fx.Summary+"\n"+fx.Patch)
		}
		run.Results = append(run.Results, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

func location(base string, r objects.Ref, msg string) (sarifLocation, bool) {
	if r.File == "" || strings.HasPrefix(r.File, "(") {
		return sarifLocation{}, false
	}
	l := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: relURI(base, r.File)}}}
	if r.Line > 0 {
		l.PhysicalLocation.Region = &sarifRegion{StartLine: r.Line}
	}
	if msg != "" {
		l.Message = &sarifText{Text: msg}
	}
	return l, true
}
