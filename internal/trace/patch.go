package trace

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Change replaces an existing object by a modified copy, or adds a new one.
type Change struct {
	// Old is the object replaced (nil for an addition).
	Old *objects.Object
	// New is the replacement or the added object.
	New *objects.Object
}

// Apply returns objs with the changes applied: replacements keep their place,
// additions go last.
func Apply(objs []*objects.Object, changes []Change) []*objects.Object {
	repl := map[*objects.Object]*objects.Object{}
	var adds []*objects.Object
	for _, c := range changes {
		if c.Old != nil {
			if c.New != nil {
				c.New.Seq = c.Old.Seq
			}
			repl[c.Old] = c.New
		} else {
			c.New.Seq = len(objs) + len(adds)
			adds = append(adds, c.New)
		}
	}
	out := make([]*objects.Object, 0, len(objs)+len(adds))
	for _, o := range objs {
		if n, ok := repl[o]; ok {
			if n != nil {
				out = append(out, n)
			}
			continue
		}
		out = append(out, o)
	}
	return append(out, adds...)
}

// Rebuild indexes objs as x was indexed.
func Rebuild(x *mesh.Index, objs []*objects.Object) *mesh.Index {
	return mesh.Build(objs, mesh.Options{})
}

// copyObject returns a deep copy of o whose Typed can be modified.
func copyObject(o *objects.Object) *objects.Object {
	c := *o
	if ro, ok := o.Typed.(runtime.Object); ok {
		c.Typed = ro.DeepCopyObject()
	}
	return &c
}

// newObject wraps a typed object built by a fix. It has no source position: it
// does not exist yet.
func newObject(apiVersion, kind, ns, name string, typed any) *objects.Object {
	return &objects.Object{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name, Typed: typed,
		Pos: objects.Pos{File: "(proposed)"}}
}

// patchYAML renders the change as YAML an operator can apply: a whole object for
// an addition; for a modification, a strategic merge patch (Kubernetes kinds,
// `kubectl patch --type strategic`) or a JSON merge patch (Istio kinds,
// `kubectl patch --type merge`), headed by the object's identity.
func patchYAML(c Change) (string, error) {
	newJSON, err := json.Marshal(c.New.Typed)
	if err != nil {
		return "", err
	}
	if c.Old == nil {
		var m map[string]any
		if err := json.Unmarshal(newJSON, &m); err != nil {
			return "", err
		}
		m["apiVersion"], m["kind"] = c.New.APIVersion, c.New.Kind
		if spec, ok := m["spec"].(map[string]any); ok {
			if full := specWithDefaults(c.New.Typed); full != nil {
				fillEmptyEnums(spec, full)
			}
		}
		cleanMeta(m)
		b, err := yaml.Marshal(m)
		return string(b), err
	}
	oldJSON, err := json.Marshal(c.Old.Typed)
	if err != nil {
		return "", err
	}
	var patch []byte
	if strings.Contains(c.Old.APIVersion, "istio.io") {
		patch, err = jsonpatch.CreateMergePatch(oldJSON, newJSON)
	} else {
		patch, err = strategicpatch.CreateTwoWayMergePatch(oldJSON, newJSON, c.Old.Typed)
	}
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(patch, &m); err != nil {
		return "", err
	}
	dropDirectives(m)
	if spec, ok := m["spec"].(map[string]any); ok {
		if full := specWithDefaults(c.New.Typed); full != nil {
			fillZeroEnums(spec, full)
			fillEmptyEnums(spec, full)
		}
	}
	md, _ := m["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	md["name"] = c.Old.Name
	if c.Old.Namespace != "" {
		md["namespace"] = c.Old.Namespace
	}
	m["metadata"] = md
	m["apiVersion"], m["kind"] = c.Old.APIVersion, c.Old.Kind
	b, err := yaml.Marshal(m)
	if err != nil {
		return "", err
	}
	kind := "strategic"
	if strings.Contains(c.Old.APIVersion, "istio.io") {
		kind = "merge"
	}
	return fmt.Sprintf("# kubectl patch --type %s, on %s\n%s", kind, c.Old.Pos.String(), b), nil
}

// specWithDefaults renders the spec of an Istio object with its zero values
// (protojson EmitUnpopulated), or nil for other kinds.
func specWithDefaults(typed any) map[string]any {
	v := reflect.ValueOf(typed)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Spec")
	if !f.IsValid() || !f.CanAddr() {
		return nil
	}
	pm, ok := f.Addr().Interface().(proto.Message)
	if !ok {
		return nil
	}
	b, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(pm)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// fillEmptyEnums writes, in the maps of a new object that JSON left empty
// because their only field is an enum at its zero value (tls: {mode:
// DISABLE} renders as tls: {}), that enum's name.
func fillEmptyEnums(obj, full map[string]any) {
	for k, v := range obj {
		fv := full[k]
		switch ov := v.(type) {
		case map[string]any:
			fm, ok := fv.(map[string]any)
			if !ok {
				continue
			}
			if len(ov) == 0 {
				for fk, x := range fm {
					if name, ok := x.(string); ok && strings.ToUpper(name) == name && strings.ContainsFunc(name, unicode.IsLetter) && !strings.HasSuffix(name, "UNSPECIFIED") {
						ov[fk] = name
					}
				}
				continue
			}
			fillEmptyEnums(ov, fm)
		case []any:
			fl, ok := fv.([]any)
			if !ok || len(fl) != len(ov) {
				continue
			}
			for i := range ov {
				om, ok1 := ov[i].(map[string]any)
				fm, ok2 := fl[i].(map[string]any)
				if ok1 && ok2 {
					fillEmptyEnums(om, fm)
				}
			}
		}
	}
}

// fillZeroEnums replaces the nulls of a JSON merge patch that stand for an
// enum set to its zero value (tls.mode: DISABLE is 0, which JSON omits, so the
// diff shows it as a removal) by the value's name: the same change, written
// the way an operator would write it.
func fillZeroEnums(patch, full map[string]any) {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			if s, ok := full[k].(string); ok && s != "" {
				patch[k] = s
			}
		case map[string]any:
			if fv, ok := full[k].(map[string]any); ok {
				fillZeroEnums(pv, fv)
			}
		}
	}
}

func cleanMeta(m map[string]any) {
	md, _ := m["metadata"].(map[string]any)
	if md == nil {
		return
	}
	delete(md, "creationTimestamp")
	if len(md) == 0 {
		delete(m, "metadata")
	}
	if st, ok := m["status"].(map[string]any); ok && len(st) == 0 {
		delete(m, "status")
	}
}

// dropDirectives removes the $setElementOrder directives of a strategic merge
// patch: kubectl does not need them to apply the patch, and a reader does not
// either.
func dropDirectives(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if strings.HasPrefix(k, "$setElementOrder/") {
				delete(t, k)
				continue
			}
			dropDirectives(c)
		}
	case []any:
		for _, c := range t {
			dropDirectives(c)
		}
	}
}
