package load

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Kustomize renders the kustomization in dir in process with krusty (never by
// running a kustomize binary) and adds the rendered objects to r. Each object
// keeps the position of its source document, found through the origin
// annotation that kustomize writes when asked (buildMetadata: [originAnnotations]);
// meshdoctor asks for it without touching the user's file.
//
// Positions are those of the source document: a field that a patch changed
// keeps the line it has in the source document (or its nearest ancestor's).
func Kustomize(dir string, r *Result) {
	kustomizeFS(filesys.MakeFsOnDisk(), dir, r)
}

// kustomizeFS is Kustomize on any file system (an in-memory one in tests).
func kustomizeFS(base filesys.FileSystem, dir string, r *Result) {
	kfile := findKustomization(base, dir)
	if kfile == "" {
		r.errorf(dir, 0, "", "no kustomization.yaml, kustomization.yml or Kustomization in this directory")
		return
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		r.errorf(dir, 0, "", "%s", err)
		return
	}
	fsys := &originFS{FileSystem: base, top: filepath.Join(absDir, filepath.Base(kfile))}
	// display turns a path krusty uses into one relative to dir as the user wrote it.
	display := func(abs string) string {
		if rel, err := filepath.Rel(absDir, abs); err == nil {
			return filepath.Join(dir, rel)
		}
		return abs
	}
	resources, err := runKrusty(fsys, absDir)
	for _, p := range fsys.problems {
		p.File = display(p.File)
		r.Errors = append(r.Errors, p)
	}
	if err != nil {
		r.errorf(kfile, 0, "", "kustomize: %s", oneLine(err.Error()))
		// krusty names the broken file at best, never the line: read the
		// manifests it read so far and report their problems with lines.
		reported := map[string]bool{}
		for _, p := range fsys.problems {
			reported[p.File] = true
		}
		for _, f := range fsys.read {
			if isKustomizationFile(f) || !IsManifest(f) || reported[f] {
				continue
			}
			data, err := base.ReadFile(f)
			if err != nil {
				continue
			}
			var one Result
			Decode(display(f), data, &one)
			r.Errors = append(r.Errors, one.Errors...)
		}
		return
	}
	r.Files++
	src := &sourceIndex{fsys: base, docs: map[string][]*sourceDoc{}}
	for _, res := range resources {
		r.Documents++
		apiVersion, kind := res.GetApiVersion(), res.GetKind()
		if _, known, _ := lookupKind(apiVersion, kind); !known {
			r.skip(apiVersion, kind) // Secrets among them: never read
			continue
		}
		origin, _ := res.GetOrigin()
		file, doc := kfile, (*sourceDoc)(nil)
		if origin != nil {
			if f, d := src.find(absDir, origin, res, display); f != "" {
				file, doc = f, d
			}
		}
		line := 0
		var fields objects.Fields
		if doc != nil {
			line, fields = doc.line, doc.fields
		}
		// Convert the rendered object (the fields' lines are those of the
		// source document, not of the rendering).
		desc := objects.Key{Kind: kind, Namespace: res.GetNamespace(), Name: res.GetName()}.String()
		v, cerr := newConverter(lineMap{first: 1, last: 1}).value(res.YNode(), "")
		if cerr != nil {
			r.errorf(file, lineIn(fields, cerr.path, line), desc, "%s", cerr.msg)
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			r.errorf(file, line, desc, "kustomize rendered something that is not an object")
			continue
		}
		dropOriginAnnotation(m)
		n := len(r.Objects)
		decodeObject(file, line, m, fields, r)
		for _, o := range r.Objects[n:] {
			if origin != nil {
				o.Origin = originString(origin)
			}
		}
	}
}

// runKrusty runs the kustomizer. A panic inside kustomize on a hostile input
// costs the kustomization, never the process.
func runKrusty(fsys filesys.FileSystem, dir string) (res []*resource.Resource, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("kustomize failed on this input (%v)", p)
		}
	}()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(fsys, dir)
	if err != nil {
		return nil, err
	}
	return rm.Resources(), nil
}

func findKustomization(fsys filesys.FileSystem, dir string) string {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, n)
		if fsys.Exists(p) && !fsys.IsDir(p) {
			return p
		}
	}
	return ""
}

func isKustomizationFile(path string) bool {
	base := filepath.Base(path)
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if base == n {
			return true
		}
	}
	return false
}

func originString(o *resource.Origin) string {
	s, err := o.String()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func dropOriginAnnotation(m map[string]any) {
	md, _ := m["metadata"].(map[string]any)
	a, _ := md["annotations"].(map[string]any)
	if a == nil {
		return
	}
	delete(a, originAnnotation)
	if len(a) == 0 {
		delete(md, "annotations")
	}
}

// originAnnotation is where kustomize writes a resource's origin
// (sigs.k8s.io/kustomize/api/internal/utils.OriginAnnotationKey).
const originAnnotation = "config.kubernetes.io/origin"

// originFS is the file system krusty reads through. It
//   - serves the top kustomization with buildMetadata: [originAnnotations] added,
//     so that krusty keeps each resource's source path;
//   - refuses YAML whose aliases expand beyond MaxAliasExpansion, before kustomize
//     (which expands them) sees it;
//   - refuses remote resources, which kustomize would fetch by running git or
//     over HTTP: meshdoctor reads local files only;
//   - remembers what was read, to find the broken file when krusty fails.
type originFS struct {
	filesys.FileSystem
	top      string
	read     []string
	problems []Error // found while serving krusty, reported whatever krusty says
}

func (f *originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil {
		return data, err
	}
	f.read = append(f.read, path)
	if bytes.IndexByte(data, '*') >= 0 && bytes.IndexByte(data, '&') >= 0 {
		if e := aliasBomb(data); e != nil {
			e.File = path
			f.problems = append(f.problems, *e)
			return nil, e
		}
	}
	if !isKustomizationFile(path) {
		return data, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return data, nil // let krusty report it
	}
	root := resolve(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		return data, nil
	}
	changed := f.dropRemote(path, root)
	if filepath.Clean(path) == f.top {
		return addOriginAnnotations(root, data), nil
	}
	if changed {
		return encodeNode(root, data), nil
	}
	return data, nil
}

// dropRemote removes the resources/bases/components entries that are URLs,
// and records each as a problem. It reports whether it removed any.
func (f *originFS) dropRemote(path string, root *yaml.Node) bool {
	dir := filepath.Dir(path)
	changed := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "resources", "bases", "components":
		default:
			continue
		}
		list := resolve(root.Content[i+1])
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		kept := list.Content[:0:0]
		for _, e := range list.Content {
			if e.Kind == yaml.ScalarNode && !f.Exists(filepath.Join(dir, e.Value)) && isRemote(e.Value) {
				f.problems = append(f.problems, Error{File: path, Line: e.Line,
					Msg: fmt.Sprintf("remote resource %q not read: meshdoctor reads local files only (kustomize would fetch it with git or HTTP); vendor it, or pipe `kustomize build` into meshdoctor -f -", e.Value)})
				changed = true
				continue
			}
			kept = append(kept, e)
		}
		list.Content = kept
	}
	return changed
}

func isRemote(entry string) bool {
	if strings.HasPrefix(entry, "https://") || strings.HasPrefix(entry, "http://") {
		return true
	}
	return !filepath.IsAbs(entry) && (&resource.Origin{}).Append(entry).Repo != ""
}

// addOriginAnnotations adds originAnnotations to the kustomization's
// buildMetadata, keeping everything else as written.
func addOriginAnnotations(root *yaml.Node, data []byte) []byte {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "buildMetadata" {
			continue
		}
		bm := root.Content[i+1]
		if bm.Kind != yaml.SequenceNode {
			return data // let krusty report it
		}
		for _, v := range bm.Content {
			if v.Value == "originAnnotations" {
				return data
			}
		}
		bm.Content = append(bm.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "originAnnotations"})
		return encodeNode(root, data)
	}
	root.Content = append(root.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "buildMetadata"},
		&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "originAnnotations"}}})
	return encodeNode(root, data)
}

func encodeNode(n *yaml.Node, fallback []byte) []byte {
	out, err := yaml.Marshal(n)
	if err != nil {
		return fallback
	}
	return out
}

// aliasBomb parses data and says why its aliases are refused, or nil.
func aliasBomb(data []byte) (e *Error) {
	for _, c := range splitDocuments(normalizeEncoding(data)) {
		lm := newLineMap(c)
		_ = eachDocument(c, lm, func(doc *yaml.Node) {
			if e != nil {
				return
			}
			if err := aliasCheck(doc, lm); err != nil {
				e = &Error{Line: err.line, Msg: err.msg}
			}
		})
		if e != nil {
			return e
		}
	}
	return nil
}

// sourceDoc is a document of a source file, with the lines of its fields.
type sourceDoc struct {
	kind, group, name, namespace string
	line                         int
	fields                       objects.Fields
}

// sourceIndex finds the source document of a rendered object.
type sourceIndex struct {
	fsys filesys.FileSystem
	docs map[string][]*sourceDoc // by absolute path
}

// find returns the file (as the user would name it) and the source document
// of a rendered resource.
func (s *sourceIndex) find(absDir string, origin *resource.Origin, res *resource.Resource, display func(string) string) (string, *sourceDoc) {
	switch {
	case origin.Repo != "":
		return origin.Repo + "//" + origin.Path, nil
	case origin.Path != "":
		abs := filepath.Join(absDir, origin.Path)
		return display(abs), s.resourceDoc(abs, res)
	case origin.ConfiguredIn != "":
		abs := filepath.Join(absDir, origin.ConfiguredIn)
		return display(abs), s.generatorDoc(abs, origin, res)
	}
	return "", nil
}

func (s *sourceIndex) parse(abs string) []*sourceDoc {
	if docs, ok := s.docs[abs]; ok {
		return docs
	}
	var docs []*sourceDoc
	if data, err := s.fsys.ReadFile(abs); err == nil {
		docs = sourceDocs(data)
	}
	s.docs[abs] = docs
	return docs
}

// sourceDocs parses the objects of a file for their positions only (no typed
// decoding; Secrets and kinds meshdoctor does not read are left unconverted).
func sourceDocs(data []byte) []*sourceDoc {
	var out []*sourceDoc
	var add func(n *yaml.Node, c *converter)
	add = func(n *yaml.Node, c *converter) {
		ps, err := c.pairs(n)
		if err != nil {
			return
		}
		var kind, apiVersion string
		var items *yaml.Node
		for _, p := range ps {
			v := resolve(p.valueRaw)
			switch {
			case v == nil:
			case p.key == "kind" && v.Kind == yaml.ScalarNode:
				kind = v.Value
			case p.key == "apiVersion" && v.Kind == yaml.ScalarNode:
				apiVersion = v.Value
			case p.key == "items" && v.Kind == yaml.SequenceNode:
				items = v
			}
		}
		if isList(kind, items != nil) {
			if items != nil {
				for _, it := range items.Content {
					if it := resolve(it); it != nil && it.Kind == yaml.MappingNode {
						add(it, newConverter(c.lm))
					}
				}
			}
			return
		}
		if _, known, _ := lookupKind(apiVersion, kind); !known {
			return
		}
		v, cerr := c.value(n, "")
		m, ok := v.(map[string]any)
		if cerr != nil || !ok {
			return
		}
		group, _ := splitAPIVersion(apiVersion)
		name, _ := nested(m, "metadata", "name").(string)
		ns, _ := nested(m, "metadata", "namespace").(string)
		out = append(out, &sourceDoc{kind: kind, group: group, name: name, namespace: ns, line: c.lm.file(n.Line), fields: c.fields.Fields()})
	}
	for _, c := range splitDocuments(normalizeEncoding(data)) {
		lm := newLineMap(c)
		_ = eachDocument(c, lm, func(doc *yaml.Node) {
			if root := resolve(doc); root != nil && root.Kind == yaml.MappingNode && aliasCheck(doc, lm) == nil {
				add(root, newConverter(lm))
			}
		})
	}
	return out
}

// resourceDoc picks the document a resource was rendered from. kustomize may
// have changed its name (namePrefix, nameSuffix) and its namespace, so the
// best match is: the same name, else the longest source name that the rendered
// name contains, else the only document of that kind.
func (s *sourceIndex) resourceDoc(abs string, res *resource.Resource) *sourceDoc {
	kind, name, ns := res.GetKind(), res.GetName(), res.GetNamespace()
	group, _ := splitAPIVersion(res.GetApiVersion())
	var best *sourceDoc
	score := func(d *sourceDoc) int {
		switch {
		case d.name == name && d.namespace == ns:
			return 1 << 30
		case d.name == name:
			return 1 << 29
		case d.name != "" && strings.Contains(name, d.name):
			return len(d.name)
		}
		return -1
	}
	var ofKind []*sourceDoc
	for _, d := range s.parse(abs) {
		if d.kind != kind || d.group != group {
			continue
		}
		ofKind = append(ofKind, d)
		if score(d) >= 0 && (best == nil || score(d) > score(best)) {
			best = d
		}
	}
	if best == nil && len(ofKind) == 1 {
		best = ofKind[0]
	}
	return best
}

// generatorDoc finds the configMapGenerator (or other generator) entry of a
// kustomization that generated res, and makes a document of it: the object
// is the entry, metadata.name its name, data.KEY the literal or file of KEY.
func (s *sourceIndex) generatorDoc(abs string, origin *resource.Origin, res *resource.Resource) *sourceDoc {
	data, err := s.fsys.ReadFile(abs)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil
	}
	root := resolve(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		return nil
	}
	field := map[string]string{"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}[origin.ConfiguredBy.Kind]
	if field == "" {
		return nil
	}
	lm := lineMap{first: 1, last: bytes.Count(data, []byte{'\n'}) + 1}
	var best *sourceDoc
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != field {
			continue
		}
		list := resolve(root.Content[i+1])
		if list == nil || list.Kind != yaml.SequenceNode {
			return nil
		}
		for _, e := range list.Content {
			if d := generatorEntry(e, lm); d != nil && strings.Contains(res.GetName(), d.name) && (best == nil || len(d.name) > len(best.name)) {
				best = d
			}
		}
	}
	if best != nil {
		best.kind, best.group = res.GetKind(), ""
	}
	return best
}

func generatorEntry(e *yaml.Node, lm lineMap) *sourceDoc {
	e = resolve(e)
	if e == nil || e.Kind != yaml.MappingNode {
		return nil
	}
	d := &sourceDoc{line: lm.file(e.Line)}
	var fields objects.FieldsBuilder
	fields.Set("metadata", lm.file(e.Line))
	for i := 0; i+1 < len(e.Content); i += 2 {
		k, v := e.Content[i], resolve(e.Content[i+1])
		if v == nil {
			continue
		}
		switch k.Value {
		case "name":
			d.name = v.Value
			fields.Set("metadata.name", lm.file(k.Line))
		case "namespace":
			d.namespace = v.Value
			fields.Set("metadata.namespace", lm.file(k.Line))
		case "literals", "files", "envs":
			if _, ok := fields.Lookup("data"); !ok {
				fields.Set("data", lm.file(k.Line))
			}
			if v.Kind != yaml.SequenceNode {
				continue
			}
			for _, item := range v.Content {
				if key := generatorKey(k.Value, item.Value); key != "" {
					fields.Set(objects.Child("data", key), lm.file(item.Line))
				}
			}
		}
	}
	if d.name == "" {
		return nil
	}
	d.fields = fields.Fields()
	return d
}

// generatorKey is the data key a generator source makes: "KEY=value" for
// literals, "KEY=path" or "path" (its base name) for files.
func generatorKey(field, item string) string {
	switch field {
	case "literals":
		k, _, ok := strings.Cut(item, "=")
		if ok {
			return strings.TrimSpace(k)
		}
	case "files":
		if k, _, ok := strings.Cut(item, "="); ok {
			return strings.TrimSpace(k)
		}
		return filepath.Base(item)
	}
	return ""
}
