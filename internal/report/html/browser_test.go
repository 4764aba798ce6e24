//go:build chromium

// Tests in a real browser: headless Chromium (Debian's chromium package,
// installed by .ci/steps/20-chromium.sh) opens the reports, runs their script
// and dumps the DOM; a click on an edge is the #edge=ID fragment the script
// honours, exactly what a click sets. Run with
//
//	go test -tags chromium ./internal/report/html/...
package html

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
)

// chromium runs headless Chromium with extra arguments and returns stdout.
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("chromium is not installed (apt-get install -y --no-install-recommends chromium; .ci/steps/20-chromium.sh does it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

// dumpDOM opens url and returns the DOM after the page's script ran.
func dumpDOM(t *testing.T, url string) *xhtml.Node {
	t.Helper()
	doc := parse(t, chromium(t, "--dump-dom", url))
	var body *xhtml.Node
	walk(doc, func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && n.Data == "body" {
			body = n
		}
	})
	if body == nil || attr(body, "data-ready") != "true" {
		t.Fatalf("%s: the page's script did not run to the end (blocked by the CSP, or an error)", url)
	}
	return doc
}

func byID(doc *xhtml.Node, id string) *xhtml.Node {
	var found *xhtml.Node
	walk(doc, func(n *xhtml.Node) {
		if found == nil && n.Type == xhtml.ElementNode && attr(n, "id") == id {
			found = n
		}
	})
	return found
}

// writeReport writes page into a directory kept after the test, so that the
// screenshot and the page can be looked at.
func writeReport(t *testing.T, dir, name string, page []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func keptDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "meshdoctor-report-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBrowserTitanium(t *testing.T) {
	dir := keptDir(t)
	file := writeReport(t, dir, "titanium.html", titaniumReport(t))
	url := "file://" + file

	doc := dumpDOM(t, url)
	nodes, edges := 0, 0
	blog := ""
	walk(doc, func(n *xhtml.Node) {
		if n.Type != xhtml.ElementNode {
			return
		}
		cls := attr(n, "class")
		if n.Data == "g" && strings.HasPrefix(cls, "node ") {
			nodes++
		}
		if n.Data == "path" && strings.HasPrefix(cls, "edge ") {
			edges++
			if attr(n, "data-from") == "external via istio-system/istio-ingressgateway" && attr(n, "data-to") == "titanium-prod/prod-blog-service" {
				blog = attr(n, "id")
				if attr(n, "stroke") != colourFail || !strings.Contains(cls, "v-fail") {
					t.Errorf("the /blog/ edge is not red: stroke %q class %q", attr(n, "stroke"), cls)
				}
			}
		}
	})
	if nodes < 14 || edges < 30 {
		t.Errorf("%d nodes and %d edges, want the 14 nodes of the example and an edge per client and Service", nodes, edges)
	}
	if blog == "" {
		t.Fatal("no edge for the gateway's /blog/ route")
	}

	// A click on the edge sets #edge=ID; the panel shows its trace.
	doc = dumpDOM(t, url+"#edge="+blog)
	detail := byID(doc, "detail")
	if detail == nil || attr(detail, "data-edge") != blog {
		t.Fatalf("the detail panel does not show edge %s", blog)
	}
	got := text(detail)
	for _, want := range []string{
		"external via istio-system/istio-ingressgateway → titanium-prod/prod-blog-service",
		"PORT_NOT_LISTENING", "HTTP 503 UF,URX", "delayed connect error: Connection refused",
		"binds to 127.0.0.1", "blog-service.yaml:34", "fixes (verified by tracing the patched mesh)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the trace panel lacks %q:\n%s", want, got)
		}
	}
	if e := byID(doc, blog); e == nil || !strings.Contains(attr(e, "class"), "selected") {
		t.Errorf("the clicked edge is not marked selected")
	}

	shot := filepath.Join(dir, "titanium.png")
	chromium(t, "--screenshot="+shot, "--window-size=1400,900", url+"#edge="+blog)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	// The failing edges are drawn in red: count pixels close to colourFail.
	red := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 > 180 && g>>8 < 80 && bl>>8 < 80 {
				red++
			}
		}
	}
	if red < 200 {
		t.Errorf("screenshot has %d red pixels; the failing edges are not visible", red)
	}
	fmt.Printf("screenshot of the example's report: %s (page %s)\n", shot, file)
}

func TestBrowserHostile(t *testing.T) {
	dir := keptDir(t)
	file := writeReport(t, dir, "hostile.html", hostileReport(t))
	for _, frag := range []string{"", "#edge=e0", "#edge=e1"} {
		doc := dumpDOM(t, "file://"+file+frag)
		var title string
		walk(doc, func(n *xhtml.Node) {
			if n.Type != xhtml.ElementNode {
				return
			}
			if n.Data == "title" && n.Parent != nil && n.Parent.Data == "head" {
				title = text(n)
			}
			if n.Data == "img" || (n.Data == "script" && attr(n, "type") == "" && !strings.Contains(text(n), "meshdoctor matrix report")) {
				t.Errorf("%s: an injected <%s> is in the DOM", frag, n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s: <%s %s> is in the DOM", frag, n.Data, a.Key)
				}
			}
		})
		// Every hostile payload sets document.title to "pwned" when it runs.
		if title != "meshdoctor matrix" {
			t.Errorf("%s: document.title is %q: something injected ran", frag, title)
		}
		body := text(doc)
		for _, h := range hostile {
			if !strings.Contains(body, h) {
				t.Errorf("%s: the page does not show %q as text", frag, h)
			}
		}
		if frag != "" {
			detail := text(byID(doc, "detail"))
			if !strings.Contains(detail, hostile[1]) || !strings.Contains(detail, "UNKNOWN_HOST") {
				t.Errorf("%s: the trace panel does not show the hostile names as text:\n%s", frag, detail)
			}
		}
	}
}

// TestBrowserLarge renders the 1,000-service generated mesh (aggregated by
// namespace) and reports the page's size and the time to a usable page.
func TestBrowserLarge(t *testing.T) {
	res := genmesh.Decode(gen.Generate(gen.Config{Seed: 1, Services: 1000}))
	start := time.Now()
	page := report(t, res)
	build := time.Since(start)
	dir := keptDir(t)
	file := writeReport(t, dir, "gen-1000.html", page)

	start = time.Now()
	doc := dumpDOM(t, "file://"+file)
	wall := time.Since(start)
	var body *xhtml.Node
	nodes, edges := 0, 0
	walk(doc, func(n *xhtml.Node) {
		if n.Type != xhtml.ElementNode {
			return
		}
		if n.Data == "body" {
			body = n
		}
		if n.Data == "g" && strings.HasPrefix(attr(n, "class"), "node ") {
			nodes++
		}
		// Aggregated, an edge is a square of the adjacency matrix.
		if (n.Data == "rect" || n.Data == "path") && strings.HasPrefix(attr(n, "class"), "edge ") {
			edges++
		}
	})
	ms, _ := strconv.Atoi(attr(body, "data-render-ms"))
	if nodes < 40 || edges < 40 {
		t.Errorf("%d nodes, %d edges: the namespaces of the 1,000-service mesh are not drawn", nodes, edges)
	}
	if ms <= 0 || ms > 10000 {
		t.Errorf("page ready after %d ms, want under 10 s", ms)
	}
	shot := filepath.Join(dir, "gen-1000.png")
	chromium(t, "--screenshot="+shot, "--window-size=1400,900", "file://"+file)
	fmt.Printf("1,000 services: report built in %v, %d bytes, %d nodes, %d edges; page ready %d ms after navigation (chromium --dump-dom wall clock %v); screenshot %s\n",
		build.Round(time.Millisecond), len(page), nodes, edges, ms, wall.Round(time.Millisecond), shot)
}
