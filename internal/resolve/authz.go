package resolve

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	security "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// AuthzRequest is what the server-side proxy knows about a request when it
// evaluates AuthorizationPolicies.
type AuthzRequest struct {
	// Principal is the peer's mTLS identity, "<trust domain>/ns/<ns>/sa/<sa>";
	// empty when the request arrived in plaintext.
	Principal string
	// Namespace is the source namespace; only known from mTLS. Namespace
	// conditions are matched on Principal, as Envoy does (generator.go
	// srcNamespaceGenerator), so this field is informational.
	Namespace string
	// SourceIP is the peer IP, if known.
	SourceIP string
	// Port is the destination (target) port.
	Port int32
	// Host, Method, Path and Headers are the HTTP request's (ignored on TCP).
	Host, Method, Path string
	Headers            map[string]string
	// HTTP is false on TCP ports, where HTTP-only fields cannot be evaluated.
	HTTP bool
	// AnyRequest asks about any request on the port rather than one: the
	// host, method, path and header conditions are unknown, so an ALLOW rule
	// that depends only on them is assumed to match (some request is allowed)
	// and such a DENY rule is assumed not to (some request gets through). The
	// path checks of package paths ask this way, since a caller's requests
	// are not in the manifests.
	AnyRequest bool
}

// Authorization actions in an AuthzDecision.
const (
	AuthzCustom = "CUSTOM"
	AuthzDeny   = "DENY"
	AuthzAllow  = "ALLOW"
)

// AuthzDecision is the verdict of the AuthorizationPolicies of one workload on
// one request.
type AuthzDecision struct {
	Allowed bool `json:"allowed"`
	// Action is the action that decided: CUSTOM, DENY, ALLOW, or "" when no
	// policy decided (allowed by default).
	Action string `json:"action,omitempty"`
	// Policy and Rule are the deciding policy and rule index (-1 when no single
	// rule decided, e.g. no ALLOW rule matched).
	Policy *mesh.AuthorizationPolicy `json:"-"`
	Rule   int                       `json:"rule"`
	Decision
}

// azTri is a three-valued truth: a condition meshdoctor cannot evaluate from
// the manifests is unknown.
type azTri int8

const (
	azNo azTri = iota
	azYes
	azUnknown
)

func azAnd(a, b azTri) azTri {
	if a == azNo || b == azNo {
		return azNo
	}
	if a == azUnknown || b == azUnknown {
		return azUnknown
	}
	return azYes
}

func azOr(a, b azTri) azTri {
	if a == azYes || b == azYes {
		return azYes
	}
	if a == azUnknown || b == azUnknown {
		return azUnknown
	}
	return azNo
}

func azNot(a azTri) azTri {
	switch a {
	case azYes:
		return azNo
	case azNo:
		return azYes
	}
	return azUnknown
}

func azBool(b bool) azTri {
	if b {
		return azYes
	}
	return azNo
}

// azPolicyApplies is model/policyattachment.go ShouldAttachPolicy for the
// policies of the root namespace and the workload's namespace
// (authorization.go ListAuthorizationPolicies): for sidecars and classic
// gateways, a policy with targetRef/targetRefs is ignored, otherwise it
// applies when it has no selector or its matchLabels are a subset of the pod
// labels. For a Kubernetes Gateway API gateway pod (label
// gateway.networking.k8s.io/gateway-name), a targetRef to that Gateway in the
// pod's namespace applies, and selector policies too
// (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY defaults to true).
func azPolicyApplies(p *mesh.AuthorizationPolicy, w *mesh.Workload) (bool, string) {
	refs := p.Spec.GetTargetRefs()
	if len(refs) == 0 && p.Spec.GetTargetRef() != nil {
		refs = append(refs, p.Spec.GetTargetRef())
	}
	gwName, isGatewayAPI := w.Labels["gateway.networking.k8s.io/gateway-name"]
	selected := p.Spec.GetSelector() == nil || mesh.SubsetOf(p.Spec.GetSelector().GetMatchLabels(), w.Labels)
	if !isGatewayAPI {
		if len(refs) > 0 {
			return false, fmt.Sprintf("AuthorizationPolicy %s/%s uses targetRef, which Istio ignores for sidecars and classic gateways", p.Namespace, p.Name)
		}
		return selected, ""
	}
	if len(refs) == 0 {
		return selected, ""
	}
	for _, r := range refs {
		if p.Namespace != w.Namespace || (r.GetNamespace() != "" && r.GetNamespace() != w.Namespace) {
			continue
		}
		if r.GetKind() == "Gateway" && (r.GetGroup() == "gateway.networking.k8s.io" || r.GetGroup() == "") && r.GetName() == gwName {
			return true, ""
		}
	}
	return false, ""
}

// azDryRun reads the istio.io/dry-run annotation (builder.go isDryRun): a
// dry-run policy only feeds shadow rules and never decides.
func azDryRun(p *mesh.AuthorizationPolicy) bool {
	if p.Obj == nil {
		return false
	}
	t, ok := p.Obj.Typed.(*securityv1.AuthorizationPolicy)
	if !ok {
		return false
	}
	v, ok := t.Annotations["istio.io/dry-run"]
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// azSet is the AuthorizationPolicies that apply to one workload, by action.
type azSet struct {
	custom, deny, allow []*mesh.AuthorizationPolicy
	notes               []string
	// none is the reason of the allowed decision when no policy applies,
	// made once per workload (most workloads of a mesh have none).
	none string
}

// azPolicies lists the policies that apply to w (cached per workload): those
// of the root namespace and of w's namespace that ShouldAttachPolicy accepts,
// in creation order; dry-run ALLOW/DENY policies are left out.
func (e *Engine) azPolicies(w *mesh.Workload) *azSet {
	if e.rt.azSets == nil {
		e.rt.azSets = map[*mesh.Workload]*azSet{}
	}
	if s, ok := e.rt.azSets[w]; ok {
		return s
	}
	s := &azSet{}
	root := e.X.Mesh.RootNamespace
	nss := []string{root}
	if w.Namespace != root {
		nss = append(nss, w.Namespace)
	}
	for _, ns := range nss {
		for _, p := range e.policiesIn(ns) {
			ok, why := azPolicyApplies(p, w)
			if why != "" {
				s.notes = append(s.notes, why)
			}
			if !ok {
				continue
			}
			if p.Spec.GetAction() == security.AuthorizationPolicy_CUSTOM {
				// Dry-run CUSTOM policies still trigger ext_authz
				// (builder.go buildHTTP, comment on providerShadowRules).
				s.custom = append(s.custom, p)
				continue
			}
			if azDryRun(p) {
				s.notes = append(s.notes, fmt.Sprintf("AuthorizationPolicy %s/%s is dry-run (istio.io/dry-run annotation): it is only logged, never enforced", p.Namespace, p.Name))
				continue
			}
			switch p.Spec.GetAction() {
			case security.AuthorizationPolicy_DENY:
				s.deny = append(s.deny, p)
			case security.AuthorizationPolicy_ALLOW:
				s.allow = append(s.allow, p)
			}
		}
	}
	e.rt.azSets[w] = s
	return s
}

// Authorize evaluates the AuthorizationPolicies that apply to server on req,
// in Istio's order (authorization_policy.proto header; builder.go build):
// CUSTOM (ext_authz), then DENY, then ALLOW; with no enforced ALLOW policy the
// request is allowed, with ALLOW policies it must match one of their rules.
// AUDIT policies never decide.
func (e *Engine) Authorize(server *mesh.Workload, req AuthzRequest) AuthzDecision {
	d := AuthzDecision{Rule: -1}
	set := e.azPolicies(server)
	for _, n := range set.notes {
		d.Assume(n)
	}
	custom, deny, allow := set.custom, set.deny, set.allow
	// Live mode: AuthorizationPolicies the user may not list are unknown.
	d.AssumeKey(e.X, mesh.AssumeUnread("AuthorizationPolicy"))
	if server.Implicit {
		d.AssumeKey(e.X, mesh.AssumeIngressGateway)
	}
	if len(custom)+len(deny)+len(allow) > 0 {
		d.AssumeKey(e.X, mesh.AssumeRootNamespace)
	}
	ev := &azEval{e: e, req: req}
	kind := "HTTP"
	if !req.HTTP {
		kind = "TCP"
	}

	// CUSTOM: a matching rule sends the request to the ext_authz provider.
	providers := map[string]bool{}
	for _, p := range custom {
		providers[p.Spec.GetProvider().GetName()] = true
	}
	for _, p := range custom {
		for i, r := range e.azCompiled(p) {
			res := ev.rule(p, r, i, security.AuthorizationPolicy_CUSTOM)
			for _, a := range res.notes {
				d.Assume(a)
			}
			if res.res == azNo {
				continue
			}
			ref := p.Obj.Ref(objects.Index("spec.rules", i))
			if len(providers) > 1 {
				// builder.go buildHTTP/buildTCP: several providers without
				// PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS become deny rules.
				d.Allowed, d.Action, d.Policy, d.Rule = false, AuthzCustom, p, i
				d.By = append([]objects.Ref{ref}, d.By...)
				d.Assume("PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS is off (Istio's default)")
				d.Reason = fmt.Sprintf("%d CUSTOM providers apply to %s; without PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS Istio turns their rules into deny rules, and rule %d of %s/%s matches", len(providers), server.Key(), i, p.Namespace, p.Name)
				return d
			}
			d.By = append(d.By, ref)
			d.Assume(fmt.Sprintf("CUSTOM AuthorizationPolicy %s/%s rule %d sends the request to the ext_authz provider %q, whose answer is not in the manifests: meshdoctor assumes it allows (the provider must also be declared in meshConfig.extensionProviders, otherwise Istio denies)", p.Namespace, p.Name, i, p.Spec.GetProvider().GetName()))
			break
		}
	}

	// DENY: any matching rule denies.
	for _, p := range deny {
		rules := e.azCompiled(p)
		for i, r := range rules {
			res := ev.rule(p, r, i, security.AuthorizationPolicy_DENY)
			for _, a := range res.notes {
				d.Assume(a)
			}
			switch res.res {
			case azYes:
				d.Allowed, d.Action, d.Policy, d.Rule = false, AuthzDeny, p, i
				d.By = append([]objects.Ref{r.ref}, d.By...)
				d.Reason = ev.matchReason(&rules[i], p, i, "DENY", kind, "denied")
				return d
			case azUnknown:
				d.Assume(fmt.Sprintf("DENY AuthorizationPolicy %s/%s rule %d depends on %s, which meshdoctor cannot evaluate: assumed not to match", p.Namespace, p.Name, i, strings.Join(res.unknown, ", ")))
			}
		}
	}

	// ALLOW.
	if len(allow) == 0 {
		d.Allowed = true
		switch {
		case len(deny) > 0:
			d.Reason = fmt.Sprintf("no DENY rule matches and no ALLOW policy applies to %s: allowed", server.Key())
		case len(custom) > 0:
			d.Reason = fmt.Sprintf("only CUSTOM policies apply to %s and no DENY or ALLOW policy: allowed unless the ext_authz provider denies", server.Key())
		default:
			if set.none == "" {
				set.none = fmt.Sprintf("no AuthorizationPolicy applies to %s: allowed", server.Key())
			}
			d.Reason = set.none
		}
		return d
	}
	// Why each rule did not match is said only when none does.
	type miss struct {
		p   *mesh.AuthorizationPolicy
		i   int // -1: the policy has no rules
		res azRuleResult
	}
	var misses []miss
	for _, p := range allow {
		rules := e.azCompiled(p)
		if len(rules) == 0 {
			// builder.go: an ALLOW policy without rules gets
			// rbacPolicyMatchNever: it allows nothing.
			misses = append(misses, miss{p: p, i: -1})
			continue
		}
		for i, r := range rules {
			res := ev.rule(p, r, i, security.AuthorizationPolicy_ALLOW)
			for _, a := range res.notes {
				d.Assume(a)
			}
			switch res.res {
			case azYes, azUnknown:
				d.Allowed, d.Action, d.Policy, d.Rule = true, AuthzAllow, p, i
				d.By = append([]objects.Ref{r.ref}, d.By...)
				d.Reason = ev.matchReason(&rules[i], p, i, "ALLOW", kind, "allowed")
				if res.res == azUnknown {
					d.Assume(fmt.Sprintf("ALLOW AuthorizationPolicy %s/%s rule %d depends on %s, which meshdoctor cannot evaluate: assumed to match", p.Namespace, p.Name, i, strings.Join(res.unknown, ", ")))
				}
				return d
			}
			misses = append(misses, miss{p: p, i: i, res: res})
		}
	}
	whys := make([]string, 0, len(misses))
	refs := make([]objects.Ref, 0, len(misses))
	for _, m := range misses {
		switch {
		case m.i < 0:
			whys = append(whys, fmt.Sprintf("%s/%s has no rules (allow-nothing)", m.p.Namespace, m.p.Name))
			refs = append(refs, m.p.Obj.Ref("spec"))
		default:
			whys = append(whys, fmt.Sprintf("%s/%s rule %d: %s", m.p.Namespace, m.p.Name, m.i, ev.why(&m.res)))
			if m.res.noPath != "" {
				refs = append(refs, m.p.Obj.Ref(m.res.noPath))
			} else {
				refs = append(refs, e.azCompiled(m.p)[m.i].ref)
			}
		}
	}
	d.Allowed, d.Action, d.Policy, d.Rule = false, AuthzAllow, allow[0], -1
	d.By = append(refs, d.By...)
	d.Reason = fmt.Sprintf("ALLOW policies apply to %s but none of their rules matches the %s request, so it is denied: %s", server.Key(), kind, strings.Join(whys, "; "))
	return d
}

// azEval evaluates compiled rules against one request.
type azEval struct {
	e   *Engine
	req AuthzRequest
}

// azRuleResult is the outcome of one rule.
type azRuleResult struct {
	res azTri
	no  string // why not, unless fail says it (see azEval.why)
	// fail is the first condition that failed; the sentence is made only
	// when a denial needs it (most rules that do not match a request are
	// followed by one that does).
	fail    *azCond
	noPath  string   // field path of the first failing condition
	unknown []string // conditions that could not be evaluated
	notes   []string // assumptions (dropped TCP conditions, skipped rules)
}

// azKind says what a condition compares.
type azKind int8

const (
	azKPrincipal azKind = iota
	azKNamespace
	azKServiceAccount
	azKTrustDomain
	azKSourceIP
	azKRemoteIP
	azKNoJWT
	azKHost
	azKPort
	azKMethod
	azKPath
	azKHeader
	azKUnknown
)

// azCond is one field of a rule: values are OR'ed, notValues must all miss.
// It does not depend on the request, so rules are compiled once per policy.
type azCond struct {
	name      string
	path      string
	values    []string
	notValues []string
	httpOnly  bool
	invalid   string // the field makes the rule invalid (Istio skips the rule)
	kind      azKind
	arg       string // header name; the policy's namespace for serviceAccounts
}

// azRule is a compiled rule.
type azRule struct {
	isNil bool
	froms [][]azCond
	tos   [][]azCond
	whens []azCond
	all   []*azCond
	// ref is the rule (spec.rules[i]); matched memoizes the reason of a
	// match of an ALLOW or DENY rule, for a TCP [0] and an HTTP [1] request.
	ref     objects.Ref
	matched [2]string
}

// azCompiled compiles the rules of a policy (cached per policy), following
// model/model.go New: from sources, to operations, when conditions.
func (e *Engine) azCompiled(p *mesh.AuthorizationPolicy) []azRule {
	if e.rt.azRules == nil {
		e.rt.azRules = map[*mesh.AuthorizationPolicy][]azRule{}
	}
	if rs, ok := e.rt.azRules[p]; ok {
		return rs
	}
	rs := make([]azRule, 0, len(p.Spec.GetRules()))
	for i, r := range p.Spec.GetRules() {
		rpath := objects.Index("spec.rules", i)
		ar := azRule{ref: p.Obj.Ref(rpath)}
		if r == nil {
			ar.isNil = true
			rs = append(rs, ar)
			continue
		}
		for j, f := range r.GetFrom() {
			ar.froms = append(ar.froms, azSourceConds(p, f.GetSource(), objects.Index(rpath+".from", j)+".source"))
		}
		for j, t := range r.GetTo() {
			ar.tos = append(ar.tos, azOperationConds(t.GetOperation(), objects.Index(rpath+".to", j)+".operation"))
		}
		for j, w := range r.GetWhen() {
			ar.whens = append(ar.whens, azWhenCond(p, w, objects.Index(rpath+".when", j)))
		}
		for k := range ar.whens {
			ar.all = append(ar.all, &ar.whens[k])
		}
		for _, f := range ar.froms {
			for k := range f {
				ar.all = append(ar.all, &f[k])
			}
		}
		for _, t := range ar.tos {
			for k := range t {
				ar.all = append(ar.all, &t[k])
			}
		}
		rs = append(rs, ar)
	}
	e.rt.azRules[p] = rs
	return rs
}

func (ev *azEval) eval(c *azCond) azTri {
	if ev.req.AnyRequest {
		switch c.kind {
		case azKHost, azKMethod, azKPath, azKHeader:
			// The request is "any request on this port": a condition on
			// what an HTTP request carries may or may not hold.
			return azUnknown
		}
	}
	res := azYes
	if len(c.values) > 0 {
		any := azNo
		for _, v := range c.values {
			any = azOr(any, ev.match(c, v))
		}
		res = any
	}
	if len(c.notValues) > 0 {
		any := azNo
		for _, v := range c.notValues {
			any = azOr(any, ev.match(c, v))
		}
		res = azAnd(res, azNot(any))
	}
	return res
}

func (ev *azEval) match(c *azCond, v string) azTri {
	switch c.kind {
	case azKPrincipal:
		return ev.matchPrincipal(v)
	case azKNamespace:
		return ev.matchNamespace(v)
	case azKServiceAccount:
		return ev.matchServiceAccount(c.arg, v)
	case azKTrustDomain:
		return ev.matchTrustDomain(v)
	case azKSourceIP:
		return ev.matchSourceIP(v)
	case azKNoJWT:
		// meshdoctor's requests carry no JWT, so request principals,
		// audiences, presenters and claims never match (notValues then do).
		return azNo
	case azKHost:
		return azBool(azHeaderMatch(v, ev.req.Host, ev.req.Host != "", true))
	case azKPort:
		return azBool(v == strconv.Itoa(int(ev.req.Port)))
	case azKMethod:
		return azBool(azHeaderMatch(v, ev.method(), true, false))
	case azKPath:
		return ev.matchPath(v)
	case azKHeader:
		hv, ok := ev.header(c.arg)
		return azBool(azHeaderMatch(v, hv, ok, false))
	}
	return azUnknown
}

// subject says what a condition was compared with, for messages.
func (ev *azEval) subject(c *azCond) string {
	switch c.kind {
	case azKPrincipal, azKNamespace, azKServiceAccount, azKTrustDomain:
		if ev.req.Principal == "" {
			return "the request is plaintext, so it has no peer identity (these fields need mTLS)"
		}
		return fmt.Sprintf("the peer identity is %q", ev.req.Principal)
	case azKSourceIP:
		if ev.req.SourceIP == "" {
			return "the source IP is not known"
		}
		return fmt.Sprintf("the source IP is %s", ev.req.SourceIP)
	case azKRemoteIP:
		return "the original client IP (X-Forwarded-For or PROXY protocol) is not known"
	case azKNoJWT:
		return "the request carries no JWT"
	case azKHost:
		return fmt.Sprintf("the host is %q", ev.req.Host)
	case azKPort:
		return fmt.Sprintf("the destination port is %d", ev.req.Port)
	case azKMethod:
		return fmt.Sprintf("the method is %s", ev.method())
	case azKPath:
		return fmt.Sprintf("the path is %q", ev.req.Path)
	case azKHeader:
		if v, ok := ev.header(c.arg); ok {
			return fmt.Sprintf("header %s is %q", c.arg, v)
		}
		return fmt.Sprintf("the request has no header %s", c.arg)
	}
	return "its value is not known from the manifests"
}

func (c *azCond) describe() string {
	var parts []string
	if len(c.values) > 0 {
		parts = append(parts, fmt.Sprintf("%s %q", c.name, c.values))
	}
	if len(c.notValues) > 0 {
		parts = append(parts, fmt.Sprintf("not %s %q", c.name, c.notValues))
	}
	return strings.Join(parts, " and ")
}

// matchReason says that rule i of p matches the request: the same sentence
// for every request of its kind, made once per rule and kind.
func (ev *azEval) matchReason(r *azRule, p *mesh.AuthorizationPolicy, i int, action, kind, effect string) string {
	k := 0
	if ev.req.HTTP {
		k = 1
	}
	if r.matched[k] == "" {
		r.matched[k] = fmt.Sprintf("%s AuthorizationPolicy %s/%s rule %d matches the %s request%s: %s", action, p.Namespace, p.Name, i, kind, ev.describeMatch(*r), effect)
	}
	return r.matched[k]
}

// describeMatch names the fields of a matching rule, for the reason.
func (ev *azEval) describeMatch(r azRule) string {
	if len(r.froms) == 0 && len(r.tos) == 0 && len(r.whens) == 0 {
		return " (an empty rule matches every request)"
	}
	var parts []string
	seen := map[string]bool{}
	for _, c := range r.all {
		if (ev.req.HTTP || !c.httpOnly) && !seen[c.name] {
			seen[c.name] = true
			parts = append(parts, c.name)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (on " + strings.Join(parts, ", ") + ")"
}

// rule evaluates rule i of policy p (model/model.go New and Generate): a rule
// matches when one of its sources, one of its operations and all its
// conditions match; an empty from/to matches anything. On a TCP port an
// HTTP-only field makes an ALLOW rule be skipped and is dropped from a DENY,
// AUDIT or CUSTOM rule (model.go rule.checkError).
func (ev *azEval) rule(p *mesh.AuthorizationPolicy, r azRule, i int, action security.AuthorizationPolicy_Action) azRuleResult {
	var out azRuleResult
	if r.isNil {
		out.res = azNo
		out.no = "nil rule (skipped by Istio)"
		return out
	}
	forTCP := !ev.req.HTTP
	allow := action == security.AuthorizationPolicy_ALLOW
	for _, c := range r.all {
		if c.invalid != "" {
			out.res = azNo
			out.no = fmt.Sprintf("%s: %s, so Istio skips the rule", c.path, c.invalid)
			out.noPath = c.path
			out.notes = append(out.notes, fmt.Sprintf("AuthorizationPolicy %s/%s %s: %s; Istio skips the rule", p.Namespace, p.Name, c.path, c.invalid))
			return out
		}
	}
	if forTCP {
		for _, c := range r.all {
			if !c.httpOnly {
				continue
			}
			if allow {
				out.res = azNo
				out.no = fmt.Sprintf("%s is HTTP-only and the port is TCP, so Istio drops this ALLOW rule", c.path)
				out.noPath = c.path
				out.notes = append(out.notes, fmt.Sprintf("ALLOW AuthorizationPolicy %s/%s rule %d uses the HTTP-only field %s on a TCP port: Istio ignores the whole rule (less is allowed)", p.Namespace, p.Name, i, c.path))
				return out
			}
			out.notes = append(out.notes, fmt.Sprintf("%s AuthorizationPolicy %s/%s rule %d uses the HTTP-only field %s on a TCP port: Istio drops that condition, widening the rule", action, p.Namespace, p.Name, i, c.path))
		}
	}
	evalAll := func(cs []azCond) (azTri, *azCond) {
		res := azYes
		var fail *azCond
		for k := range cs {
			c := &cs[k]
			if forTCP && c.httpOnly {
				continue // dropped (DENY/AUDIT/CUSTOM)
			}
			v := ev.eval(c)
			if v == azUnknown {
				out.unknown = append(out.unknown, c.path)
			}
			if v == azNo && fail == nil {
				fail = c
			}
			res = azAnd(res, v)
		}
		return res, fail
	}
	group := func(list [][]azCond) (azTri, *azCond) {
		if len(list) == 0 {
			return azYes, nil
		}
		res := azNo
		var firstFail *azCond
		for _, cs := range list {
			v, fail := evalAll(cs)
			res = azOr(res, v)
			if v == azYes {
				return azYes, nil
			}
			if fail != nil && firstFail == nil {
				firstFail = fail
			}
		}
		return res, firstFail
	}
	fromRes, fromFail := group(r.froms)
	toRes, toFail := group(r.tos)
	whenRes, whenFail := evalAll(r.whens)
	out.res = azAnd(azAnd(fromRes, toRes), whenRes)
	var fail *azCond
	switch {
	case fromRes == azNo:
		fail = fromFail
	case toRes == azNo:
		fail = toFail
	case whenRes == azNo:
		fail = whenFail
	}
	if fail != nil {
		out.fail = fail
		out.noPath = fail.path
	} else if out.res == azNo {
		out.no = "no source or operation matches"
	}
	return out
}

// why says why a rule did not match the request.
func (ev *azEval) why(res *azRuleResult) string {
	if res.fail != nil {
		return fmt.Sprintf("%s requires %s but %s", res.fail.path, res.fail.describe(), ev.subject(res.fail))
	}
	return res.no
}

// azSourceConds lists the conditions of a rule's source.
func azSourceConds(p *mesh.AuthorizationPolicy, s *security.Source, path string) []azCond {
	if s == nil {
		return nil
	}
	var out []azCond
	add := func(c azCond) {
		if len(c.values) > 0 || len(c.notValues) > 0 {
			out = append(out, c)
		}
	}
	add(azCond{name: "principals", path: path + ".principals", values: s.GetPrincipals(), notValues: s.GetNotPrincipals(), kind: azKPrincipal})
	add(azCond{name: "namespaces", path: path + ".namespaces", values: s.GetNamespaces(), notValues: s.GetNotNamespaces(), kind: azKNamespace})
	add(azCond{name: "serviceAccounts", path: path + ".serviceAccounts", values: s.GetServiceAccounts(), notValues: s.GetNotServiceAccounts(), kind: azKServiceAccount, arg: p.Namespace})
	add(azCond{name: "trustDomains", path: path + ".trustDomains", values: s.GetTrustDomains(), notValues: s.GetNotTrustDomains(), kind: azKTrustDomain})
	add(azCond{name: "ipBlocks", path: path + ".ipBlocks", values: s.GetIpBlocks(), notValues: s.GetNotIpBlocks(), kind: azKSourceIP})
	add(azCond{name: "remoteIpBlocks", path: path + ".remoteIpBlocks", values: s.GetRemoteIpBlocks(), notValues: s.GetNotRemoteIpBlocks(), kind: azKRemoteIP})
	add(azCond{name: "requestPrincipals", path: path + ".requestPrincipals", values: s.GetRequestPrincipals(), notValues: s.GetNotRequestPrincipals(), httpOnly: true, kind: azKNoJWT})
	return out
}

// azOperationConds lists the conditions of a rule's operation.
func azOperationConds(o *security.Operation, path string) []azCond {
	if o == nil {
		return nil
	}
	var out []azCond
	add := func(c azCond) {
		if len(c.values) > 0 || len(c.notValues) > 0 {
			out = append(out, c)
		}
	}
	add(azCond{name: "hosts", path: path + ".hosts", values: o.GetHosts(), notValues: o.GetNotHosts(), httpOnly: true, kind: azKHost})
	pc := azCond{name: "ports", path: path + ".ports", values: o.GetPorts(), notValues: o.GetNotPorts(), kind: azKPort}
	for _, v := range append(append([]string{}, o.GetPorts()...), o.GetNotPorts()...) {
		if n, err := strconv.ParseUint(v, 10, 32); err != nil || n > 65535 {
			pc.invalid = fmt.Sprintf("%q is not a port", v)
		}
	}
	add(pc)
	add(azCond{name: "methods", path: path + ".methods", values: o.GetMethods(), notValues: o.GetNotMethods(), httpOnly: true, kind: azKMethod})
	add(azCond{name: "paths", path: path + ".paths", values: o.GetPaths(), notValues: o.GetNotPaths(), httpOnly: true, kind: azKPath})
	return out
}

// azWhenCond is one `when` condition, by key (model.go New: the keys Istio
// knows; any other key makes the rule invalid).
func azWhenCond(p *mesh.AuthorizationPolicy, w *security.Condition, path string) azCond {
	k := w.GetKey()
	c := azCond{name: k, path: path, values: w.GetValues(), notValues: w.GetNotValues(), kind: azKUnknown}
	switch {
	case strings.HasPrefix(k, "request.headers["):
		name := strings.TrimSuffix(strings.TrimPrefix(k, "request.headers["), "]")
		if !strings.HasSuffix(k, "]") || name == "" {
			c.invalid = fmt.Sprintf("malformed key %q", k)
		}
		c.httpOnly, c.kind, c.arg = true, azKHeader, name
	case k == "source.ip":
		c.kind = azKSourceIP
	case k == "remote.ip":
		c.kind = azKRemoteIP
	case k == "source.namespace":
		c.kind = azKNamespace
	case k == "source.principal":
		c.kind = azKPrincipal
	case k == "source.serviceAccount":
		c.kind, c.arg = azKServiceAccount, p.Namespace
	case k == "source.trustDomain":
		c.kind = azKTrustDomain
	case k == "request.auth.principal", k == "request.auth.audiences", k == "request.auth.presenter", strings.HasPrefix(k, "request.auth.claims["):
		c.httpOnly, c.kind = true, azKNoJWT
	case k == "destination.port":
		c.kind = azKPort
		for _, v := range append(append([]string{}, c.values...), c.notValues...) {
			if n, err := strconv.ParseUint(v, 10, 32); err != nil || n > 65535 {
				c.invalid = fmt.Sprintf("%q is not a port", v)
			}
		}
	case k == "destination.ip", k == "connection.sni", strings.HasPrefix(k, "experimental.envoy.filters."):
		// evaluated by Envoy on values meshdoctor does not know
	default:
		c.invalid = fmt.Sprintf("unknown attribute %q", k)
	}
	return c
}

func (ev *azEval) method() string {
	if ev.req.Method == "" {
		return "GET"
	}
	return ev.req.Method
}

func (ev *azEval) header(name string) (string, bool) {
	for k, v := range ev.req.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// azStringMatch is Istio's value syntax (security/authz/matcher
// StringMatcherWithPrefix): "*" any non-empty value, "*x" suffix, "x*"
// prefix, else exact.
func azStringMatch(pattern, v string, ignoreCase bool) bool {
	if ignoreCase {
		pattern, v = strings.ToLower(pattern), strings.ToLower(v)
	}
	switch {
	case pattern == "*":
		return v != ""
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(v, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(v, pattern[:len(pattern)-1])
	}
	return v == pattern
}

// azHeaderMatch is matcher.HeaderMatcher: "*" is a presence match.
func azHeaderMatch(pattern, v string, present bool, ignoreCase bool) bool {
	if !present {
		return false
	}
	if pattern == "*" {
		return true
	}
	return azStringMatch(pattern, v, ignoreCase)
}

// migratePrincipal applies the trust-domain rule of
// pilot/pkg/security/trustdomain/bundle.go ReplaceTrustDomainAliases: a
// principal written with trust domain "cluster.local" (or the mesh's) stands
// for the mesh's trust domain.
func (ev *azEval) migratePrincipal(v string) string {
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[0] == "*" {
		return v
	}
	td := ev.e.X.Mesh.TrustDomain
	if parts[0] == "cluster.local" || parts[0] == td {
		parts[0] = td
		return strings.Join(parts, "/")
	}
	return v
}

// matchPrincipal matches the peer's certificate identity (generator.go
// srcPrincipalGenerator: the value prefixed with spiffe://, "*" any
// authenticated peer). A plaintext request has no identity and never matches.
func (ev *azEval) matchPrincipal(v string) azTri {
	if ev.req.Principal == "" {
		return azNo
	}
	full := "spiffe://" + ev.req.Principal
	v = ev.migratePrincipal(v)
	switch {
	case v == "*":
		return azYes
	case strings.HasPrefix(v, "*"):
		return azBool(strings.HasSuffix(full, v[1:]))
	case strings.HasSuffix(v, "*"):
		return azBool(strings.HasPrefix(full, "spiffe://"+v[:len(v)-1]))
	}
	return azBool(full == "spiffe://"+v)
}

func azRegexFull(re, s string) bool {
	r := fullRegexp(re)
	return r != nil && r.MatchString(s)
}

func azGlobRegex(v string) string {
	parts := strings.Split(v, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return strings.Join(parts, ".*")
}

// matchNamespace is generator.go srcNamespaceGenerator: the regex
// ".*/ns/<ns>/.*" on the peer identity.
func (ev *azEval) matchNamespace(v string) azTri {
	if ev.req.Principal == "" {
		return azNo
	}
	if !strings.Contains(v, "*") {
		// ".*/ns/<ns>/.*" matches exactly when "/ns/<ns>/" occurs.
		return azBool(strings.Contains(ev.req.Principal, "/ns/"+v+"/"))
	}
	if pre, ok := strings.CutSuffix(v, "*"); ok && !strings.Contains(pre, "*") {
		// ".*/ns/<pre>.*/.*": some "/ns/<pre>" followed, later, by a "/".
		full := ev.req.Principal
		needle := "/ns/" + pre
		for i := strings.Index(full, needle); i >= 0; {
			if strings.Contains(full[i+len(needle):], "/") {
				return azYes
			}
			j := strings.Index(full[i+1:], needle)
			if j < 0 {
				break
			}
			i += 1 + j
		}
		return azNo
	}
	re, ok := ev.e.rt.nsRegex[v]
	if !ok {
		re = fullRegexp(".*/ns/" + azGlobRegex(v) + "/.*")
		if ev.e.rt.nsRegex == nil {
			ev.e.rt.nsRegex = map[string]*regexp.Regexp{}
		}
		ev.e.rt.nsRegex[v] = re
	}
	return azBool(re != nil && re.MatchString("spiffe://"+ev.req.Principal))
}

// matchServiceAccount is generator.go serviceAccountRegex: "<ns>/<sa>" or
// "<sa>" in the policy's namespace.
func (ev *azEval) matchServiceAccount(policyNS, v string) azTri {
	if ev.req.Principal == "" {
		return azNo
	}
	ns, sa, ok := strings.Cut(v, "/")
	if !ok {
		ns, sa = policyNS, v
	}
	re := fmt.Sprintf("spiffe://.+/ns/%s/(.+/|)sa/%s(/.+)?", regexp.QuoteMeta(ns), regexp.QuoteMeta(sa))
	return azBool(azRegexFull(re, "spiffe://"+ev.req.Principal))
}

// matchTrustDomain is generator.go srcTrustDomainGenerator.
func (ev *azEval) matchTrustDomain(v string) azTri {
	if ev.req.Principal == "" {
		return azNo
	}
	full := "spiffe://" + ev.req.Principal
	switch {
	case v == "*":
		return azYes
	case !strings.Contains(v, "*"):
		return azBool(strings.HasPrefix(full, "spiffe://"+v+"/"))
	}
	pre, post, _ := strings.Cut(v, "*")
	return azBool(azRegexFull("spiffe://"+regexp.QuoteMeta(pre)+"[^/]*"+regexp.QuoteMeta(post)+"/.*", full))
}

// matchSourceIP matches the direct peer IP against an IP or CIDR.
func (ev *azEval) matchSourceIP(v string) azTri {
	if ev.req.SourceIP == "" {
		return azUnknown
	}
	ip := net.ParseIP(ev.req.SourceIP)
	if ip == nil {
		return azUnknown
	}
	if _, n, err := net.ParseCIDR(v); err == nil {
		return azBool(n.Contains(ip))
	}
	if o := net.ParseIP(v); o != nil {
		return azBool(o.Equal(ip))
	}
	return azNo
}

// matchPath is generator.go pathGenerator: a path template ({*}, {**}) or
// Istio's value syntax, on the path without its query string.
func (ev *azEval) matchPath(v string) azTri {
	p := ev.req.Path
	if p == "" {
		p = "/"
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if strings.Contains(v, "{*}") || strings.Contains(v, "{**}") {
		var b strings.Builder
		rest := v
		for rest != "" {
			switch {
			case strings.HasPrefix(rest, "{**}"):
				b.WriteString(".*")
				rest = rest[4:]
			case strings.HasPrefix(rest, "{*}"):
				b.WriteString("[^/]+")
				rest = rest[3:]
			default:
				j := strings.Index(rest, "{")
				if j <= 0 {
					j = len(rest)
					if k := strings.Index(rest[1:], "{"); k >= 0 {
						j = k + 1
					}
				}
				b.WriteString(regexp.QuoteMeta(rest[:j]))
				rest = rest[j:]
			}
		}
		return azBool(azRegexFull(b.String(), p))
	}
	return azBool(azStringMatch(v, p, false))
}
