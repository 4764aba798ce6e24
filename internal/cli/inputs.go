package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/meshdoctor/meshdoctor/internal/kube"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// input is what the manifests gave.
type input struct {
	res *load.Result
	idx *mesh.Index
}

// loadInput reads -f and -k, and with --kube the live cluster first. Errors in
// single documents are printed to stderr as file:line: message and make the
// command exit 2 at the end; the rest is still analyzed.
func (a *app) loadInput() (*input, error) {
	if !a.g.kube && len(a.g.files) == 0 && len(a.g.kustomizations) == 0 {
		return nil, usageErr("no input: give manifests with -f PATH (file, directory or -), -k DIR (kustomization) or --kube (the live cluster)")
	}
	if !a.g.kube && a.g.requestTimeout != 0 {
		return nil, usageErr("--request-timeout needs --kube")
	}
	if a.g.requestTimeout < 0 {
		return nil, usageErr("--request-timeout must not be negative")
	}
	res := &load.Result{}
	if len(a.g.files) > 0 || len(a.g.kustomizations) > 0 {
		res = load.Load(load.Options{Files: a.g.files, Kustomizations: a.g.kustomizations, Stdin: a.stdin})
	}
	a.reportLoad(res)
	opts := mesh.Options{DefaultNamespace: a.g.namespace}
	if a.g.kube {
		live, err := a.loadCluster()
		if err != nil {
			return nil, err
		}
		res.Objects = layer(live.Objects, res.Objects, a.g.namespace)
		opts.Unread = map[string]string{}
		for _, u := range live.Unread {
			fmt.Fprintf(a.stderr, "warning: %s: %s not read: %s; results that depend on them assume there are none\n", kube.Source, u.Kind, u.Reason)
			opts.Unread[u.Kind] = u.Reason
		}
	}
	idx := mesh.Build(res.Objects, opts)
	return &input{res: res, idx: idx}, nil
}

// reportLoad prints a load's errors (file:line: message; the command then
// exits 2 at the end, the rest still analyzed) and warnings to stderr.
func (a *app) reportLoad(res *load.Result) {
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
}

// loadCluster reads the live cluster (--kube). Without -n, or with -A, every
// namespace is read; with -n NS, NS and Istio's root namespace (mesh-wide
// policy, the ingress gateway, the mesh config).
func (a *app) loadCluster() (*kube.Result, error) {
	var nss []string
	if a.g.namespace != "" && !a.g.allNamespaces {
		nss = []string{a.g.namespace, kube.MeshConfigNamespace}
	}
	live, err := kube.Load(a.ctx, kube.Options{
		Kubeconfig: a.g.kubeconfig, Context: a.g.kubeContext,
		Namespaces: nss, Timeout: a.g.requestTimeout,
	})
	if err != nil {
		return nil, usageErr("--kube: %v", err)
	}
	return live, nil
}

// layer puts file objects on top of cluster objects, as istioctl analyze does
// with --use-kube and files: a file object replaces the cluster object of the
// same kind, namespace and name; other file objects are added. A file object
// without a namespace is in defNS (else "default"), where kubectl apply would
// put it. The result is in load order: cluster objects, then file objects.
func layer(cluster, files []*objects.Object, defNS string) []*objects.Object {
	if defNS == "" {
		defNS = mesh.DefaultNamespace
	}
	key := func(o *objects.Object) objects.Key {
		k := o.Key()
		if k.Namespace == "" && o.Kind != "Namespace" {
			k.Namespace = defNS
		}
		return k
	}
	replaced := map[objects.Key]bool{}
	for _, o := range files {
		replaced[key(o)] = true
	}
	out := make([]*objects.Object, 0, len(cluster)+len(files))
	for _, o := range cluster {
		if !replaced[key(o)] {
			out = append(out, o)
		}
	}
	out = append(out, files...)
	for i, o := range out {
		o.Seq = i
	}
	return out
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
