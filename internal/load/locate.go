package load

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// The typed decoders (encoding/json for Kubernetes types, jsonpb inside the
// Istio types) say what is wrong but not reliably where: jsonpb names neither
// the field nor the list index. locate walks the document along its Go type and
// decodes each leaf on its own into the same type, so the first leaf that fails
// is the field the error is about, with exactly the decoder's verdict.

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	protoMessage    = reflect.TypeFor[protoreflect.ProtoMessage]()
)

// locate returns the path of the field that makes decoding m into t fail, and
// a message for it. When no single field is to blame it returns "" and the
// decoder's own message.
func locate(t reflect.Type, m map[string]any, err error) (path, msg string) {
	if p, msg, ok := walkGo(t, m, ""); ok {
		return p, msg
	}
	return "", cleanError(err)
}

// walkGo looks for the first field of v that cannot be decoded into t.
func walkGo(t reflect.Type, v any, path string) (string, string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return "", "", false // null is every type's zero value
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(protoMessage) {
		mt, ok := reflect.New(t).Interface().(protoreflect.ProtoMessage)
		if ok {
			return walkProto(mt.ProtoReflect().Type(), v, path)
		}
	}
	if pt.Implements(jsonUnmarshaler) {
		return tryGo(t, v, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return path, expected("a mapping", v), true
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			if !ok {
				continue // unknown fields are warnings, not errors
			}
			if p, msg, ok := walkGo(ft, obj[k], objects.Child(path, k)); ok {
				return p, msg, true
			}
		}
		return "", "", false
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return tryGo(t, v, path) // []byte: base64 text
		}
		list, ok := v.([]any)
		if !ok {
			return path, expected("a list", v), true
		}
		for i, e := range list {
			if p, msg, ok := walkGo(t.Elem(), e, objects.Index(path, i)); ok {
				return p, msg, true
			}
		}
		return "", "", false
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return path, expected("a mapping", v), true
		}
		if t.Key().Kind() != reflect.String {
			return tryGo(t, v, path)
		}
		for _, k := range sortedKeys(obj) {
			if p, msg, ok := walkGo(t.Elem(), obj[k], objects.Child(path, k)); ok {
				return p, msg, true
			}
		}
		return "", "", false
	case reflect.Interface:
		return "", "", false
	}
	return tryGo(t, v, path)
}

// tryGo decodes v alone into a new t.
func tryGo(t reflect.Type, v any, path string) (string, string, bool) {
	data, err := json.Marshal(v)
	if err != nil {
		return path, err.Error(), true
	}
	if err := json.Unmarshal(data, reflect.New(t).Interface()); err != nil {
		return path, leafMessage(goWant(t), v, err, false), true
	}
	return "", "", false
}

func goWant(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer (" + t.Kind().String() + ")"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer (" + t.Kind().String() + ")"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return ""
}

// jsonFieldCache maps a struct type to its JSON field names and their types,
// following encoding/json: tags name fields, untagged embedded structs are
// inlined, "-" is skipped.
var jsonFieldCache sync.Map // reflect.Type -> map[string]reflect.Type

func jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := jsonFieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	for _, et := range embedded {
		for k, v := range jsonFields(et) {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	jsonFieldCache.Store(t, out)
	return out
}

// wellKnown reports whether a message is a google.protobuf type, which jsonpb
// reads from a JSON scalar or from free-form JSON: a leaf for locate.
func wellKnown(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.")
}

func messageType(md protoreflect.MessageDescriptor) protoreflect.MessageType {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
	if err != nil {
		return nil
	}
	return mt
}

func protoField(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	fds := md.Fields()
	if fd := fds.ByJSONName(key); fd != nil {
		return fd
	}
	return fds.ByName(protoreflect.Name(key))
}

// walkProto looks for the first field of v that jsonpb cannot decode into a
// message of type mt. Leaves are decoded through the message's own
// UnmarshalJSON, as the typed decode does.
func walkProto(mt protoreflect.MessageType, v any, path string) (string, string, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return path, expected("a mapping", v), true
	}
	md := mt.Descriptor()
	for _, k := range sortedKeys(obj) {
		fd := protoField(md, k)
		val := obj[k]
		if fd == nil || val == nil {
			continue
		}
		p := objects.Child(path, k)
		try := func(val any, at string) (string, string, bool) {
			return tryProto(mt, fd, map[string]any{k: val}, val, at)
		}
		switch {
		case fd.IsMap():
			entries, ok := val.(map[string]any)
			if !ok {
				return p, expected("a mapping", val), true
			}
			for _, mk := range sortedKeys(entries) {
				ep := objects.Child(p, mk)
				if msg := badMapKey(fd.MapKey(), mk); msg != "" {
					return ep, msg, true
				}
				vd := fd.MapValue()
				if vd.Message() != nil && !wellKnown(vd.Message()) {
					if ct := messageType(vd.Message()); ct != nil && entries[mk] != nil {
						if r, msg, ok := walkProto(ct, entries[mk], ep); ok {
							return r, msg, true
						}
						continue
					}
				}
				if r, msg, ok := tryProto(mt, vd, map[string]any{k: map[string]any{mk: entries[mk]}}, entries[mk], ep); ok {
					return r, msg, true
				}
			}
		case fd.IsList():
			list, ok := val.([]any)
			if !ok {
				return p, expected("a list", val), true
			}
			for i, e := range list {
				ep := objects.Index(p, i)
				if fd.Message() != nil && !wellKnown(fd.Message()) {
					if ct := messageType(fd.Message()); ct != nil {
						if e == nil {
							continue // jsonpb reads null as an empty message
						}
						if r, msg, ok := walkProto(ct, e, ep); ok {
							return r, msg, true
						}
						continue
					}
				}
				if r, msg, ok := tryProto(mt, fd, map[string]any{k: []any{e}}, e, ep); ok {
					return r, msg, true
				}
			}
		case fd.Message() != nil && !wellKnown(fd.Message()):
			if ct := messageType(fd.Message()); ct != nil {
				if r, msg, ok := walkProto(ct, val, p); ok {
					return r, msg, true
				}
				continue
			}
			if r, msg, ok := try(val, p); ok {
				return r, msg, true
			}
		default:
			if r, msg, ok := try(val, p); ok {
				return r, msg, true
			}
		}
	}
	return "", "", false
}

// tryProto decodes the one-field object obj into a new message of type mt;
// v is the leaf value and fd its field, for the message.
func tryProto(mt protoreflect.MessageType, fd protoreflect.FieldDescriptor, obj map[string]any, v any, path string) (string, string, bool) {
	u, ok := mt.New().Interface().(json.Unmarshaler)
	if !ok {
		return "", "", false
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return path, err.Error(), true
	}
	if err := u.UnmarshalJSON(data); err != nil {
		return path, leafMessage(protoWant(fd), v, err, true), true
	}
	return "", "", false
}

func badMapKey(kd protoreflect.FieldDescriptor, k string) string {
	var err error
	switch kd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		_, err = strconv.ParseInt(k, 10, 32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		_, err = strconv.ParseInt(k, 10, 64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		_, err = strconv.ParseUint(k, 10, 32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		_, err = strconv.ParseUint(k, 10, 64)
	case protoreflect.BoolKind:
		_, err = strconv.ParseBool(k)
	default:
		return ""
	}
	if err != nil {
		if kd.Kind() == protoreflect.BoolKind {
			return fmt.Sprintf("key %q must be true or false", k)
		}
		return fmt.Sprintf("key %q must be a number (%s)", k, kd.Kind())
	}
	return ""
}

func protoWant(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return "a string"
	case protoreflect.BoolKind:
		return "true or false"
	case protoreflect.EnumKind:
		return "one of " + enumNames(fd.Enum())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "an integer"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "a non-negative integer"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "a number"
	case protoreflect.MessageKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Duration":
			return `a duration such as "5s" or "1m30s"`
		case "google.protobuf.BoolValue":
			return "true or false"
		case "google.protobuf.StringValue":
			return "a string"
		case "google.protobuf.Int32Value", "google.protobuf.Int64Value":
			return "an integer"
		case "google.protobuf.UInt32Value", "google.protobuf.UInt64Value":
			return "a non-negative integer"
		case "google.protobuf.DoubleValue", "google.protobuf.FloatValue":
			return "a number"
		}
	}
	return ""
}

func enumNames(ed protoreflect.EnumDescriptor) string {
	vals := ed.Values()
	names := make([]string, 0, vals.Len())
	for i := 0; i < vals.Len(); i++ {
		names = append(names, string(vals.Get(i).Name()))
	}
	return strings.Join(names, ", ")
}

// leafMessage says what is wrong with the leaf value v, which should be want.
// jsonpb (proto) reads numbers from strings too; encoding/json does not.
func leafMessage(want string, v any, err error, proto bool) string {
	if s, ok := v.(string); ok && strings.HasPrefix(want, "one of ") {
		return fmt.Sprintf("unknown value %q (want %s)", s, want)
	}
	if want != "" && !jsonKindFits(want, v, proto) {
		return expected(want, v)
	}
	return cleanError(err)
}

// jsonKindFits reports whether v has the JSON kind that want describes (a
// number for "an integer"): if not, the kind is what is wrong.
func jsonKindFits(want string, v any, proto bool) bool {
	switch v.(type) {
	case string:
		return want == "a string" || strings.HasPrefix(want, "a duration") || proto && (strings.Contains(want, "integer") || want == "a number")
	case bool:
		return want == "true or false"
	case int64, uint64, float64, json.Number:
		return strings.Contains(want, "integer") || want == "a number"
	}
	return false
}

// expected says what a value should have been and what it is.
func expected(want string, v any) string {
	msg := "expected " + want + ", got " + describe(v)
	if _, ok := v.(bool); ok && want == "a string" {
		msg += " (YAML reads plain y, yes, on, n, no and off as booleans: quote the value)"
	}
	return msg
}

func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		if utf8.RuneCountInString(t) > 60 {
			n := 0
			for i := range t {
				if n == 57 {
					t = t[:i] + "..."
					break
				}
				n++
			}
		}
		return "the string " + strconv.Quote(t)
	case bool:
		return strconv.FormatBool(t)
	case int64, uint64, float64, json.Number:
		return fmt.Sprintf("the number %v", t)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// cleanError shortens a decoder's message: no "json: " prefix, no Go type names.
func cleanError(err error) string {
	msg := strings.ReplaceAll(err.Error(), `\"`, `"`)
	msg = strings.TrimPrefix(msg, "json: ")
	if i := strings.Index(msg, "cannot unmarshal "); i >= 0 {
		// "cannot unmarshal number 1e+10 into Go struct field X.spec.replicas of type int32"
		rest := msg[i+len("cannot unmarshal "):]
		if what, typ, ok := strings.Cut(rest, " into Go "); ok {
			if j := strings.LastIndex(typ, " of type "); j >= 0 {
				return what + " does not fit in " + typ[j+len(" of type "):]
			}
			if j := strings.LastIndex(typ, "value of type "); j >= 0 {
				return what + " does not fit in " + typ[j+len("value of type "):]
			}
		}
	}
	return msg
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// unknownProtoFields lists the fields of an Istio object's spec that its
// schema does not have. jsonpb, as Istio configures it, ignores them silently;
// the API server prunes them and kubectl warns ("unknown field"), so a
// misspelt field (portLevelMTLS) is worth a warning.
func unknownProtoFields(typed any, m map[string]any) []string {
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
	var out []string
	walkUnknown(pm.ProtoReflect().Descriptor(), m["spec"], "spec", &out)
	return out
}

func walkUnknown(md protoreflect.MessageDescriptor, v any, path string, out *[]string) {
	obj, ok := v.(map[string]any)
	if !ok || wellKnown(md) {
		return
	}
	for _, k := range sortedKeys(obj) {
		p := objects.Child(path, k)
		fd := protoField(md, k)
		if fd == nil {
			if !strings.HasPrefix(k, "[") {
				*out = append(*out, p)
			}
			continue
		}
		switch {
		case fd.IsMap():
			if vd := fd.MapValue(); vd.Message() != nil {
				if entries, ok := obj[k].(map[string]any); ok {
					for _, mk := range sortedKeys(entries) {
						walkUnknown(vd.Message(), entries[mk], objects.Child(p, mk), out)
					}
				}
			}
		case fd.IsList():
			if fd.Message() != nil {
				if list, ok := obj[k].([]any); ok {
					for i, e := range list {
						walkUnknown(fd.Message(), e, objects.Index(p, i), out)
					}
				}
			}
		case fd.Message() != nil:
			walkUnknown(fd.Message(), obj[k], p, out)
		}
	}
}
