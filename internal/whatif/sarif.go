package whatif

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
)

// categoryDocs describe each category as a SARIF rule.
var categoryDocs = map[string]string{
	Broken:       "A path that worked fails after the change.",
	NewlyDenied:  "A path that worked is denied by an AuthorizationPolicy after the change.",
	LostMTLS:     "A path that used Istio mTLS works after the change in plaintext or non-Istio TLS.",
	NowPlaintext: "A path that failed because the server required mTLS works after the change because the server accepts plaintext.",
	NewlyAllowed: "A path that an AuthorizationPolicy denied is allowed after the change.",
	Fixed:        "A path that failed works after the change.",
	GainedMTLS:   "A path works over Istio mTLS after the change where it did not before.",
	Changed:      "A failing path fails for another reason after the change.",
}

// level maps a category to a SARIF level: what breaks or weakens is an
// error (it fails the pull request), the rest is a note.
func level(cat string, allowWeaker bool) string {
	switch cat {
	case Broken, NewlyDenied:
		return "error"
	case LostMTLS, NowPlaintext, NewlyAllowed:
		if allowWeaker {
			return "warning"
		}
		return "error"
	}
	return "note"
}

// SARIF writes the report as SARIF 2.1.0: one result per path change, at the
// object that decides the new verdict. baseDir makes file URIs relative.
func (r *Report) SARIF(w io.Writer, version, baseDir string, allowWeaker bool) error {
	type loc = map[string]any
	var rules []any
	for _, c := range categoryOrder {
		rules = append(rules, map[string]any{
			"id":               "whatif/" + c,
			"name":             c,
			"shortDescription": map[string]any{"text": categoryDocs[c]},
			"fullDescription":  map[string]any{"text": categoryDocs[c]},
		})
	}
	results := []any{}
	for _, c := range r.Changes {
		from := strings.Join(c.Sample, ", ")
		if c.Gateway != "" {
			from = c.Gateway
		}
		res := map[string]any{
			"ruleId":  "whatif/" + c.Category,
			"level":   level(c.Category, allowWeaker),
			"message": map[string]any{"text": c.Category + ": " + from + " -> " + c.To + ": " + c.Before.String() + " => " + c.After.String() + ". " + c.Why},
		}
		var locs []any
		for _, o := range c.Objects {
			if o.File == "" || o.Line == 0 {
				continue
			}
			uri := o.File
			if filepath.IsAbs(uri) {
				if rel, err := filepath.Rel(baseDir, uri); err == nil && !strings.HasPrefix(rel, "..") {
					uri = rel
				}
			}
			uri = filepath.ToSlash(uri)
			locs = append(locs, loc{"physicalLocation": loc{
				"artifactLocation": loc{"uri": uri},
				"region":           loc{"startLine": o.Line},
			}})
			break
		}
		if len(locs) > 0 {
			res["locations"] = locs
		}
		results = append(results, res)
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name":           "meshdoctor whatif",
				"version":        version,
				"informationUri": "https://github.com/meshdoctor/meshdoctor",
				"rules":          rules,
			}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
