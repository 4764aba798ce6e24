package trace

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Edit returns a change that replaces o by a copy whose field at path (an
// objects.Path) is set by fn. fn gets the current value (nil when absent) and
// returns the new one; remove deletes the field (a map key or a list item).
// The copy is made through the object's JSON form, so every kind works.
func Edit(o *objects.Object, path string, fn func(old any) (v any, remove bool)) (Change, error) {
	b, err := json.Marshal(o.Typed)
	if err != nil {
		return Change{}, fmt.Errorf("%s: %w", o.Key(), err)
	}
	var root any
	if err := json.Unmarshal(b, &root); err != nil {
		return Change{}, fmt.Errorf("%s: %w", o.Key(), err)
	}
	segs := objects.Segments(path)
	if len(segs) == 0 {
		return Change{}, fmt.Errorf("%s: empty field path", o.Key())
	}
	root, err = editAt(root, segs, fn)
	if err != nil {
		return Change{}, fmt.Errorf("%s %s: %w", o.Key(), path, err)
	}
	nb, err := json.Marshal(root)
	if err != nil {
		return Change{}, err
	}
	t := reflect.TypeOf(o.Typed)
	if t.Kind() != reflect.Pointer {
		return Change{}, fmt.Errorf("%s: cannot copy a %T", o.Key(), o.Typed)
	}
	typed := reflect.New(t.Elem()).Interface()
	if err := json.Unmarshal(nb, typed); err != nil {
		return Change{}, fmt.Errorf("%s: %w", o.Key(), err)
	}
	c := *o
	c.Typed = typed
	return Change{Old: o, New: &c}, nil
}

func editAt(v any, segs []any, fn func(any) (any, bool)) (any, error) {
	last := len(segs) == 1
	switch s := segs[0].(type) {
	case string:
		m, ok := v.(map[string]any)
		if !ok {
			if v != nil {
				return nil, fmt.Errorf("%q is not in a map", s)
			}
			m = map[string]any{}
		}
		if last {
			nv, rm := fn(m[s])
			if rm {
				delete(m, s)
			} else {
				m[s] = nv
			}
			return m, nil
		}
		child, err := editAt(m[s], segs[1:], fn)
		if err != nil {
			return nil, err
		}
		m[s] = child
		return m, nil
	case int:
		l, ok := v.([]any)
		if !ok || s < 0 || s >= len(l) {
			return nil, fmt.Errorf("no list item %d", s)
		}
		if last {
			nv, rm := fn(l[s])
			if rm {
				return append(l[:s:s], l[s+1:]...), nil
			}
			l[s] = nv
			return l, nil
		}
		child, err := editAt(l[s], segs[1:], fn)
		if err != nil {
			return nil, err
		}
		l[s] = child
		return l, nil
	}
	return nil, fmt.Errorf("bad path segment %v", segs[0])
}
