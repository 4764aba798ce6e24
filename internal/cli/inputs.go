package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// input is what the manifests gave.
type input struct {
	res *load.Result
	idx *mesh.Index
}

// loadInput reads -f and -k. Errors in single documents are printed to stderr as
// file:line: message and make the command exit 2 at the end; the rest is still
// analyzed.
func (a *app) loadInput() (*input, error) {
	if a.g.kube {
		return nil, usageErr("the live cluster mode (--kube) is not available yet; give manifests with -f PATH or -k DIR")
	}
	if len(a.g.files) == 0 && len(a.g.kustomizations) == 0 {
		return nil, usageErr("no input: give manifests with -f PATH (file, directory or -) or -k DIR (kustomization)")
	}
	res := load.Load(load.Options{Files: a.g.files, Kustomizations: a.g.kustomizations, Stdin: a.stdin})
	for _, e := range res.Errors {
		fmt.Fprintln(a.stderr, e.Error())
	}
	// Warnings (unknown fields, a kustomization file met in a -f walk) do not
	// change the exit status, but a typo such as portLevelMTLS must not be silent.
	for _, w := range res.Warnings {
		fmt.Fprintln(a.stderr, "warning: "+w.Error())
	}
	if len(res.Errors) > 0 {
		a.inputBroken()
	}
	idx := mesh.Build(res.Objects, mesh.Options{DefaultNamespace: a.g.namespace})
	return &input{res: res, idx: idx}, nil
}

// inputBroken makes the command exit 2 at the end, whatever else it finds.
func (a *app) inputBroken() { a.code = ExitBadInput }

// setCode raises the exit status, never lowering a 2 set by broken input.
func (a *app) setCode(c int) {
	if a.code == ExitBadInput {
		return
	}
	if c > a.code {
		a.code = c
	}
}

// writeData renders v as JSON or YAML.
func writeData(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("unknown data format %q", format)
}

// inNamespace says whether ns is shown under -n/-A. Without either, every
// namespace is shown: a folder of manifests has no "current namespace".
func (a *app) inNamespace(ns string) bool {
	if a.g.allNamespaces || a.g.namespace == "" {
		return true
	}
	return ns == a.g.namespace
}

// refText renders a reference as "Kind ns/name file:line (field)".
func refText(r objects.Ref) string {
	s := r.String()
	if r.Field != "" {
		s += " (" + r.Field + ")"
	}
	return s
}
