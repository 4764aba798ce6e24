package load

import (
	"path/filepath"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Kustomize renders the kustomization in dir in process with krusty (never by
// running a kustomize binary) and adds the rendered objects to r. Each object
// keeps the position of its source document, found through the origin
// annotation that kustomize writes when asked (buildMetadata: [originAnnotations]);
// meshdoctor asks for it without touching the user's file.
func Kustomize(dir string, r *Result) {
	kustomizeFS(filesys.MakeFsOnDisk(), dir, r)
}

func kustomizeFS(base filesys.FileSystem, dir string, r *Result) {
	kfile := findKustomization(base, dir)
	if kfile == "" {
		r.Errors = append(r.Errors, Error{File: dir, Msg: "no kustomization.yaml, kustomization.yml or Kustomization in this directory"})
		return
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		r.Errors = append(r.Errors, Error{File: dir, Msg: err.Error()})
		return
	}
	fsys := &originFS{FileSystem: base, top: filepath.Join(absDir, filepath.Base(kfile))}
	opts := krusty.MakeDefaultOptions()
	k := krusty.MakeKustomizer(opts)
	rm, err := k.Run(fsys, absDir)
	if err != nil {
		r.Errors = append(r.Errors, Error{File: kfile, Msg: "kustomize: " + oneLine(err.Error())})
		return
	}
	r.Files++
	src := &sourceIndex{fsys: base, files: map[string]*Result{}}
	for _, res := range rm.Resources() {
		if res.GetKind() == "Secret" {
			r.skip(res.GetApiVersion(), "Secret")
			continue
		}
		origin, _ := res.GetOrigin()
		data, err := res.AsYAML()
		if err != nil {
			r.Errors = append(r.Errors, Error{File: kfile, Object: res.CurId().String(), Msg: err.Error()})
			continue
		}
		file := kfile
		if origin != nil {
			switch {
			case origin.Path != "" && origin.Repo == "":
				file = filepath.Join(dir, origin.Path)
			case origin.ConfiguredIn != "":
				file = filepath.Join(dir, origin.ConfiguredIn)
			}
		}
		// Decode the rendered object, then give it the positions of its source.
		var one Result
		Decode(file, data, &one)
		for i := range one.Errors {
			one.Errors[i].File = file
			one.Errors[i].Line = 0
		}
		r.Errors = append(r.Errors, one.Errors...)
		r.Warnings = append(r.Warnings, one.Warnings...)
		for k, n := range one.Skipped {
			if r.Skipped == nil {
				r.Skipped = map[string]int{}
			}
			r.Skipped[k] += n
		}
		r.Documents += one.Documents
		for _, o := range one.Objects {
			if origin != nil {
				o.Origin = originString(origin)
			}
			if mo, ok := o.Typed.(metav1.Object); ok {
				a := mo.GetAnnotations()
				delete(a, originAnnotation)
				if len(a) == 0 {
					a = nil
				}
				mo.SetAnnotations(a)
			}
			o.Pos = objects.Pos{File: file}
			o.Fields = nil
			if s := src.find(file, res, o); s != nil {
				o.Pos.Line = s.Pos.Line
				o.Fields = s.Fields
			} else {
				o.Pos.Line = 1
			}
			o.Seq = len(r.Objects)
			r.Objects = append(r.Objects, o)
		}
	}
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

func originString(o *resource.Origin) string {
	s, err := o.String()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// originFS serves the top kustomization with buildMetadata: [originAnnotations]
// added, so krusty keeps each resource's source path.
type originFS struct {
	filesys.FileSystem
	top string
}

func (f *originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil || filepath.Clean(path) != f.top {
		return data, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil || m == nil {
		return data, nil // let krusty report it
	}
	bm, _ := m["buildMetadata"].([]any)
	for _, v := range bm {
		if v == "originAnnotations" {
			return data, nil
		}
	}
	m["buildMetadata"] = append(bm, "originAnnotations")
	out, err := yaml.Marshal(m)
	if err != nil {
		return data, nil
	}
	return out, nil
}

// sourceIndex finds the source document of a rendered object.
type sourceIndex struct {
	fsys  filesys.FileSystem
	files map[string]*Result
}

func (s *sourceIndex) find(file string, res *resource.Resource, rendered *objects.Object) *objects.Object {
	parsed, ok := s.files[file]
	if !ok {
		parsed = &Result{}
		if data, err := s.fsys.ReadFile(file); err == nil {
			Decode(file, data, parsed)
		}
		s.files[file] = parsed
	}
	// The source has the object's original name: kustomize may add a prefix,
	// a suffix or a hash, and may set the namespace.
	var best *objects.Object
	names := []string{res.OrgId().Name, rendered.Name}
	for _, o := range parsed.Objects {
		if o.Kind != rendered.Kind {
			continue
		}
		for _, n := range names {
			if o.Name == n {
				return o
			}
		}
		if strings.Contains(rendered.Name, o.Name) && (best == nil || len(o.Name) > len(best.Name)) {
			best = o
		}
	}
	if best == nil {
		var only []*objects.Object
		for _, o := range parsed.Objects {
			if o.Kind == rendered.Kind {
				only = append(only, o)
			}
		}
		if len(only) == 1 {
			best = only[0]
		}
	}
	if best == nil {
		return nil
	}
	return best
}

// originAnnotation is where kustomize writes a resource's origin
// (sigs.k8s.io/kustomize/api/internal/utils.OriginAnnotationKey).
const originAnnotation = "config.kubernetes.io/origin"
