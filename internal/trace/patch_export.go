package trace

// PatchYAML renders a change as YAML an operator can apply (see patchYAML): a
// whole object for an addition, a strategic merge or JSON merge patch for a
// modification. Package check uses it for the fixes of its findings.
func PatchYAML(c Change) (string, error) { return patchYAML(c) }
