package load

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Error is a problem with one input document, reported as "file:line: message".
// The document is skipped; every other document is still loaded.
type Error struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Object string `json:"object,omitempty"` // "Kind ns/name" when known
	Msg    string `json:"message"`
}

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(objects.Pos{File: e.File, Line: e.Line}.String())
	if b.Len() == 0 {
		b.WriteString("<input>")
	}
	b.WriteString(": ")
	if e.Object != "" {
		b.WriteString(e.Object + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Result is everything a load produced.
type Result struct {
	Objects []*objects.Object
	// Errors are documents that could not be read; each was skipped.
	Errors []Error
	// Warnings do not stop a document from loading (unknown fields, ...).
	Warnings []Error
	// Skipped counts documents of kinds meshdoctor does not read, by
	// "apiVersion/Kind" ("v1/Secret", "cert-manager.io/v1/Certificate"; Helm
	// hooks as "batch/v1/Job (helm hook)").
	Skipped map[string]int
	// Files and Documents count what was read.
	Files     int
	Documents int
}

func (r *Result) skip(apiVersion, kind string) {
	if r.Skipped == nil {
		r.Skipped = map[string]int{}
	}
	r.Skipped[apiVersion+"/"+kind]++
}

func (r *Result) errorf(file string, line int, object, format string, args ...any) {
	r.Errors = append(r.Errors, Error{File: file, Line: line, Object: object, Msg: fmt.Sprintf(format, args...)})
}

// SkippedTotal is the number of skipped documents.
func (r *Result) SkippedTotal() int {
	n := 0
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

// Decode reads every document of a YAML or JSON stream (multi-document YAML,
// kind: List) into r. name is the file name used in positions and messages.
// Documents of a large stream are decoded in parallel; the result is the same,
// in the same order, as decoding them one by one.
func Decode(name string, data []byte, r *Result) {
	r.Files++
	chunks := splitDocuments(normalizeEncoding(data))
	workers := runtime.GOMAXPROCS(0)
	if workers == 1 || len(data) < parallelBytes || len(chunks) < 2*workers {
		for _, c := range chunks {
			decodeChunk(name, c, r)
		}
		return
	}
	// Batches of about parallelBytes, handed out in order to the workers.
	var batches [][]chunk
	for i, size := 0, 0; i < len(chunks); i++ {
		if len(batches) == 0 || size >= parallelBytes/4 {
			batches = append(batches, nil)
			size = 0
		}
		batches[len(batches)-1] = append(batches[len(batches)-1], chunks[i])
		size += len(chunks[i].data)
	}
	parts := make([]Result, len(batches))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				for _, c := range batches[i] {
					decodeChunk(name, c, &parts[i])
				}
			}
		}()
	}
	for i := range batches {
		next <- i
	}
	close(next)
	wg.Wait()
	for i := range parts {
		r.merge(&parts[i])
	}
}

// parallelBytes is the stream size from which Decode uses every CPU (a
// variable for tests).
var parallelBytes = 1 << 20

func decodeChunk(name string, c chunk, r *Result) {
	lm := newLineMap(c)
	err := eachDocument(c, lm, func(doc *yaml.Node) { decodeDocument(name, doc, lm, r) })
	if err != nil {
		r.Documents++
		r.errorf(name, err.line, "", "%s", err.msg)
	}
}

// merge appends what p read after what r read.
func (r *Result) merge(p *Result) {
	for _, o := range p.Objects {
		o.Seq = len(r.Objects)
		r.Objects = append(r.Objects, o)
	}
	r.Errors = append(r.Errors, p.Errors...)
	r.Warnings = append(r.Warnings, p.Warnings...)
	for k, n := range p.Skipped {
		if r.Skipped == nil {
			r.Skipped = map[string]int{}
		}
		r.Skipped[k] += n
	}
	r.Files += p.Files
	r.Documents += p.Documents
}

// decodeDocument decodes one parsed YAML document.
func decodeDocument(file string, doc *yaml.Node, lm lineMap, r *Result) {
	root := resolve(doc)
	if root == nil || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		return // empty document: only comments, whitespace or "null"
	}
	r.Documents++
	if err := aliasCheck(doc, lm); err != nil {
		r.errorf(file, err.line, "", "%s", err.msg)
		return
	}
	if root.Kind != yaml.MappingNode {
		r.errorf(file, lm.file(root.Line), "", "document is not a mapping (an object with apiVersion and kind)")
		return
	}
	decodeNode(file, root, newConverter(lm), r)
}

// decodeNode decodes the object (or List of objects) n. Kinds meshdoctor does
// not read, Secrets among them, are counted without converting their content.
func decodeNode(file string, n *yaml.Node, c *converter, r *Result) {
	line := c.lm.file(n.Line)
	ps, perr := c.pairs(n)
	if perr != nil {
		r.errorf(file, perr.line, "", "%s", perr.msg)
		return
	}
	get := func(key string) *pair {
		for i := range ps {
			if ps[i].key == key {
				return &ps[i]
			}
		}
		return nil
	}
	str := func(key string) (string, bool) {
		p := get(key)
		if p == nil {
			return "", true
		}
		v := resolve(p.valueRaw)
		if v == nil || v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
			return "", v == nil || v.Kind == yaml.ScalarNode
		}
		return v.Value, v.ShortTag() == "!!str"
	}
	kind, ok := str("kind")
	if !ok {
		r.errorf(file, c.lm.file(get("kind").keyNode.Line), "", "kind must be a string")
		return
	}
	if kind == "" {
		r.errorf(file, line, "", "document has no kind")
		return
	}
	apiVersion, ok := str("apiVersion")
	if !ok {
		r.errorf(file, c.lm.file(get("apiVersion").keyNode.Line), "", "apiVersion must be a string")
		return
	}
	if isList(kind, get("items") != nil) {
		items := get("items")
		if items == nil {
			return // an empty List
		}
		seq := resolve(items.valueRaw)
		if seq == nil || (seq.Kind == yaml.ScalarNode && seq.ShortTag() == "!!null") {
			return
		}
		if seq.Kind != yaml.SequenceNode {
			r.errorf(file, c.lm.file(items.keyNode.Line), "", "items of a %s must be a list", kind)
			return
		}
		for i, it := range seq.Content {
			itr := resolve(it)
			if itr == nil || itr.Kind != yaml.MappingNode {
				r.errorf(file, c.lm.file(it.Line), "", "items[%d] of a %s is not an object", i, kind)
				continue
			}
			decodeNode(file, itr, newConverter(c.lm), r)
		}
		return
	}
	if apiVersion == "" {
		r.errorf(file, line, "", "%s has no apiVersion", kind)
		return
	}
	if _, known, _ := lookupKind(apiVersion, kind); !known {
		r.skip(apiVersion, kind)
		return
	}
	v, cerr := c.value(n, "")
	if cerr != nil {
		r.errorf(file, cerr.line, objectName(kind, ps), "%s", cerr.msg)
		return
	}
	decodeObject(file, line, v.(map[string]any), c.fields.Fields(), r)
}

// objectName names an object for a message ("Kind ns/name", or "Kind") from its
// unconverted keys.
func objectName(kind string, ps []pair) string {
	var name, ns string
	for _, p := range ps {
		md := resolve(p.valueRaw)
		if p.key != "metadata" || md == nil || md.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(md.Content); i += 2 {
			v := resolve(md.Content[i+1])
			if v == nil || v.Kind != yaml.ScalarNode {
				continue
			}
			switch k := md.Content[i].Value; {
			case k == "name" && name == "":
				name = v.Value
			case k == "namespace" && ns == "":
				ns = v.Value
			}
		}
	}
	if name == "" {
		return kind
	}
	return objects.Key{Kind: kind, Namespace: ns, Name: name}.String()
}

func isList(kind string, hasItems bool) bool {
	return kind == "List" || (strings.HasSuffix(kind, "List") && hasItems)
}

// helmHookKinds are the kinds that, as Helm hooks, run to completion and are
// gone: they are not part of the mesh a release leaves running.
var helmHookKinds = map[string]bool{"Pod": true, "Job": true}

// decodeObject decodes one object of a kind meshdoctor reads into its typed
// form. fields gives the line of each field path of m; line is the object's.
func decodeObject(file string, line int, m map[string]any, fields objects.Fields, r *Result) {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	at := func(p string) int { return lineIn(fields, p, line) }
	info, known, served := lookupKind(apiVersion, kind)
	if !known {
		r.skip(apiVersion, kind)
		return
	}
	name, _ := nested(m, "metadata", "name").(string)
	ns, _ := nested(m, "metadata", "namespace").(string)
	desc := kind
	if name != "" {
		desc = objects.Key{Kind: kind, Namespace: ns, Name: name}.String()
	}
	if !served {
		r.errorf(file, at("apiVersion"), desc, "apiVersion %q is not served for %s (served: %s)", apiVersion, kind, servedList(info))
		return
	}
	if name == "" && nested(m, "metadata", "name") == nil {
		r.errorf(file, at("metadata.name"), desc, "metadata.name is required")
		return
	}
	if helmHookKinds[kind] {
		if hook, ok := nested(m, "metadata", "annotations", "helm.sh/hook").(string); ok && hook != "" {
			r.skip(apiVersion, kind+" (helm hook)")
			return
		}
	}
	typed, strict, ok := decodeFast(info, m)
	if !ok {
		data, err := json.Marshal(m)
		if err != nil {
			r.errorf(file, line, desc, "%s", err)
			return
		}
		typed = info.new()
		strict, err = sigsjson.UnmarshalStrict(data, typed)
		if err != nil {
			path, msg := locate(reflect.TypeOf(typed), m, err)
			if path != "" {
				msg = path + ": " + msg
			}
			r.errorf(file, at(path), desc, "%s", msg)
			return
		}
	}
	for _, se := range strict {
		msg := se.Error()
		path := ""
		if sm := unknownFieldRE.FindStringSubmatch(msg); sm != nil {
			path = sm[1]
		}
		r.Warnings = append(r.Warnings, Error{File: file, Line: at(path), Object: desc, Msg: msg})
	}
	for _, path := range unknownProtoFields(typed, m) {
		r.Warnings = append(r.Warnings, Error{File: file, Line: at(path), Object: desc, Msg: fmt.Sprintf("unknown field %q", path)})
	}
	shareLabels(typed)
	obj := &objects.Object{
		APIVersion: apiVersion,
		Kind:       kind,
		Name:       name,
		Namespace:  ns,
		Pos:        objects.Pos{File: file, Line: line},
		Fields:     fields,
		Typed:      typed,
	}
	if !info.namespaced {
		obj.Namespace = ""
	}
	if mo, ok := typed.(metav1.Object); ok {
		obj.Created = mo.GetCreationTimestamp().Time
	}
	obj.Seq = len(r.Objects)
	r.Objects = append(r.Objects, obj)
}

// decodeFast decodes an Istio object whose spec decodeSpec can read: the spec
// from m's values, the rest with the typed decoder. It reports false when the
// object is to be decoded the slow way, which then gives every error.
func decodeFast(info kindInfo, m map[string]any) (typed any, strict []error, ok bool) {
	spec, isMap := m["spec"].(map[string]any)
	if !fastSpec || !isMap || !strings.HasSuffix(info.group, ".istio.io") {
		return nil, nil, false
	}
	typed = info.new()
	pm := specMessage(typed)
	if pm == nil || !decodeSpec(pm, spec) {
		return nil, nil, false
	}
	data, err := specJSON(m)
	if err != nil {
		return nil, nil, false
	}
	strict, err = sigsjson.UnmarshalStrict(data, typed)
	if err != nil {
		return nil, nil, false
	}
	return typed, strict, true
}

var unknownFieldRE = regexp.MustCompile(`^unknown field "(.*)"$`)

func servedList(info kindInfo) string {
	var out []string
	for _, v := range info.versions {
		if info.group == "" {
			out = append(out, v)
		} else {
			out = append(out, info.group+"/"+v)
		}
	}
	return strings.Join(out, ", ")
}

// lineIn returns the line of path, or of its nearest ancestor with a line, or def.
func lineIn(fields objects.Fields, path string, def int) int {
	if l, ok := fields.Nearest(path); ok {
		return l
	}
	return def
}

func nested(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}
