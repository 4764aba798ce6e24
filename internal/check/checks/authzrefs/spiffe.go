package authzrefs

import (
	"fmt"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// spiffeScheme is pkg/spiffe URIPrefix, which Istio prepends to principals.
const spiffeScheme = "spiffe://"

func runSpiffePrefix(p *check.Pass) {
	values := identityValues(p)
	for n, pol := range p.X.AuthorizationPolicies {
		for _, v := range values[n] {
			if v.kind != idPrincipal || len(v.value) < len(spiffeScheme) || !strings.EqualFold(v.value[:len(spiffeScheme)], spiffeScheme) {
				continue
			}
			action := pol.Spec.GetAction().String()
			bare := v.value[len(spiffeScheme):]
			f := p.Reportf(pol.Obj, v.path(),
				"%s %q of %s AuthorizationPolicy %s/%s starts with spiffe://, which Istio prepends itself: it is compared with %q, which no peer certificate carries, so %s",
				v.field, v.value, action, pol.Namespace, pol.Name, spiffeScheme+v.value, effect(action, v.not))
			ch, err := trace.Edit(pol.Obj, v.path(), func(any) (any, bool) { return bare, false })
			if err != nil {
				continue
			}
			f.Propose(check.Candidate{
				Summary: fmt.Sprintf("write the %s without the spiffe:// scheme: %q", v.field, bare),
				Changes: []trace.Change{ch},
			})
		}
	}
}
