package html

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/matrix"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

const titanium = "../../../examples/titanium/k8s-manifests/overlays/gcp"

// report renders the matrix report of the objects load gives, as the CLI's
// -o html does: every hop, fixes for failing paths, check's findings.
func report(t testing.TB, res *load.Result) []byte {
	t.Helper()
	if len(res.Errors) > 0 {
		t.Fatalf("input does not load: %v", res.Errors[0])
	}
	x := mesh.Build(res.Objects, mesh.Options{})
	m, err := matrix.Build(resolve.New(x), matrix.Options{Hops: true, Fixes: 20})
	if err != nil {
		t.Fatal(err)
	}
	var findings []check.Finding
	if !m.Aggregated {
		findings = check.Run(x, checks.All(), check.Options{}).Findings
		if findings == nil {
			findings = []check.Finding{}
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, Input{Matrix: m, Findings: findings, Title: "meshdoctor matrix", Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func titaniumReport(t testing.TB) []byte {
	return report(t, load.Load(load.Options{Kustomizations: []string{titanium}}))
}

func hostileReport(t testing.TB) []byte {
	data, err := os.ReadFile("testdata/hostile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res := &load.Result{}
	load.Decode("testdata/hostile.yaml", data, res)
	return report(t, res)
}

// The hostile strings of testdata/hostile.yaml.
var hostile = []string{
	`evil</style><script>window.__pwned=1;document.title="pwned"</script>`,
	`web"><img src=x onerror="window.__pwned=2;document.title='pwned'">`,
	`</style><svg onload=window.__pwned=4>`,
}

func parse(t *testing.T, page []byte) *xhtml.Node {
	t.Helper()
	doc, err := xhtml.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func walk(n *xhtml.Node, fn func(*xhtml.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *xhtml.Node) string {
	var b strings.Builder
	walk(n, func(c *xhtml.Node) {
		if c.Type == xhtml.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

// TestHostileNamesStayText parses the report of hostile names as a browser
// would: the only scripts are the page's two, no element carries an event
// handler, no <img> or nested <svg> was injected, the names appear as text and
// the data block is JSON that holds them verbatim.
func TestHostileNamesStayText(t *testing.T) {
	page := hostileReport(t)
	doc := parse(t, page)
	var scripts []*xhtml.Node
	svgs := 0
	walk(doc, func(n *xhtml.Node) {
		if n.Type != xhtml.ElementNode {
			return
		}
		switch n.Data {
		case "script":
			scripts = append(scripts, n)
		case "img":
			t.Errorf("an <img> was injected: %v", n.Attr)
		case "svg":
			svgs++
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> carries an event handler %s=%q", n.Data, a.Key, a.Val)
			}
		}
	})
	if len(scripts) != 2 || attr(scripts[0], "type") != "application/json" || attr(scripts[1], "type") != "" {
		t.Fatalf("want the data block and the page's script, got %d scripts", len(scripts))
	}
	if svgs != 1 {
		t.Errorf("%d <svg> elements, want the graph's only", svgs)
	}
	body := text(doc)
	for _, h := range hostile {
		if !strings.Contains(body, h) {
			t.Errorf("the text of the page does not show %q", h)
		}
	}
	var data pageData
	if err := json.Unmarshal([]byte(text(scripts[0])), &data); err != nil {
		t.Fatalf("data block is not JSON: %v", err)
	}
	raw, _ := json.Marshal(data)
	for _, h := range hostile[:2] {
		enc, _ := json.Marshal(h)
		if !bytes.Contains(raw, bytes.Trim(enc, `"`)) {
			t.Errorf("data block lost %q", h)
		}
	}
	if bytes.Contains(page, []byte("<script>window.__pwned")) {
		t.Errorf("a hostile <script> is in the page unescaped")
	}
	// The document's title (the first <title>, in <head>) must be the page's
	// own; the others are SVG tooltips, which show the names.
	var title *xhtml.Node
	walk(doc, func(n *xhtml.Node) {
		if title == nil && n.Type == xhtml.ElementNode && n.Data == "title" {
			title = n
		}
	})
	if title == nil || text(title) != "meshdoctor matrix" || title.Parent.Data != "head" {
		t.Errorf("the document title is not the page's own")
	}
}

// TestCSPAllowsOnlyThePageScript pins the Content-Security-Policy: scripts
// are allowed by the hash of the page's own script and nothing else.
func TestCSPAllowsOnlyThePageScript(t *testing.T) {
	doc := parse(t, titaniumReport(t))
	var csp, js string
	walk(doc, func(n *xhtml.Node) {
		if n.Type != xhtml.ElementNode {
			return
		}
		if n.Data == "meta" && attr(n, "http-equiv") == "Content-Security-Policy" {
			csp = attr(n, "content")
		}
		if n.Data == "script" && attr(n, "type") == "" {
			js = text(n)
		}
	})
	sum := sha256.Sum256([]byte(js))
	want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if !strings.Contains(csp, want) || strings.Contains(csp, "unsafe-inline'; script") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q does not allow exactly the page's script (%s)", csp, want)
	}
}

// TestTitaniumGraph checks the incident's graph: the gateway's /blog/ route
// is a red edge from the ingress gateway to the blog Service whose path
// carries PORT_NOT_LISTENING and a verified fix; every edge has both ends.
func TestTitaniumGraph(t *testing.T) {
	page := titaniumReport(t)
	doc := parse(t, page)
	nodes := map[string]bool{}
	var blog *xhtml.Node
	edges := 0
	walk(doc, func(n *xhtml.Node) {
		if n.Type != xhtml.ElementNode {
			return
		}
		cls := attr(n, "class")
		if n.Data == "g" && strings.HasPrefix(cls, "node ") {
			nodes[attr(n, "data-label")] = true
		}
		if n.Data == "path" && strings.HasPrefix(cls, "edge ") && !strings.Contains(cls, "ingress") {
			edges++
			if attr(n, "data-from") == "external via istio-system/istio-ingressgateway" && attr(n, "data-to") == "titanium-prod/prod-blog-service" {
				blog = n
			}
		}
	})
	for _, want := range []string{"external", "istio-ingressgateway", "prod-blog-service", "prod-postgres", "prod-api-gateway"} {
		if !nodes[want] {
			t.Errorf("no node %q (nodes: %v)", want, nodes)
		}
	}
	if edges < 30 {
		t.Errorf("%d edges, want one per client and Service (at least 30)", edges)
	}
	if blog == nil {
		t.Fatal("no edge from external via the ingress gateway to prod-blog-service")
	}
	if attr(blog, "stroke") != colourFail || attr(blog, "data-cause") != "PORT_NOT_LISTENING" {
		t.Errorf("blog edge: stroke %q cause %q, want %s PORT_NOT_LISTENING", attr(blog, "stroke"), attr(blog, "data-cause"), colourFail)
	}
	var data pageData
	walk(doc, func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && attr(n, "id") == "data" {
			if err := json.Unmarshal([]byte(text(n)), &data); err != nil {
				t.Fatal(err)
			}
		}
	})
	var fixes int
	for _, e := range data.Edges {
		if e.ID != attr(blog, "id") {
			continue
		}
		for _, id := range e.Paths {
			p := data.Paths[id]
			if p.Cause != "PORT_NOT_LISTENING" || len(p.Trace.Hops) < 5 {
				t.Errorf("path %d: cause %s, %d hops", id, p.Cause, len(p.Trace.Hops))
			}
			for _, f := range p.Trace.Fixes {
				if f.Verified {
					fixes++
				}
			}
		}
	}
	if fixes == 0 {
		t.Errorf("the blog edge carries no verified fix")
	}
	if !bytes.Contains(page, []byte("Findings of check")) {
		t.Errorf("no findings panel")
	}
}

func TestDeterministic(t *testing.T) {
	a, b := titaniumReport(t), titaniumReport(t)
	if !bytes.Equal(a, b) {
		t.Errorf("two renders of the same input differ")
	}
}

func TestNoMatrix(t *testing.T) {
	if err := Write(&bytes.Buffer{}, Input{}); err == nil {
		t.Errorf("Write without a matrix did not fail")
	}
}

// TestSelfContained: the page loads nothing: no src or href but fragments,
// no url() or @import in the CSS, no network API in the script.
func TestSelfContained(t *testing.T) {
	doc := parse(t, titaniumReport(t))
	links := 0
	walk(doc, func(n *xhtml.Node) {
		if n.Type != xhtml.ElementNode {
			return
		}
		for _, a := range n.Attr {
			if a.Key == "src" || a.Key == "href" || a.Key == "xlink:href" || a.Key == "action" {
				if !strings.HasPrefix(a.Val, "#") {
					t.Errorf("<%s %s=%q> loads from outside the page", n.Data, a.Key, a.Val)
				}
				links++
			}
		}
	})
	if links == 0 {
		t.Errorf("no in-page links to the failing edges")
	}
	for _, bad := range []string{"url(", "@import"} {
		if strings.Contains(styleText, bad) {
			t.Errorf("the CSS uses %s", bad)
		}
	}
	for _, bad := range []string{"fetch(", "XMLHttpRequest", "import(", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(scriptText, bad) {
			t.Errorf("the script uses %s", bad)
		}
	}
}
