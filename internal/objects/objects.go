// Package objects holds the positioned objects that every other package reads:
// a decoded Kubernetes or Istio object together with the file and line it came
// from and the line of each of its fields, so that a decision or a finding can
// point at "peer-authentication.yaml:9".
package objects

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Pos is a place in a source file. Line is 1-based; 0 means unknown.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

func (p Pos) String() string {
	if p.File == "" {
		return ""
	}
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Object is one decoded document.
type Object struct {
	APIVersion string
	Kind       string
	Namespace  string // as written; empty for cluster-scoped kinds or when not set
	Name       string
	// Pos is the document's position: the line of its first key.
	Pos Pos
	// Fields gives the 1-based line in Pos.File of each field path (see Path).
	Fields Fields
	// Created is metadata.creationTimestamp; zero when absent (typical in files).
	Created time.Time
	// Origin is where a kustomize-rendered object came from, as kustomize says.
	Origin string
	// Typed is the decoded object: a *corev1.Service, *securityv1.PeerAuthentication, ...
	Typed any
	// Seq is the load order, used as a last, stable tie-break.
	Seq int
}

// Line returns the line of the field at path, or of its nearest ancestor that has
// a recorded line, or the document's line.
func (o *Object) Line(path string) int {
	if o == nil {
		return 0
	}
	if l, ok := o.Fields.Nearest(path); ok {
		return l
	}
	return o.Pos.Line
}

// At returns the position of the field at path (see Line).
func (o *Object) At(path string) Pos {
	return Pos{File: o.Pos.File, Line: o.Line(path)}
}

// Key identifies an object by kind, namespace and name.
type Key struct {
	Kind, Namespace, Name string
}

func (k Key) String() string {
	if k.Namespace == "" {
		return k.Kind + " " + k.Name
	}
	return k.Kind + " " + k.Namespace + "/" + k.Name
}

// Key returns the object's key.
func (o *Object) Key() Key { return Key{o.Kind, o.Namespace, o.Name} }

// Ref points at an object, or at one field of it, for a decision or finding.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	Field     string `json:"field,omitempty"`
}

// Ref returns a reference to the field at path of o ("" for the whole object).
func (o *Object) Ref(path string) Ref {
	if o == nil {
		return Ref{}
	}
	return Ref{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, File: o.Pos.File, Line: o.Line(path), Field: path}
}

// Pos returns where the reference points.
func (r Ref) Pos() Pos { return Pos{File: r.File, Line: r.Line} }

func (r Ref) String() string {
	s := r.Kind + " "
	if r.Namespace != "" {
		s += r.Namespace + "/"
	}
	s += r.Name
	if p := r.Pos().String(); p != "" {
		s += " " + p
	}
	return s
}

// Path builds a field path from segments. A segment that is an index is written
// "[i]"; a map key that contains a dot or a bracket is quoted: `labels["app.kubernetes.io/name"]`.
//
//	Path("spec", "portLevelMtls", "8005", "mode") == "spec.portLevelMtls.8005.mode"
//	Path("spec", "rules", 0, "from")              == "spec.rules[0].from"
func Path(segs ...any) string {
	var b strings.Builder
	for _, s := range segs {
		switch v := s.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		case string:
			appendKey(&b, v)
		}
	}
	return b.String()
}

// Child returns path extended by a map key.
func Child(path, key string) string {
	var b strings.Builder
	b.WriteString(path)
	appendKey(&b, key)
	return b.String()
}

// Index returns path extended by a list index.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func appendKey(b *strings.Builder, k string) {
	if strings.ContainsAny(k, ".[]\"") || k == "" {
		b.WriteString(`["` + strings.ReplaceAll(k, `"`, `\"`) + `"]`)
		return
	}
	if b.Len() > 0 {
		b.WriteByte('.')
	}
	b.WriteString(k)
}

// Parent returns the path without its last segment ("" at the top).
func Parent(path string) string {
	if path == "" {
		return ""
	}
	if strings.HasSuffix(path, "]") {
		// find the matching '[' that is not inside quotes
		depthQuote := false
		for i := len(path) - 2; i >= 0; i-- {
			c := path[i]
			if c == '"' && (i == 0 || path[i-1] != '\\') {
				depthQuote = !depthQuote
			}
			if c == '[' && !depthQuote {
				return path[:i]
			}
		}
		return ""
	}
	if i := strings.LastIndexAny(path, ".]"); i >= 0 {
		if path[i] == ']' {
			return path[:i+1]
		}
		return path[:i]
	}
	return ""
}

// SortedKeys returns the keys of a map in order, for deterministic output.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Join appends the relative path rel to path.
func Join(path, rel string) string {
	switch {
	case path == "":
		return rel
	case rel == "":
		return path
	case rel[0] == '[':
		return path + rel
	}
	return path + "." + rel
}

// Segments splits a path built by Path into its map keys (string) and list
// indexes (int): the inverse of Path.
func Segments(path string) []any {
	var out []any
	for i := 0; i < len(path); {
		switch path[i] {
		case '.':
			i++
		case '[':
			if i+1 < len(path) && path[i+1] == '"' {
				// quoted key: ["a.b"]
				j := i + 2
				var key strings.Builder
				for j < len(path) && path[j] != '"' {
					if path[j] == '\\' && j+1 < len(path) {
						j++
					}
					key.WriteByte(path[j])
					j++
				}
				out = append(out, key.String())
				i = j + 2 // past `"]`
				continue
			}
			j := strings.IndexByte(path[i:], ']')
			if j < 0 {
				return out
			}
			n, err := strconv.Atoi(path[i+1 : i+j])
			if err != nil {
				out = append(out, path[i+1:i+j])
			} else {
				out = append(out, n)
			}
			i += j + 1
		default:
			j := i
			for j < len(path) && path[j] != '.' && path[j] != '[' {
				j++
			}
			out = append(out, path[i:j])
			i = j
		}
	}
	return out
}
