package resolve

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	security "istio.io/api/security/v1beta1"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// PeerAuthentication modes (pilot/pkg/model/authentication.go MutualTLSMode).
const (
	ModeStrict     = "STRICT"
	ModePermissive = "PERMISSIVE"
	ModeDisable    = "DISABLE"
)

// MTLSDecision is an effective PeerAuthentication mode.
type MTLSDecision struct {
	// Mode is STRICT, PERMISSIVE or DISABLE; "" when no mode applies (a gateway's
	// listeners) or none is known (NamespaceMTLS without any namespace or mesh
	// policy: Istio's MTLSUnknown).
	Mode string `json:"mode"`
	Decision
}

// paIndex is the PeerAuthentications by namespace, as
// pilot/pkg/model/authentication.go addPeerAuthentication indexes them.
type paIndex struct {
	root   string
	byNS   map[string]*paNS
	meshPA *mesh.PeerAuthentication // the oldest selector-less policy of the root namespace
}

type paNS struct {
	// wide is the oldest namespace-wide (selector nil or empty matchLabels)
	// policy; later ones are dropped by addPeerAuthentication.
	wide        *mesh.PeerAuthentication
	ignoredWide []*mesh.PeerAuthentication
	// selectors are the policies with a non-empty selector, in creation order.
	selectors []*mesh.PeerAuthentication
}

// paComposed is the result of ComposePeerAuthentication for one workload.
type paComposed struct {
	meshPA, nsPA, wlPA *mesh.PeerAuthentication
	// mode and the policy (and scope) that set it; modeFrom nil means Istio's
	// default PERMISSIVE.
	mode      string
	modeFrom  *mesh.PeerAuthentication
	modeScope string
	// inherit says which levels left the mode unset.
	inherit []string
	// overridden are the parent policies whose mode a lower level replaced.
	overridden []*mesh.PeerAuthentication
	notes      []string
	noteRefs   []objects.Ref
	assume     []string
}

func (e *Engine) paIdx() *paIndex {
	if e.sec.pa != nil {
		return e.sec.pa
	}
	idx := &paIndex{root: e.X.Mesh.RootNamespace, byNS: map[string]*paNS{}}
	// e.X.PeerAuthentications is in Istio's creation order (sortConfigByCreationTime).
	for _, pa := range e.X.PeerAuthentications {
		if pa.Spec == nil {
			continue
		}
		n := idx.byNS[pa.Namespace]
		if n == nil {
			n = &paNS{}
			idx.byNS[pa.Namespace] = n
		}
		if paIsWide(pa) {
			// addPeerAuthentication: only the oldest mesh/namespace-level policy per
			// namespace is kept ("Namespace/mesh-level PeerAuthentication is already
			// defined ... Ignore").
			if n.wide == nil {
				n.wide = pa
			} else {
				n.ignoredWide = append(n.ignoredWide, pa)
			}
			continue
		}
		n.selectors = append(n.selectors, pa)
	}
	if n := idx.byNS[idx.root]; n != nil {
		idx.meshPA = n.wide
	}
	e.sec.pa = idx
	return idx
}

// paIsWide reports a mesh- or namespace-level policy: no selector or empty
// matchLabels (authentication.go addPeerAuthentication, policy_applier.go
// ComposePeerAuthentication).
func paIsWide(pa *mesh.PeerAuthentication) bool {
	return pa.Spec.Selector == nil || len(pa.Spec.Selector.MatchLabels) == 0
}

// paMode returns the mode a MutualTLS block sets, "" for nil or UNSET
// (policy_applier.go isMtlsModeUnset).
func paMode(m *security.PeerAuthentication_MutualTLS) string {
	if m == nil || m.Mode == security.PeerAuthentication_MutualTLS_UNSET {
		return ""
	}
	return m.Mode.String()
}

func paName(pa *mesh.PeerAuthentication) string { return pa.Namespace + "/" + pa.Name }

// secOlder explains why a comes before b in Istio's creation order
// (pilot/pkg/model/config.go configCompareByCreationTime), and returns the
// assumption to state when the name decided.
func secOlder(kind string, a, b *objects.Object) (why, assumption string) {
	if !a.Created.Equal(b.Created) {
		return fmt.Sprintf("%s/%s is older (created %s)", a.Namespace, a.Name, a.Created.UTC().Format("2006-01-02T15:04:05Z")), ""
	}
	cause := "neither has a creationTimestamp"
	if !a.Created.IsZero() {
		cause = "both have the same creationTimestamp"
	}
	why = fmt.Sprintf("%s/%s comes first (by name: %s)", a.Namespace, a.Name, cause)
	assumption = fmt.Sprintf("%s %s/%s is taken as older than %s/%s: %s, so Istio orders them by name; the real creation order decides in a cluster", kind, a.Namespace, a.Name, b.Namespace, b.Name, cause)
	return why, assumption
}

// paCompose implements ComposePeerAuthentication
// (pilot/pkg/security/authn/policy_applier.go) over the candidates that
// getConfigsForWorkload (pilot/pkg/model/authentication.go) gives a sidecar:
// policies of the workload's namespace and of the root namespace whose
// selector is a subset of the pod labels.
func (e *Engine) paCompose(w *mesh.Workload) *paComposed {
	if c, ok := e.sec.paComp[w]; ok {
		return c
	}
	idx := e.paIdx()
	c := &paComposed{mode: ModePermissive}
	root := idx.root
	rootNS := idx.byNS[root]
	wlNS := idx.byNS[w.Namespace]

	ignoredWide := func(n *paNS, scope string) {
		if n == nil {
			return
		}
		for _, pa := range n.ignoredWide {
			why, as := secOlder("PeerAuthentication", n.wide.Obj, pa.Obj)
			c.notes = append(c.notes, fmt.Sprintf("a second %s PeerAuthentication %s is ignored: %s", scope, paName(pa), why))
			c.noteRefs = append(c.noteRefs, pa.Obj.Ref(""))
			if as != "" {
				c.assume = append(c.assume, as)
			}
		}
	}

	// Mesh level: selector-less in the root namespace, the oldest only.
	c.meshPA = idx.meshPA
	ignoredWide(rootNS, "mesh-wide")
	if w.Namespace != root {
		if wlNS != nil {
			// Namespace level: selector-less in the workload's namespace, the oldest only.
			c.nsPA = wlNS.wide
			ignoredWide(wlNS, "namespace-wide")
			// Workload level: selector policies of the workload's namespace; when
			// several match, the oldest wins and the others are ignored (not merged).
			for _, pa := range wlNS.selectors {
				if !mesh.SubsetOf(pa.Spec.Selector.MatchLabels, w.Labels) {
					continue
				}
				if c.wlPA == nil {
					c.wlPA = pa
					continue
				}
				why, as := secOlder("PeerAuthentication", c.wlPA.Obj, pa.Obj)
				c.notes = append(c.notes, fmt.Sprintf("PeerAuthentication %s also selects these pods but is ignored: %s, and selector policies are not merged", paName(pa), why))
				c.noteRefs = append(c.noteRefs, pa.Obj.Ref("spec.selector"))
				if as != "" {
					c.assume = append(c.assume, as)
				}
			}
		}
	}
	// Selector policies in the root namespace are candidates but ComposePeerAuthentication
	// ignores them ("Workload-level configs should not be in root namespace").
	if rootNS != nil {
		for _, pa := range rootNS.selectors {
			if mesh.SubsetOf(pa.Spec.Selector.MatchLabels, w.Labels) {
				c.notes = append(c.notes, fmt.Sprintf("PeerAuthentication %s selects these pods but is ignored: a policy with a selector in the root namespace %s never applies to sidecars", paName(pa), root))
				c.noteRefs = append(c.noteRefs, pa.Obj.Ref("spec.selector"))
				c.assume = append(c.assume, e.secRootAssumption()...)
			}
		}
	}

	// Inheritance mesh → namespace → workload; UNSET keeps the parent's mode.
	level := func(pa *mesh.PeerAuthentication, scope string) {
		if pa == nil {
			return
		}
		m := paMode(pa.Spec.Mtls)
		if m == "" {
			c.inherit = append(c.inherit, fmt.Sprintf("the %s PeerAuthentication %s leaves mtls unset, so it inherits", scope, paName(pa)))
			return
		}
		if c.modeFrom != nil {
			c.overridden = append(c.overridden, c.modeFrom)
		}
		c.mode, c.modeFrom, c.modeScope = m, pa, scope
	}
	level(c.meshPA, "mesh-wide")
	level(c.nsPA, "namespace-wide")
	level(c.wlPA, "workload")
	if c.meshPA != nil {
		c.assume = append(c.assume, e.secRootAssumption()...)
	}

	if e.sec.paComp == nil {
		e.sec.paComp = map[*mesh.Workload]*paComposed{}
	}
	e.sec.paComp[w] = c
	return c
}

// secRootAssumption is the index's sentence for the root namespace, if it was assumed.
func (e *Engine) secRootAssumption() []string {
	if s, ok := e.X.Assumption(mesh.AssumeRootNamespace); ok {
		return []string{s}
	}
	return nil
}

// ServerMTLS returns the effective PeerAuthentication mode of a workload's
// sidecar on a container (target) port: ComposePeerAuthentication
// (pilot/pkg/security/authn/policy_applier.go) and GetMutualTLSModeForPort,
// with portLevelMtls keyed by the workload port (listener_inbound.go
// ForPort(cc.port.TargetPort); the API doc: "the port of the workload, not the
// port of the Kubernetes service"). Gateways get Mode "": PeerAuthentication
// does not apply to gateway listeners (ISTIO-SEMANTICS.md §4).
func (e *Engine) ServerMTLS(w *mesh.Workload, port int32) MTLSDecision {
	if w == nil {
		return MTLSDecision{Decision: Decision{Reason: "no workload"}}
	}
	key := secPortKey{w, port}
	if c, ok := e.sec.mtls[key]; ok {
		d := *c
		d.Decision = secClip(d.Decision)
		return d
	}
	d := e.serverMTLS(w, port)
	d.By = secDedup(d.By)
	// Live mode: PeerAuthentications the user may not list are unknown
	// (gateways do not read them).
	if e.Sidecar(w).Kind != ProxyGateway {
		d.AssumeKey(e.X, mesh.AssumeUnread("PeerAuthentication"))
	}
	if e.sec.mtls == nil {
		e.sec.mtls = map[secPortKey]*MTLSDecision{}
	}
	c := d
	e.sec.mtls[key] = &c
	d.Decision = secClip(d.Decision)
	return d
}

func (e *Engine) serverMTLS(w *mesh.Workload, port int32) MTLSDecision {
	sc := e.Sidecar(w)
	if sc.Kind == ProxyGateway {
		// ConfigGeneratorImpl.BuildListeners builds gateway listeners for Router
		// proxies; only sidecar inbound listeners call authnBuilder.ForPort.
		d := MTLSDecision{Decision: Decision{
			Reason: fmt.Sprintf("%s is a gateway: PeerAuthentication does not apply to gateway listeners; the tls settings of the Gateway servers decide what it accepts", w.Key()),
			By:     append([]objects.Ref(nil), sc.By...),
		}}
		for _, a := range sc.Assumptions {
			d.Assume(a)
		}
		return d
	}
	c := e.paCompose(w)
	var d MTLSDecision
	var reason string
	modeRef := func() (objects.Ref, bool) {
		if c.modeFrom == nil {
			return objects.Ref{}, false
		}
		return c.modeFrom.Obj.Ref("spec.mtls.mode"), true
	}
	modeText := func() string {
		if c.modeFrom == nil {
			return "no PeerAuthentication sets a mode, so Istio's default PERMISSIVE applies"
		}
		return fmt.Sprintf("spec.mtls.mode of the %s PeerAuthentication %s", c.modeScope, paName(c.modeFrom))
	}

	portDone := false
	if c.wlPA != nil && c.wlPA.Spec.PortLevelMtls != nil {
		p := uint32(port)
		if pm, ok := c.wlPA.Spec.PortLevelMtls[p]; ok {
			portDone = true
			path := objects.Path("spec", "portLevelMtls", strconv.Itoa(int(p)), "mode")
			if m := paMode(pm); m != "" {
				d.Mode = m
				reason = fmt.Sprintf("%s on port %d of %s: portLevelMtls of the workload PeerAuthentication %s", m, port, w.Key(), paName(c.wlPA))
				d.By = append(d.By, c.wlPA.Obj.Ref(path))
				if c.mode != m {
					reason += fmt.Sprintf(" (overriding %s from %s)", c.mode, modeText())
					if r, ok := modeRef(); ok {
						d.By = append(d.By, r)
					}
				}
			} else {
				// policy_applier.go: a port entry that is UNSET inherits the
				// workload's effective mode.
				d.Mode = c.mode
				reason = fmt.Sprintf("%s on port %d of %s: portLevelMtls of %s leaves the port unset, so it inherits the workload mode: %s", c.mode, port, w.Key(), paName(c.wlPA), modeText())
				d.By = append(d.By, c.wlPA.Obj.Ref(path))
				if r, ok := modeRef(); ok {
					d.By = append(d.By, r)
				}
			}
		}
	}
	if !portDone {
		d.Mode = c.mode
		reason = c.mode + " on port " + itoa(port) + " of " + w.Key() + ": " + modeText()
		if r, ok := modeRef(); ok {
			d.By = append(d.By, r)
		}
		if c.wlPA != nil && len(c.wlPA.Spec.PortLevelMtls) > 0 {
			reason += fmt.Sprintf("; portLevelMtls of %s lists port %s, not %d (its keys are container ports, not Service ports)", paName(c.wlPA), paPortList(c.wlPA), port)
			d.By = append(d.By, c.wlPA.Obj.Ref("spec.portLevelMtls"))
		}
	}
	var extra []string
	if len(c.inherit) > 0 {
		extra = append(extra, c.inherit...)
	}
	for _, pa := range c.overridden {
		if pm := paMode(pa.Spec.Mtls); pm != "" {
			extra = append(extra, fmt.Sprintf("it overrides %s of %s", pm, paName(pa)))
			d.By = append(d.By, pa.Obj.Ref("spec.mtls.mode"))
		}
	}
	// A portLevelMtls on a namespace- or mesh-wide policy never applies (it is
	// only read from the workload policy; ValidatePeerAuthentication rejects it:
	// "mesh/namespace peer authentication cannot have port level mTLS").
	for _, pa := range []*mesh.PeerAuthentication{c.meshPA, c.nsPA} {
		if pa == nil {
			continue
		}
		if _, ok := pa.Spec.PortLevelMtls[uint32(port)]; ok {
			extra = append(extra, fmt.Sprintf("the portLevelMtls of %s is ignored: port-level mTLS needs a selector (Istio's validation rejects it)", paName(pa)))
			d.By = append(d.By, pa.Obj.Ref(objects.Path("spec", "portLevelMtls", strconv.Itoa(int(port)))))
		}
	}
	extra = append(extra, c.notes...)
	d.By = append(d.By, c.noteRefs...)
	if len(extra) > 0 {
		reason += "; " + strings.Join(extra, "; ")
	}
	switch {
	case sc.Ambient:
		reason += "; the workload is in ambient mode, where ztunnel applies PeerAuthentication (DISABLE is not supported)"
		d.Assume(secAmbientAssumption)
	case !sc.HasProxy:
		reason += "; the workload has no sidecar, so nothing enforces this mode"
	}
	d.Reason = reason
	for _, a := range c.assume {
		d.Assume(a)
	}
	return d
}

func paPortList(pa *mesh.PeerAuthentication) string {
	var ports []int
	for p := range pa.Spec.PortLevelMtls {
		ports = append(ports, int(p))
	}
	sort.Ints(ports)
	var s []string
	for _, p := range ports {
		s = append(s, strconv.Itoa(p))
	}
	return strings.Join(s, ", ")
}

// NamespaceMTLS returns the namespace-level mode of a namespace, else the
// mesh-level mode, else "" (unknown): GetNamespaceMutualTLSMode
// (pilot/pkg/model/authentication.go). A namespace policy that leaves mtls
// unset inherits the mesh mode, or PERMISSIVE without a mesh policy; a mesh
// policy that leaves it unset is PERMISSIVE (addPeerAuthentication). Workload
// and port-level policies play no part. Client-side auto mTLS reads it for
// the service's namespace (BestEffortInferServiceMTLSMode).
func (e *Engine) NamespaceMTLS(ns string) MTLSDecision {
	if d, ok := e.sec.nsMTLS[ns]; ok {
		d.Decision = secClip(d.Decision)
		return d
	}
	d := e.namespaceMTLS(ns)
	d.AssumeKey(e.X, mesh.AssumeUnread("PeerAuthentication"))
	if e.sec.nsMTLS == nil {
		e.sec.nsMTLS = map[string]MTLSDecision{}
	}
	e.sec.nsMTLS[ns] = d
	d.Decision = secClip(d.Decision)
	return d
}

func (e *Engine) namespaceMTLS(ns string) MTLSDecision {
	idx := e.paIdx()
	var d MTLSDecision
	global, globalRef, globalText := "", objects.Ref{}, ""
	if m := idx.meshPA; m != nil {
		global = paMode(m.Spec.Mtls)
		globalRef = m.Obj.Ref("spec.mtls.mode")
		if global == "" {
			global = ModePermissive
			globalText = fmt.Sprintf("the mesh-wide PeerAuthentication %s leaves mtls unset, which is PERMISSIVE at mesh level", paName(m))
		} else {
			globalText = fmt.Sprintf("spec.mtls.mode of the mesh-wide PeerAuthentication %s", paName(m))
		}
		for _, a := range e.secRootAssumption() {
			d.Assume(a)
		}
	}
	if n := idx.byNS[ns]; n != nil && n.wide != nil && ns != idx.root {
		pa := n.wide
		d.By = append(d.By, pa.Obj.Ref("spec.mtls.mode"))
		if m := paMode(pa.Spec.Mtls); m != "" {
			d.Mode = m
			d.Reason = fmt.Sprintf("namespace %s is %s: spec.mtls.mode of the namespace-wide PeerAuthentication %s", ns, m, paName(pa))
		} else if global != "" {
			d.Mode = global
			d.Reason = fmt.Sprintf("namespace %s is %s: the namespace-wide PeerAuthentication %s leaves mtls unset and inherits the mesh mode (%s)", ns, global, paName(pa), globalText)
			d.By = append(d.By, globalRef)
		} else {
			d.Mode = ModePermissive
			d.Reason = fmt.Sprintf("namespace %s is PERMISSIVE: the namespace-wide PeerAuthentication %s leaves mtls unset and there is no mesh-wide policy", ns, paName(pa))
		}
		for _, other := range n.ignoredWide {
			why, as := secOlder("PeerAuthentication", pa.Obj, other.Obj)
			d.Reason += fmt.Sprintf("; a second namespace-wide PeerAuthentication %s is ignored: %s", paName(other), why)
			d.By = append(d.By, other.Obj.Ref(""))
			if as != "" {
				d.Assume(as)
			}
		}
		return d
	}
	if global != "" {
		d.Mode = global
		d.Reason = fmt.Sprintf("namespace %s has no namespace-wide PeerAuthentication; the mesh level applies: %s", ns, globalText)
		d.By = append(d.By, globalRef)
		return d
	}
	d.Reason = fmt.Sprintf("no namespace-wide PeerAuthentication in %s and no mesh-wide one in %s: the namespace mode is unknown", ns, idx.root)
	for _, a := range e.secRootAssumption() {
		d.Assume(a)
	}
	return d
}
