package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	yaml2 "go.yaml.in/yaml/v2"
	yaml "go.yaml.in/yaml/v3"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// MaxAliasExpansion bounds the number of nodes that YAML aliases may add to one
// document when they are expanded. A "billion laughs" document is measured
// without being expanded and fails at once instead of eating memory.
const MaxAliasExpansion = 100_000

// chunk is one piece of a YAML stream, usually one document, with the line it
// starts on.
type chunk struct {
	data      []byte
	firstLine int // 1-based line of data[0] in the file
}

// normalizeEncoding returns data as UTF-8 without a byte order mark. UTF-16
// (with a BOM, as some Windows editors write it) is transcoded, so that line
// numbers and the document splitter see the same bytes as the YAML parser.
func normalizeEncoding(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return data[3:]
	case bytes.HasPrefix(data, []byte("\xff\xfe")):
		return utf16ToUTF8(data[2:], false)
	case bytes.HasPrefix(data, []byte("\xfe\xff")):
		return utf16ToUTF8(data[2:], true)
	}
	return data
}

func utf16ToUTF8(b []byte, bigEndian bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	var out bytes.Buffer
	out.Grow(len(u))
	for _, r := range utf16.Decode(u) {
		out.WriteRune(r)
	}
	return out.Bytes()
}

// splitDocuments cuts a YAML stream into documents at lines that start with
// "---", as kubectl does, so that a syntax error in one document does not hide
// the others. Directive lines ("%YAML 1.2") stay with the document they
// introduce.
func splitDocuments(data []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 1, 1
	content := false // the current chunk has more than directives, comments and blank lines
	for i := 0; i < len(data); {
		end := len(data)
		if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
			end = i + j + 1
		}
		l := data[i:end]
		switch {
		case isDocumentStart(l):
			if i > start && content {
				out = append(out, chunk{data[start:i], startLine})
				start, startLine = i, line
			}
			content = true
		case len(l) > 0 && l[0] == '%', isBlankOrComment(l):
		default:
			content = true
		}
		i = end
		line++
	}
	if start < len(data) {
		out = append(out, chunk{data[start:], startLine})
	}
	return out
}

func isDocumentStart(l []byte) bool {
	return bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\n' || l[3] == '\r')
}

func isBlankOrComment(l []byte) bool {
	t := bytes.TrimLeft(l, " \t\r\n")
	return len(t) == 0 || t[0] == '#'
}

// lineMap turns the line numbers the YAML parser reports for a chunk into lines
// of the file. The parser counts every YAML line break (LF, CRLF, a lone CR,
// NEL, LS, PS); the file's lines are counted at LF, as editors, grep and Go do.
// Both agree unless the chunk has one of the rarer breaks.
type lineMap struct {
	first, last int     // file lines of the chunk's first and last line
	lf          []int32 // nil when both counts agree; else lf[y-1] = LFs before YAML line y
}

func newLineMap(c chunk) lineMap {
	m := lineMap{first: c.firstLine}
	n := bytes.Count(c.data, []byte{'\n'})
	m.last = c.firstLine + n
	if n > 0 && c.data[len(c.data)-1] == '\n' {
		m.last--
	}
	if !hasRareBreak(c.data) {
		return m
	}
	m.lf = []int32{0}
	var lfs int32
	d := c.data
	for i := 0; i < len(d); i++ {
		switch {
		case d[i] == '\r' && i+1 < len(d) && d[i+1] == '\n':
			i++
			lfs++
		case d[i] == '\n':
			lfs++
		case d[i] == '\r':
		case d[i] == 0xC2 && i+1 < len(d) && d[i+1] == 0x85:
			i++
		case d[i] == 0xE2 && i+2 < len(d) && d[i+1] == 0x80 && (d[i+2] == 0xA8 || d[i+2] == 0xA9):
			i += 2
		default:
			continue
		}
		m.lf = append(m.lf, lfs)
	}
	return m
}

func hasRareBreak(d []byte) bool {
	for i := bytes.IndexByte(d, '\r'); i >= 0; {
		if i+1 >= len(d) || d[i+1] != '\n' {
			return true
		}
		j := bytes.IndexByte(d[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return bytes.Contains(d, []byte("\xc2\x85")) || bytes.Contains(d, []byte("\xe2\x80\xa8")) || bytes.Contains(d, []byte("\xe2\x80\xa9"))
}

// file returns the file line of YAML line y of the chunk, clamped to the chunk.
func (m lineMap) file(y int) int {
	if y < 1 {
		y = 1
	}
	var n int
	switch {
	case m.lf == nil:
		n = y - 1
	case y-1 < len(m.lf):
		n = int(m.lf[y-1])
	default:
		n = int(m.lf[len(m.lf)-1])
	}
	if l := m.first + n; l < m.last {
		return l
	}
	return m.last
}

// lineError is a problem at a line of the file. path, when set, is the field
// the problem is about (used to find the line in a kustomization's source).
type lineError struct {
	line int
	path string
	msg  string
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// eachDocument parses the documents of a chunk (one, or more after a "..." end
// marker) and calls f with each. A syntax error stops the chunk.
func eachDocument(c chunk, lm lineMap, f func(doc *yaml.Node)) (lerr *lineError) {
	defer func() {
		// The parser is a port of libyaml; a panic in it on a hostile input
		// must cost one document, never the process.
		if p := recover(); p != nil {
			lerr = &lineError{line: lm.first, msg: fmt.Sprintf("invalid YAML: the parser failed (%v)", p)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return yamlError(c, lm, err)
		}
		f(&doc)
	}
}

// parserProblems are the messages of libyaml's parser, as opposed to its
// scanner's.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

var unknownAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

func yamlError(c chunk, lm lineMap, err error) *lineError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := lm.first
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		line = lm.file(n)
		msg = m[2]
	} else if l, ok := badByteLine(c); ok {
		line = l
	}
	// Point at the offending token, except at the end of the input, where
	// the construct left open (a quote, a bracket) is the better place.
	if msg != "found unexpected end of stream" {
		if n, ok := problemLine(c, msg); ok {
			line = lm.file(n)
		}
	}
	if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(c.data, []byte("*"+m[1])); i >= 0 {
			line = lm.first + bytes.Count(c.data[:i], []byte{'\n'})
		}
	}
	if strings.Contains(msg, "cannot start any token") && bytes.HasPrefix(bytes.TrimLeft(lineText(c, line), " "), []byte("\t")) {
		msg = "a tab indents this line; YAML allows only spaces for indentation"
	}
	return &lineError{line: line, msg: "invalid YAML: " + msg}
}

// problemLine finds the YAML line (1-based, in the chunk) of the token an
// error is about. go.yaml.in/yaml/v3 reports the line where the enclosing
// construct starts (off by one for parser errors); go.yaml.in/yaml/v2, the same
// libyaml port, reports the line of the token itself (0-based for parser
// errors, 1-based for scanner errors).
func problemLine(c chunk, msg string) (line int, ok bool) {
	parser := false
	for _, p := range parserProblems {
		parser = parser || msg == p
	}
	defer func() {
		if recover() != nil {
			line, ok = 0, false
		}
	}()
	dec := yaml2.NewDecoder(bytes.NewReader(c.data))
	for {
		var skip struct{}
		err := dec.Decode(&skip)
		var te *yaml2.TypeError
		switch {
		case err == nil, errors.As(err, &te):
			continue
		case errors.Is(err, io.EOF):
			return 0, false
		}
		e := err.Error()
		if m := yamlLineRE.FindStringSubmatch(e); m != nil && m[2] == msg {
			n, _ := strconv.Atoi(m[1])
			if parser {
				n++
			}
			return n, true
		}
		return 0, false
	}
}

// badByteLine finds the line of the first byte that makes a chunk unreadable
// (invalid UTF-8 or a control character), which the parser reports without a line.
func badByteLine(c chunk) (int, bool) {
	d := c.data
	line := c.firstLine
	for i := 0; i < len(d); {
		r, size := utf8.DecodeRune(d[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, true
		case r == '\n':
			line++
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f, r >= 0x80 && r < 0xa0 && r != 0x85, r == 0xfffe, r == 0xffff:
			return line, true
		}
		i += size
	}
	return 0, false
}

// lineText returns the text of a file line inside the chunk.
func lineText(c chunk, line int) []byte {
	d := c.data
	for l := c.firstLine; l < line; l++ {
		i := bytes.IndexByte(d, '\n')
		if i < 0 {
			return nil
		}
		d = d[i+1:]
	}
	if i := bytes.IndexByte(d, '\n'); i >= 0 {
		d = d[:i]
	}
	return d
}

// aliasCheck measures how many nodes a document's aliases add when expanded,
// without expanding them, and rejects aliases that contain themselves.
func aliasCheck(root *yaml.Node, lm lineMap) *lineError {
	hasAlias := false
	original := 0
	var count func(n *yaml.Node)
	count = func(n *yaml.Node) {
		original++
		if n.Kind == yaml.AliasNode {
			hasAlias = true
		}
		for _, c := range n.Content {
			count(c)
		}
	}
	count(root)
	if !hasAlias {
		return nil
	}
	const saturated = math.MaxInt64 / 4
	size := map[*yaml.Node]int{}
	visiting := map[*yaml.Node]bool{}
	var cyclic *yaml.Node
	var measure func(n *yaml.Node) int
	measure = func(n *yaml.Node) int {
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return 1
			}
			if visiting[n.Alias] {
				if cyclic == nil {
					cyclic = n
				}
				return 1
			}
			return measure(n.Alias)
		}
		if s, ok := size[n]; ok {
			return s
		}
		visiting[n] = true
		s := 1
		for _, c := range n.Content {
			s += measure(c)
			if s > saturated {
				s = saturated
			}
		}
		visiting[n] = false
		size[n] = s
		return s
	}
	total := measure(root)
	if cyclic != nil {
		return &lineError{line: lm.file(cyclic.Line), msg: fmt.Sprintf("invalid YAML: alias *%s refers to a node that contains it", cyclic.Value)}
	}
	if total-original > MaxAliasExpansion {
		// Point at the alias that expands the most.
		var worst *yaml.Node
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n.Kind == yaml.AliasNode && n.Alias != nil && (worst == nil || size[n.Alias] > size[worst.Alias]) {
				worst = n
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(root)
		return &lineError{line: lm.file(worst.Line), msg: fmt.Sprintf("YAML aliases expand this document by more than %d nodes (a \"billion laughs\" document?); refusing to expand them", MaxAliasExpansion)}
	}
	return nil
}

// MaxDepth bounds how deeply the fields of an object may nest. Kubernetes and
// Istio objects nest a few dozen levels at most; the bound keeps the field
// paths, whose total length grows with the square of the depth, small.
const MaxDepth = 200

// converter turns a node tree into plain Go values (for JSON) and records the
// file line of every field path.
type converter struct {
	lm     lineMap
	fields objects.FieldsBuilder
	path   []byte // the field path of the node being converted
	depth  int
}

func newConverter(lm lineMap) *converter {
	return &converter{lm: lm}
}

// pair is one key of a mapping, after YAML merge keys are applied.
type pair struct {
	key      string
	keyNode  *yaml.Node
	valueRaw *yaml.Node
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 1000; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return resolve(n.Content[0])
	}
	return n
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

// pairs returns the keys of a mapping in order, then those its merge keys
// ("<<: *base") bring in. YAML merge semantics: a key written in the mapping
// wins over a merged one, and an earlier merged mapping wins over a later one.
func (c *converter) pairs(n *yaml.Node) ([]pair, *lineError) {
	return c.pairsDepth(n, 0)
}

func (c *converter) pairsDepth(n *yaml.Node, depth int) ([]pair, *lineError) {
	if depth > 100 {
		return nil, &lineError{line: c.lm.file(n.Line), msg: "invalid YAML: merge keys nested too deeply"}
	}
	out := make([]pair, 0, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			merges = append(merges, v)
			continue
		}
		kr := resolve(k)
		if kr == nil || kr.Kind != yaml.ScalarNode {
			return nil, &lineError{line: c.lm.file(k.Line), msg: "invalid YAML: a mapping key must be a scalar"}
		}
		if first, dup := seen[kr.Value]; dup {
			return nil, &lineError{line: c.lm.file(k.Line), msg: fmt.Sprintf("invalid YAML: duplicate key %q (first at line %d)", kr.Value, c.lm.file(out[first].keyNode.Line))}
		}
		seen[kr.Value] = len(out)
		out = append(out, pair{kr.Value, k, v})
	}
	for _, m := range merges {
		mr := resolve(m)
		var srcs []*yaml.Node
		switch {
		case mr != nil && mr.Kind == yaml.MappingNode:
			srcs = []*yaml.Node{mr}
		case mr != nil && mr.Kind == yaml.SequenceNode:
			for _, s := range mr.Content {
				srcs = append(srcs, resolve(s))
			}
		}
		if len(srcs) == 0 && (mr == nil || mr.Kind != yaml.SequenceNode) {
			return nil, &lineError{line: c.lm.file(m.Line), msg: "invalid YAML: a merge key (<<) needs a mapping or a list of mappings"}
		}
		for _, s := range srcs {
			if s == nil || s.Kind != yaml.MappingNode {
				return nil, &lineError{line: c.lm.file(m.Line), msg: "invalid YAML: a merge key (<<) needs a mapping or a list of mappings"}
			}
			ps, err := c.pairsDepth(s, depth+1)
			if err != nil {
				return nil, err
			}
			for _, p := range ps {
				if _, ok := seen[p.key]; !ok {
					seen[p.key] = len(out)
					out = append(out, p)
				}
			}
		}
	}
	return out, nil
}

// value converts n, found at path, and records the line of every field below it.
func (c *converter) value(n *yaml.Node, path string) (any, *lineError) {
	c.path = append(c.path[:0], path...)
	return c.convert(n)
}

// convert converts n, found at c.path, and records the line of every field
// below it. c.path is as it was when it returns.
func (c *converter) convert(n *yaml.Node) (any, *lineError) {
	n = resolve(n)
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		if c.depth >= MaxDepth {
			return nil, &lineError{line: c.lm.file(n.Line), path: string(c.path), msg: fmt.Sprintf("fields nest more than %d levels deep", MaxDepth)}
		}
		c.depth++
		defer func() { c.depth-- }()
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		at := len(c.path)
		for i, e := range n.Content {
			c.path = appendIndex(c.path, i)
			c.fields.SetBytes(c.path, c.lm.file(e.Line))
			v, err := c.convert(e)
			c.path = c.path[:at]
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		ps, err := c.pairs(n)
		if err != nil {
			return nil, withPath(err, string(c.path))
		}
		out := make(map[string]any, len(ps))
		at := len(c.path)
		for _, p := range ps {
			c.path = appendKey(c.path, p.key)
			c.fields.SetBytes(c.path, c.lm.file(p.keyNode.Line))
			v, err := c.convert(p.valueRaw)
			c.path = c.path[:at]
			if err != nil {
				return nil, err
			}
			out[p.key] = v
		}
		return out, nil
	case yaml.ScalarNode:
		v, err := scalar(n)
		if err != nil {
			return nil, &lineError{line: c.lm.file(n.Line), path: string(c.path), msg: err.Error()}
		}
		return v, nil
	}
	return nil, &lineError{line: c.lm.file(n.Line), path: string(c.path), msg: "invalid YAML: unsupported node"}
}

// appendKey appends a map key to a field path, as objects.Child does.
func appendKey(path []byte, key string) []byte {
	if key == "" || strings.ContainsAny(key, ".[]\"") {
		return append(path, objects.Child("", key)...)
	}
	if len(path) > 0 {
		path = append(path, '.')
	}
	return append(path, key...)
}

// appendIndex appends a list index to a field path, as objects.Index does.
func appendIndex(path []byte, i int) []byte {
	path = append(path, '[')
	path = strconv.AppendInt(path, int64(i), 10)
	return append(path, ']')
}

func withPath(e *lineError, path string) *lineError {
	if e.path == "" {
		e.path = path
	}
	return e
}

var decimalRE = regexp.MustCompile(`^[-+]?[0-9]+$`)

// yaml11Bools are the plain scalars YAML 1.1 reads as booleans and YAML 1.2
// (the parser's default) as strings. kubectl, helm and the API server's YAML
// decoder (sigs.k8s.io/yaml) follow YAML 1.1, so meshdoctor does too.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// scalar converts a scalar node as kubectl's YAML decoder resolves it: plain
// 8005 is a number, "8005" a string, plain 0644 the octal number 420.
func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		switch n.Value {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("invalid boolean %q", n.Value)
		}
		return b, nil
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i, nil
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return u, nil
		}
		if decimalRE.MatchString(n.Value) {
			// Too big for 64 bits: keep the digits, the typed decoder says
			// what does not fit where.
			return json.Number(strings.TrimPrefix(n.Value, "+")), nil
		}
		return n.Value, nil
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("invalid number %q", n.Value)
			}
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("number %q cannot be represented in JSON", n.Value)
		}
		return f, nil
	case "!!str":
		if n.Style == 0 && len(n.Value) <= 3 {
			if b, ok := yaml11Bools[n.Value]; ok {
				return b, nil
			}
		}
		return n.Value, nil
	default: // !!timestamp, !!binary and custom tags: as written
		return n.Value, nil
	}
}
