package gen

import "strconv"

// writer builds one file of YAML documents line by line. The generator writes
// YAML by hand rather than marshalling typed objects: it is much faster, the
// output looks like what people write (key order, flow lists, quoting), and the
// bytes cannot change under a library upgrade.
type writer struct {
	buf  []byte
	docs int
}

var spaces = []byte("                                                                ")

// doc starts a document.
func (w *writer) doc() {
	if w.docs > 0 {
		w.buf = append(w.buf, "---\n"...)
	}
	w.docs++
}

// line writes one line indented by depth levels of two spaces.
func (w *writer) line(depth int, parts ...string) {
	w.buf = append(w.buf, spaces[:2*depth]...)
	for _, p := range parts {
		w.buf = append(w.buf, p...)
	}
	w.buf = append(w.buf, '\n')
}

// header writes apiVersion, kind and metadata name and namespace.
func (w *writer) header(apiVersion, kind, ns, name string) {
	w.doc()
	w.line(0, "apiVersion: ", apiVersion)
	w.line(0, "kind: ", kind)
	w.line(0, "metadata:")
	w.line(1, "name: ", name)
	if ns != "" {
		w.line(1, "namespace: ", ns)
	}
}

// q quotes a string scalar, as people quote hosts with "*" and values that
// would otherwise read as booleans or numbers.
func q(s string) string { return strconv.Quote(s) }

func itoa(i int32) string { return strconv.Itoa(int(i)) }

// flow writes a flow sequence of quoted strings: ["a", "b"].
func flow(xs ...string) string {
	b := []byte{'['}
	for i, x := range xs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendQuote(b, x)
	}
	return string(append(b, ']'))
}
