package load

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// MaxAliasExpansion bounds the number of nodes a document may produce when its
// YAML aliases are expanded. A "billion laughs" document fails at this bound
// instead of eating memory.
const MaxAliasExpansion = 1_000_000

// chunk is one YAML document of a stream, with the line it starts on.
type chunk struct {
	data      []byte
	firstLine int // 1-based line of data[0] in the file
}

// splitDocuments cuts a YAML stream into documents at lines that start with "---",
// as kubectl does, so that a syntax error in one document does not hide the others.
func splitDocuments(data []byte) []chunk {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	var out []chunk
	start, startLine, line := 0, 1, 1
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		end := len(data)
		if j >= 0 {
			end = i + j + 1
		}
		l := data[i:end]
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\n' || l[3] == '\r') {
			if i > start {
				out = append(out, chunk{data[start:i], startLine})
			}
			start, startLine = i, line
		}
		i = end
		line++
	}
	if start < len(data) {
		out = append(out, chunk{data[start:], startLine})
	}
	return out
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseChunk parses one document into a node tree. It returns nil, nil for an
// empty document. Error messages carry the line in the file.
func parseChunk(c chunk) (*yaml.Node, *lineError) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		msg := err.Error()
		line := c.firstLine
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			line = c.firstLine + n - 1
			msg = m[2]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		return nil, &lineError{line, "invalid YAML: " + msg}
	}
	// A second document inside one chunk can only come from a "..." end marker
	// followed by more content; treat it as a syntax problem of this chunk.
	shift(&doc, c.firstLine-1)
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

func shift(n *yaml.Node, by int) {
	if by == 0 {
		return
	}
	// Content is a tree: an alias points at its anchor through Alias, and the
	// anchor itself is reached once through Content.
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		n.Line += by
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
}

type lineError struct {
	line int
	msg  string
}

// converter turns a node tree into plain Go values (for JSON) and records the
// line of every field path.
type converter struct {
	fields map[string]int
	budget int
}

func newConverter() *converter {
	return &converter{fields: map[string]int{}, budget: MaxAliasExpansion}
}

func (c *converter) value(n *yaml.Node, path string) (any, *lineError) {
	c.budget--
	if c.budget < 0 {
		return nil, &lineError{n.Line, fmt.Sprintf("document expands YAML aliases beyond %d nodes (a \"billion laughs\" document?)", MaxAliasExpansion)}
	}
	if path != "" {
		if _, ok := c.fields[path]; !ok {
			c.fields[path] = n.Line
		}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &lineError{n.Line, "unknown YAML alias"}
		}
		return c.value(n.Alias, path)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], path)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			v, err := c.value(e, objects.Index(path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		keyLine := map[string]int{}
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" || (k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0) {
				merges = append(merges, v)
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, &lineError{k.Line, "mapping keys must be scalars"}
			}
			key := k.Value
			if first, dup := keyLine[key]; dup {
				return nil, &lineError{k.Line, fmt.Sprintf("duplicate key %q (first at line %d)", key, first)}
			}
			keyLine[key] = k.Line
			child := objects.Child(path, key)
			c.fields[child] = k.Line
			val, err := c.value(v, child)
			if err != nil {
				return nil, err
			}
			out[key] = val
		}
		// YAML merge keys: keys written in the mapping win over merged ones.
		for _, m := range merges {
			srcs := []*yaml.Node{m}
			if m.Kind == yaml.SequenceNode {
				srcs = m.Content
			}
			for _, s := range srcs {
				mv, err := c.value(s, path)
				if err != nil {
					return nil, err
				}
				mm, ok := mv.(map[string]any)
				if !ok {
					return nil, &lineError{s.Line, "merge key value must be a mapping"}
				}
				for k, v := range mm {
					if _, exists := out[k]; !exists {
						out[k] = v
					}
				}
			}
		}
		return out, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, &lineError{n.Line, "unsupported YAML node"}
}

func scalar(n *yaml.Node) (any, *lineError) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, &lineError{n.Line, err.Error()}
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return u, nil
		}
		return n.Value, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, &lineError{n.Line, err.Error()}
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, &lineError{n.Line, fmt.Sprintf("number %q cannot be represented in JSON", n.Value)}
		}
		return f, nil
	default: // !!str, !!timestamp, !!binary and custom tags: as written
		return n.Value, nil
	}
}
