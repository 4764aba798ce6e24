package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
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
	// Skipped counts documents of kinds meshdoctor does not read, by "apiVersion/Kind".
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
func Decode(name string, data []byte, r *Result) {
	r.Files++
	for _, c := range splitDocuments(data) {
		decodeChunk(name, c, r)
	}
}

func decodeChunk(file string, c chunk, r *Result) {
	node, perr := parseChunk(c)
	if perr != nil {
		r.Documents++
		r.Errors = append(r.Errors, Error{File: file, Line: perr.line, Msg: perr.msg})
		return
	}
	if node == nil {
		return // empty document: only comments or whitespace
	}
	r.Documents++
	conv := newConverter()
	v, cerr := conv.value(node, "")
	if cerr != nil {
		r.Errors = append(r.Errors, Error{File: file, Line: cerr.line, Msg: cerr.msg})
		return
	}
	if v == nil {
		return // "null" document
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.Errors = append(r.Errors, Error{File: file, Line: node.Line, Msg: "document is not a mapping (an object with apiVersion and kind)"})
		return
	}
	decodeObject(file, node.Line, m, conv.fields, "", r)
}

// decodeObject decodes one object whose fields were recorded under prefix in fields.
func decodeObject(file string, line int, m map[string]any, fields map[string]int, prefix string, r *Result) {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	at := func(p string) int { return lineIn(fields, objects.Child(prefix, p), line) }
	if kind == "" {
		r.Errors = append(r.Errors, Error{File: file, Line: line, Msg: "document has no kind"})
		return
	}
	if apiVersion == "" {
		r.Errors = append(r.Errors, Error{File: file, Line: line, Msg: fmt.Sprintf("%s has no apiVersion", kind)})
		return
	}
	if kind == "List" || (strings.HasSuffix(kind, "List") && m["items"] != nil) {
		items, ok := m["items"].([]any)
		if !ok && m["items"] != nil {
			r.Errors = append(r.Errors, Error{File: file, Line: at("items"), Msg: "items of a List must be a sequence"})
			return
		}
		for i, it := range items {
			p := objects.Index(objects.Child(prefix, "items"), i)
			im, ok := it.(map[string]any)
			if !ok {
				r.Errors = append(r.Errors, Error{File: file, Line: lineIn(fields, p, line), Msg: fmt.Sprintf("items[%d] is not an object", i)})
				continue
			}
			decodeObject(file, lineIn(fields, p, line), im, fields, p, r)
		}
		return
	}
	info, known, served := lookupKind(apiVersion, kind)
	if !known {
		r.skip(apiVersion, kind)
		return
	}
	name := nestedString(m, "metadata", "name")
	ns := nestedString(m, "metadata", "namespace")
	desc := kind
	if name != "" {
		desc = objects.Key{Kind: kind, Namespace: ns, Name: name}.String()
	}
	if !served {
		r.Errors = append(r.Errors, Error{File: file, Line: at("apiVersion"), Object: desc,
			Msg: fmt.Sprintf("apiVersion %q is not served for %s (served: %s)", apiVersion, kind, servedList(info))})
		return
	}
	if name == "" {
		r.Errors = append(r.Errors, Error{File: file, Line: at("metadata"), Object: desc, Msg: "metadata.name is required"})
		return
	}
	data, err := json.Marshal(m)
	if err != nil {
		r.Errors = append(r.Errors, Error{File: file, Line: line, Object: desc, Msg: err.Error()})
		return
	}
	typed := info.new()
	strict, err := sigsjson.UnmarshalStrict(data, typed)
	if err != nil {
		p := errorPath(err, m)
		r.Errors = append(r.Errors, Error{File: file, Line: lineIn(fields, objects.Join(prefix, p), line), Object: desc, Msg: cleanDecodeError(err, p)})
		return
	}
	for _, se := range strict {
		r.Warnings = append(r.Warnings, Error{File: file, Line: line, Object: desc, Msg: se.Error()})
	}
	obj := &objects.Object{
		APIVersion: apiVersion,
		Kind:       kind,
		Name:       name,
		Namespace:  ns,
		Pos:        objects.Pos{File: file, Line: line},
		Fields:     sub(fields, prefix),
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

// sub returns the fields under prefix, with the prefix removed.
func sub(fields map[string]int, prefix string) map[string]int {
	if prefix == "" {
		return fields
	}
	out := map[string]int{}
	for k, v := range fields {
		if strings.HasPrefix(k, prefix) && len(k) > len(prefix) {
			rest := strings.TrimPrefix(k[len(prefix):], ".")
			out[rest] = v
		}
	}
	return out
}

func lineIn(fields map[string]int, path string, def int) int {
	for p := path; p != ""; p = objects.Parent(p) {
		if l, ok := fields[p]; ok {
			return l
		}
	}
	return def
}

func nestedString(m map[string]any, keys ...string) string {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

var quotedRE = regexp.MustCompile(`"([^"]{1,200})"`)

// errorPath finds the field path a decode error is about: the JSON field of a
// type error, else the first scalar whose value the message quotes (jsonpb, used
// by Istio's types, names the bad value but not the field: `unknown value
// "STRICTT" for enum ...`).
func errorPath(err error, m map[string]any) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		if p := findPathByShape(m, te.Field); p != "" {
			return p
		}
		return te.Field
	}
	for _, q := range quotedRE.FindAllStringSubmatch(strings.ReplaceAll(err.Error(), `\"`, ""), -1) {
		if p := findScalar(m, "", q[1]); p != "" {
			return p
		}
	}
	return ""
}

// findPathByShape maps "spec.containers.ports.containerPort" (no indices) to the
// first concrete path with that shape, e.g. "spec.containers[0].ports[1].containerPort".
func findPathByShape(v any, shape string) string {
	want := strings.Split(shape, ".")
	var walk func(v any, path string, i int) string
	walk = func(v any, path string, i int) string {
		switch t := v.(type) {
		case []any:
			for j, e := range t {
				if p := walk(e, objects.Index(path, j), i); p != "" {
					return p
				}
			}
		case map[string]any:
			if i == len(want) {
				return path
			}
			if c, ok := t[want[i]]; ok {
				return walk(c, objects.Child(path, want[i]), i+1)
			}
		default:
			if i == len(want) {
				return path
			}
		}
		return ""
	}
	return walk(v, "", 0)
}

func findScalar(v any, path, val string) string {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedAnyKeys(t) {
			if k == "apiVersion" || k == "kind" {
				continue
			}
			if p := findScalar(t[k], objects.Child(path, k), val); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range t {
			if p := findScalar(e, objects.Index(path, i), val); p != "" {
				return p
			}
		}
	case string:
		if t == val {
			return path
		}
	}
	return ""
}

func sortedAnyKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var enumRE = regexp.MustCompile(`unknown value "(.*)" for enum ([\w.]+)`)

func cleanDecodeError(err error, path string) string {
	msg := strings.ReplaceAll(err.Error(), `\"`, "")
	msg = strings.TrimPrefix(msg, "json: ")
	if m := enumRE.FindStringSubmatch(msg); m != nil {
		// jsonpb names the enum, not its values: list them, as kubectl's
		// schema validation would.
		msg = fmt.Sprintf("unknown value %q", m[1])
		if et, err := protoregistry.GlobalTypes.FindEnumByName(protoreflect.FullName(m[2])); err == nil {
			vals := et.Descriptor().Values()
			var names []string
			for i := 0; i < vals.Len(); i++ {
				names = append(names, string(vals.Get(i).Name()))
			}
			msg += " (want one of " + strings.Join(names, ", ") + ")"
		}
	}
	if path != "" && !strings.Contains(msg, path) {
		msg = path + ": " + msg
	}
	return msg
}
