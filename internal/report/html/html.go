// Package html renders a matrix as one self-contained HTML page: the mesh drawn
// as an SVG graph (namespaces as groups, workloads and services as nodes, edges
// coloured by verdict), the trace and fixes of an edge on click, the findings of
// check beside it and a filter box. No network, no CDN: the CSS and JS are
// written here and inlined.
//
// Everything user-controlled goes through html/template; the data the script
// reads is JSON inside a <script type="application/json"> element, escaped by
// html/template, and the script builds the DOM with textContent only.
package html

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/matrix"
)

//go:embed page.html.tmpl
var pageText string

//go:embed style.css
var styleText string

//go:embed script.js
var scriptText string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"css": func() template.CSS { return template.CSS(styleText) },
	"js":  func() template.JS { return template.JS(scriptText) },
	// csp allows the page's own script by its hash and nothing else: even
	// a <script> that slipped through escaping would not run.
	"csp": func() string {
		sum := sha256.Sum256([]byte(scriptText))
		return "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	},
}).Parse(pageText))

// Input is what the page shows.
type Input struct {
	Matrix *matrix.Matrix
	// Findings are check's findings; nil when check was not run, and then the
	// findings panel lists the failing paths instead.
	Findings []check.Finding
	// Title names the page; Version is meshdoctor's.
	Title   string
	Version string
}

// view is the template's data.
type view struct {
	Title, Version string
	Graph          *Graph
	Matrix         *matrix.Matrix
	Findings       []finding
	HasFindings    bool
	Failing        []failing
	Data           pageData
}

type finding struct {
	Severity, Code, Object, Message string
}

type failing struct {
	Edge, From, To, Result, Cause string
	Paths                         int64
}

// pageData is the JSON the script reads: edges and the paths behind them.
type pageData struct {
	Aggregated bool            `json:"aggregated"`
	Edges      []EdgeData      `json:"edges"`
	Paths      []matrix.Path   `json:"paths"`
	Nodes      map[string]Info `json:"nodes"`
}

// Write renders the page.
func Write(w io.Writer, in Input) error {
	if in.Matrix == nil {
		return fmt.Errorf("html: no matrix to render")
	}
	g := Layout(in.Matrix)
	v := view{
		Title: in.Title, Version: in.Version, Graph: g, Matrix: in.Matrix,
		HasFindings: in.Findings != nil,
		Data:        pageData{Aggregated: in.Matrix.Aggregated, Edges: g.data, Paths: in.Matrix.Paths, Nodes: g.info},
	}
	if v.Title == "" {
		v.Title = "meshdoctor matrix"
	}
	for _, f := range in.Findings {
		v.Findings = append(v.Findings, finding{Severity: f.Severity.String(), Code: f.Code, Object: f.Object.String(), Message: f.Message})
	}
	// The failing edges, failing before denied, most paths first.
	var bad []Edge
	for _, e := range g.Edges {
		if e.Result != "ok" && e.Clickable {
			bad = append(bad, e)
		}
	}
	slices.SortStableFunc(bad, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(rank(b.Result), rank(a.Result)), cmp.Compare(b.Failing, a.Failing))
	})
	for _, e := range bad {
		v.Failing = append(v.Failing, failing{Edge: e.ID, From: e.FromLabel, To: e.ToLabel, Result: e.Result, Cause: e.Cause, Paths: e.Failing})
	}
	return page.Execute(w, v)
}
