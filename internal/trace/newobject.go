package trace

import "github.com/meshdoctor/meshdoctor/internal/objects"

// NewObject wraps a typed object that a fix adds (a Change with New set and
// Old nil). It has no source position: it does not exist yet, and PatchYAML
// renders it whole.
func NewObject(apiVersion, kind, ns, name string, typed any) *objects.Object {
	return newObject(apiVersion, kind, ns, name, typed)
}
