// Package duplicateobject finds objects defined more than once in the input.
package duplicateobject

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// Check is MD0901.
var Check = &check.Check{
	Code: "MD0901", Name: "duplicate-object", Severity: check.Warning,
	Doc: check.Doc{
		Title: "Object defined more than once",
		What:  "Two or more documents of the input have the same kind, namespace and name.",
		Why: "A cluster holds one object per kind, namespace and name: applied in turn, the last document replaces the others " +
			"(kubectl apply), so what runs depends on the order of the files. meshdoctor analyzes every document it read, as " +
			"if both existed, which is not what a cluster would do either.",
		Example: "# destination-rules.yaml\nkind: DestinationRule\nmetadata: {name: prod-default-mtls}   # ISTIO_MUTUAL\n---\n# proposal.yaml\nkind: DestinationRule\nmetadata: {name: prod-default-mtls}   # DISABLE: replaces the first when applied",
		Fix:     "Keep one definition: edit the existing object, or give the new one another name if both are meant to exist.",
	},
	Run: run,
}

func run(p *check.Pass) {
	// Most objects are defined once: a list only for the keys seen twice.
	first := make(map[objects.Key]*objects.Object, len(p.X.Objects))
	by := map[objects.Key][]*objects.Object{}
	var dups []objects.Key
	for _, o := range p.X.Objects {
		k := o.Key()
		f, seen := first[k]
		if !seen {
			first[k] = o
			continue
		}
		if by[k] == nil {
			by[k] = []*objects.Object{f}
			dups = append(dups, k)
		}
		by[k] = append(by[k], o)
	}
	// Sort only the keys defined twice or more (a few, where every object
	// is a key): Key.String allocates.
	sort.Slice(dups, func(i, j int) bool { return dups[i].String() < dups[j].String() })
	for _, k := range dups {
		os := by[k]
		var at []string
		for _, o := range os {
			at = append(at, o.Pos.String())
		}
		for _, o := range os[1:] {
			f := &check.Finding{Object: o.Ref("metadata.name"),
				Message: fmt.Sprintf("%s is defined %d times (%s): a cluster keeps only the one applied last, but meshdoctor analyzes them all", k, len(os), strings.Join(at, ", "))}
			f.Relate(os[0].Ref("metadata.name"))
			p.Report(*f)
		}
	}
}
