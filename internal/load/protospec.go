package load

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The spec of an Istio object is a protobuf message that istio.io/api decodes
// with github.com/golang/protobuf/jsonpb (AllowUnknownFields), from JSON text,
// through protobuf reflection: a quarter of the loader's time. decodeSpec fills
// the message straight from the converted YAML values, doing what jsonpb does,
// step for step (fields in descriptor order, the proto name then the JSON name,
// null skipped, unknown fields ignored). It only takes values whose jsonpb
// reading is plain: anything else (a value of the wrong kind, an unknown enum
// name, a number that does not fit, a null in a list, well-known types other
// than durations and wrappers) makes it give up, and the object is decoded
// the slow way, so that errors and their lines are exactly jsonpb's.

// fastSpec enables decodeSpec (a variable for tests, which compare both ways).
var fastSpec = true

// specMessage returns the protobuf message in the Spec field of an Istio
// client-go object, or nil.
func specMessage(typed any) protoreflect.Message {
	rv := reflect.ValueOf(typed)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil
	}
	spec := rv.Elem().FieldByName("Spec")
	if !spec.IsValid() || !spec.CanAddr() {
		return nil
	}
	pm, ok := spec.Addr().Interface().(protoreflect.ProtoMessage)
	if !ok {
		return nil
	}
	return pm.ProtoReflect()
}

// decodeSpec fills m, an empty message, from v as jsonpb would, and reports
// whether it could. When it could not, m is left in an unspecified state.
func decodeSpec(m protoreflect.Message, v map[string]any) bool {
	return fillMessage(m, v, 0)
}

func fillMessage(m protoreflect.Message, v any, depth int) bool {
	if depth > MaxDepth {
		return false
	}
	md := m.Descriptor()
	if md.FullName().Parent() == "google.protobuf" {
		return fillWellKnown(m, v, depth)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for k := range obj {
		if strings.HasPrefix(k, "[") && strings.HasSuffix(k, "]") {
			return false // an extension name: jsonpb looks it up
		}
	}
	fds := md.Fields()
	var used []string // keys read by an earlier field: jsonpb deletes them
	take := func(key string) (any, bool) {
		v, ok := obj[key]
		if !ok {
			return nil, false
		}
		for _, u := range used {
			if u == key {
				return nil, false
			}
		}
		used = append(used, key)
		return v, true
	}
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		if fd.IsWeak() || fd.Kind() == protoreflect.GroupKind {
			return false
		}
		raw, found := take(string(fd.Name()))
		if jv, ok := take(fd.JSONName()); ok {
			raw, found = jv, true
		}
		if !found || raw == nil {
			if found && nullMatters(fd) {
				return false
			}
			continue
		}
		val := m.NewField(fd)
		switch {
		case fd.IsList():
			list, ok := raw.([]any)
			if !ok {
				return false
			}
			lv := val.List()
			for _, e := range list {
				ev, ok := singular(lv.NewElement(), e, fd, depth)
				if !ok {
					return false
				}
				lv.Append(ev)
			}
		case fd.IsMap():
			entries, ok := raw.(map[string]any)
			if !ok {
				return false
			}
			mv := val.Map()
			kfd, vfd := fd.MapKey(), fd.MapValue()
			for key, e := range entries {
				kv, ok := mapKey(kfd, key)
				if !ok {
					return false
				}
				ev, ok := singular(mv.NewValue(), e, vfd, depth)
				if !ok {
					return false
				}
				mv.Set(kv, ev)
			}
		default:
			sv, ok := singular(val, raw, fd, depth)
			if !ok {
				return false
			}
			val = sv
		}
		m.Set(fd, val)
	}
	return true
}

// nullMatters reports whether jsonpb reads a null for fd as something other
// than "not set".
func nullMatters(fd protoreflect.FieldDescriptor) bool {
	if fd.Cardinality() == protoreflect.Repeated {
		return false
	}
	if md := fd.Message(); md != nil {
		return md.FullName() == "google.protobuf.Value"
	}
	if ed := fd.Enum(); ed != nil {
		return ed.FullName() == "google.protobuf.NullValue"
	}
	return false
}

// fillWellKnown handles the google.protobuf messages whose jsonpb reading is
// simple: Duration (time.ParseDuration, as jsonpb) and the wrappers.
func fillWellKnown(m protoreflect.Message, v any, depth int) bool {
	fds := m.Descriptor().Fields()
	switch m.Descriptor().Name() {
	case "Duration":
		s, ok := v.(string)
		if !ok || !utf8.ValidString(s) {
			return false
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return false
		}
		m.Set(fds.ByNumber(1), protoreflect.ValueOfInt64(d.Nanoseconds()/1e9))
		m.Set(fds.ByNumber(2), protoreflect.ValueOfInt32(int32(d.Nanoseconds()%1e9)))
		return true
	case "BoolValue", "StringValue", "Int32Value", "UInt32Value", "Int64Value", "UInt64Value", "DoubleValue":
		if v == nil {
			return false
		}
		fd := fds.ByNumber(1)
		val, ok := singular(m.NewField(fd), v, fd, depth)
		if !ok {
			return false
		}
		m.Set(fd, val)
		return true
	}
	return false
}

// singular converts one value (not a list or a map) for fd; cur is a new
// value of fd's type.
func singular(cur protoreflect.Value, v any, fd protoreflect.FieldDescriptor, depth int) (protoreflect.Value, bool) {
	var none protoreflect.Value
	if v == nil {
		return none, false // jsonpb's reading of a null element depends on the kind
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if b, ok := v.(bool); ok {
			return protoreflect.ValueOfBool(b), true
		}
	case protoreflect.StringKind:
		if s, ok := v.(string); ok && utf8.ValidString(s) {
			return protoreflect.ValueOfString(s), true
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if i, ok := intValue(v, true); ok && i >= math.MinInt32 && i <= math.MaxInt32 {
			return protoreflect.ValueOfInt32(int32(i)), true
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if i, ok := intValue(v, true); ok {
			return protoreflect.ValueOfInt64(i), true
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if i, ok := intValue(v, false); ok && i >= 0 && i <= math.MaxUint32 {
			return protoreflect.ValueOfUint32(uint32(i)), true
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if u, ok := v.(uint64); ok {
			return protoreflect.ValueOfUint64(u), true
		}
		if i, ok := intValue(v, false); ok && i >= 0 {
			return protoreflect.ValueOfUint64(uint64(i)), true
		}
	case protoreflect.DoubleKind:
		switch n := v.(type) {
		case float64:
			return protoreflect.ValueOfFloat64(n), true
		case int64:
			return protoreflect.ValueOfFloat64(float64(n)), true
		}
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return none, false
		}
		switch n := v.(type) {
		case string:
			if ev := fd.Enum().Values().ByName(protoreflect.Name(n)); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), true
			}
		case int64:
			if n >= math.MinInt32 && n <= math.MaxInt32 {
				return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), true
			}
		}
	case protoreflect.MessageKind:
		if fillMessage(cur.Message(), v, depth+1) {
			return cur, true
		}
	}
	// Floats (rounding twice), bytes (base64), and the rest: the slow way.
	return none, false
}

// intValue returns an integer as jsonpb reads it: a number, or a string of
// decimal digits (jsonpb strips the quotes and reads what is inside as JSON).
func intValue(v any, signed bool) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case string:
		return decimal(n, signed)
	}
	return 0, false
}

// decimal parses s if it is a plain JSON integer: an optional minus (when
// signed), then 0 or digits without a leading zero.
func decimal(s string, signed bool) (int64, bool) {
	d := s
	if signed && strings.HasPrefix(d, "-") {
		d = d[1:]
	}
	if d == "" || (d[0] == '0' && len(d) > 1) || d == "0" && len(s) > 1 {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.ParseInt(s, 10, 64)
	return i, err == nil
}

// mapKey converts a map key as jsonpb does (string keys as they are, integer
// keys from their decimal text).
func mapKey(kfd protoreflect.FieldDescriptor, key string) (protoreflect.MapKey, bool) {
	var none protoreflect.MapKey
	switch kfd.Kind() {
	case protoreflect.StringKind:
		if !utf8.ValidString(key) {
			return none, false
		}
		return protoreflect.ValueOfString(key).MapKey(), true
	case protoreflect.BoolKind:
		return none, false
	}
	v, ok := singular(protoreflect.Value{}, key, kfd, 0)
	if !ok {
		return none, false
	}
	return v.MapKey(), true
}

// specJSON is json.Marshal of m without its spec: the rest of an Istio object
// for the typed decoder, the spec having been decoded by decodeSpec.
func specJSON(m map[string]any) ([]byte, error) {
	rest := make(map[string]any, len(m))
	for k, v := range m {
		if k != "spec" {
			rest[k] = v
		}
	}
	return json.Marshal(rest)
}
