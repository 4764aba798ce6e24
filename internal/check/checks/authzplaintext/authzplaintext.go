// Package authzplaintext finds AuthorizationPolicy rules on peer identity
// (principals, namespaces) that apply to ports where mTLS is not guaranteed.
package authzplaintext

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// Check is MD0401.
var Check = &check.Check{
	Code: "MD0401", Name: "authz-identity-without-mtls", Severity: check.Warning,
	Doc: check.Doc{
		Title: "AuthorizationPolicy identity rule on a port that accepts plaintext",
		What: "An ALLOW or DENY AuthorizationPolicy matches on principals or namespaces (or their not- forms) for a workload " +
			"port whose effective PeerAuthentication mode is PERMISSIVE or DISABLE.",
		Why: "Principals and namespaces come from the peer's mTLS certificate: \"This field requires mTLS enabled\" " +
			"(istio/api security/v1beta1/authorization_policy.proto Source.principals, Source.namespaces). A plaintext " +
			"request has no identity: an ALLOW rule never matches it (the caller gets 403), and a DENY rule never matches it " +
			"either, so a plaintext caller gets past the DENY. Only STRICT guarantees every request has an identity " +
			"(https://istio.io/latest/docs/ops/best-practices/security/).",
		Example: "kind: AuthorizationPolicy\nspec:\n  action: ALLOW\n  rules:\n  - from: [{source: {principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account]}}]\n# the namespace is PERMISSIVE",
		Fix: "Make the port STRICT (a PeerAuthentication for the workload), or match on something plaintext requests carry " +
			"(ipBlocks, paths) if plaintext callers are expected.",
	},
	Run: run,
}

// identityFields lists the fields of a rule's sources that need mTLS, as
// field paths relative to the policy.
func identityFields(pol *mesh.AuthorizationPolicy) []string {
	var out []string
	for i, r := range pol.Spec.GetRules() {
		for j, f := range r.GetFrom() {
			s := f.GetSource()
			base := objects.Path("spec", "rules", i, "from", j, "source")
			for name, vals := range map[string][]string{"principals": s.GetPrincipals(), "notPrincipals": s.GetNotPrincipals(), "namespaces": s.GetNamespaces(), "notNamespaces": s.GetNotNamespaces()} {
				if len(vals) > 0 {
					out = append(out, base+"."+name)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func run(p *check.Pass) {
	e := p.Engine
	type hit struct {
		pol    *mesh.AuthorizationPolicy
		action string
		field  string
		ports  []string
		refs   []objects.Ref
		open   []openPort
	}
	hits := map[*mesh.AuthorizationPolicy]*hit{}
	fieldsOf := map[*mesh.AuthorizationPolicy][]string{} // a namespace's policies apply to each of its workloads
	var order []*mesh.AuthorizationPolicy
	for _, w := range p.X.Workloads {
		if e.Sidecar(w).Kind != resolve.ProxySidecar {
			continue
		}
		pols, _ := e.AuthorizationPolicies(w)
		var ports []int32
		portsKnown := false
		for _, sp := range pols {
			if !sp.Enforced || (sp.Action != resolve.AuthzAllow && sp.Action != resolve.AuthzDeny) {
				continue
			}
			fields, ok := fieldsOf[sp.Policy]
			if !ok {
				fields = identityFields(sp.Policy)
				fieldsOf[sp.Policy] = fields
			}
			if len(fields) == 0 {
				continue
			}
			if !portsKnown {
				ports, portsKnown = targetPorts(p, w), true
			}
			for _, port := range ports {
				if !e.InboundCapture(w, port).Captured {
					continue // no inbound listener there: no policy applies at all
				}
				d := e.ServerMTLS(w, port)
				if d.Mode == resolve.ModeStrict || d.Mode == "" {
					continue
				}
				h := hits[sp.Policy]
				if h == nil {
					h = &hit{pol: sp.Policy, action: sp.Action, field: fields[0]}
					hits[sp.Policy] = h
					order = append(order, sp.Policy)
				}
				h.ports = append(h.ports, fmt.Sprintf("%s:%d (%s)", w.Key(), port, d.Mode))
				h.open = append(h.open, openPort{w, port})
				if len(d.By) > 0 {
					h.refs = append(h.refs, d.By[0])
				}
			}
		}
	}
	for _, pol := range order {
		h := hits[pol]
		sort.Strings(h.ports)
		list := strings.Join(h.ports[:min(4, len(h.ports))], ", ")
		if len(h.ports) > 4 {
			list += fmt.Sprintf(" and %d more", len(h.ports)-4)
		}
		effect := "plaintext requests have no peer identity, so this ALLOW rule never matches them and plaintext callers are denied (403)"
		if h.action == resolve.AuthzDeny {
			effect = "plaintext requests have no peer identity, so this DENY rule never matches them and plaintext callers get through"
		}
		f := &check.Finding{Object: pol.Obj.Ref(h.field),
			Message: fmt.Sprintf("%s AuthorizationPolicy %s/%s matches on peer identity, but mTLS is not required on %s: %s", h.action, pol.Namespace, pol.Name, list, effect)}
		f.Relate(h.refs...)
		if p.Fixes() {
			f.ProposeFunc(func() []check.Candidate {
				if c, ok := requireMTLS(p, pol, h.open); ok {
					return []check.Candidate{c}
				}
				return nil
			})
		}
		p.Report(*f)
	}
}

// targetPorts returns the pod ports of w that its Services send to
// (resolve.EndpointPort), asked only for workloads with identity rules.
func targetPorts(p *check.Pass, w *mesh.Workload) []int32 {
	var out []int32
	for _, svc := range p.X.ServicesOf(w) {
		for i := range svc.Ports {
			if tp, ok := p.Engine.EndpointPort(svc, &svc.Ports[i], w); ok && !containsPort(out, tp) {
				out = append(out, tp)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func containsPort(ps []int32, p int32) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}
