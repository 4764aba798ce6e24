package resolve

import (
	"fmt"
	"net"
	"sort"
	"strings"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// secDRMergeAssumption states the Istio version whose DestinationRule merge
// meshdoctor follows.
const secDRMergeAssumption = "DestinationRules for one host in one namespace are merged as in Istio 1.24 and later (ENABLE_ENHANCED_DESTINATIONRULE_MERGE=true: rules with different exportTo are kept apart)"

// DRDecision is the DestinationRule a client proxy uses for a host.
type DRDecision struct {
	// Rule is the consolidated rule, nil when no DestinationRule applies.
	Rule *MergedDR `json:"-"`
	Decision
}

// Subset returns the labels of a subset of the rule, and whether the rule
// defines it (an undefined subset has no Envoy cluster: 503 NC).
func (d DRDecision) Subset(name string) (map[string]string, bool) {
	if d.Rule == nil {
		return nil, false
	}
	s, ok := d.Rule.Subset(name)
	if !ok {
		return nil, false
	}
	return s.Labels, true
}

// MergedDR is one consolidated DestinationRule (Istio's ConsolidatedDestRule):
// the DestinationRules of one namespace with the identical resolved host (and
// compatible exportTo and selector) merged by mergeDestinationRule
// (pilot/pkg/model/destination_rule.go). It is shared and must not be
// modified.
type MergedDR struct {
	// Host is the resolved host (ResolveShortnameToFQDN).
	Host      string
	Namespace string
	// Rules are every contributing DestinationRule, in Istio's order (the
	// first is the base).
	Rules []*mesh.DestinationRule
	// ExportTo is the exportTo of the entry, sorted; empty means the mesh default.
	ExportTo []string
	// HasWorkloadSelector marks a rule with a workloadSelector;
	// WorkloadSelector is its matchLabels.
	HasWorkloadSelector bool
	WorkloadSelector    map[string]string
	// TrafficPolicy is the top-level policy: the first contributing rule's
	// that has one (never merged field by field); PolicyFrom is that rule.
	TrafficPolicy *networking.TrafficPolicy
	PolicyFrom    *mesh.DestinationRule
	// Subsets are unioned by name, the first definition winning.
	Subsets []MergedSubset

	exportSet map[string]bool
	notes     []string
	noteRefs  []objects.Ref
	assume    []string
}

// MergedSubset is one subset of a MergedDR.
type MergedSubset struct {
	Name          string
	Labels        map[string]string
	TrafficPolicy *networking.TrafficPolicy
	From          *mesh.DestinationRule
	// Path is the subset's field path in From, e.g. "spec.subsets[1]".
	Path string
}

// DRTLS is the TLS a DestinationRule sets for one (service port, subset).
type DRTLS struct {
	// Settings is nil when the rule sets no TLS there (auto mTLS then decides).
	Settings *networking.ClientTLSSettings
	// From and Path are the rule and the field path of the tls block that
	// decided (or of the port-level entry that cleared it).
	From   *mesh.DestinationRule
	Path   string
	Reason string
}

// Mode returns the TLS mode name ("" when Settings is nil).
func (t DRTLS) Mode() string {
	if t.Settings == nil {
		return ""
	}
	return t.Settings.Mode.String()
}

// Ref returns the reference to the field that decided.
func (t DRTLS) Ref() objects.Ref {
	if t.From == nil {
		return objects.Ref{}
	}
	return t.From.Obj.Ref(t.Path)
}

// Name returns "ns/name" of the base rule, with the others merged into it.
func (m *MergedDR) Name() string {
	var names []string
	for _, r := range m.Rules {
		names = append(names, r.Namespace+"/"+r.Name)
	}
	return strings.Join(names, " + ")
}

// Refs returns a reference to the host field of every contributing rule.
func (m *MergedDR) Refs() []objects.Ref {
	out := make([]objects.Ref, 0, len(m.Rules))
	for _, r := range m.Rules {
		out = append(out, r.Obj.Ref("spec.host"))
	}
	return out
}

// Subset returns the subset with the given name.
func (m *MergedDR) Subset(name string) (*MergedSubset, bool) {
	for i := range m.Subsets {
		if m.Subsets[i].Name == name {
			return &m.Subsets[i], true
		}
	}
	return nil, false
}

// TLS returns the TLS settings of the cluster outbound|port|subset|host, as
// the cluster builder computes them (ISTIO-SEMANTICS.md §2.6):
// util.GetPortLevelTrafficPolicy matches portLevelSettings by the SERVICE port
// and a matching entry replaces the whole top-level policy ("default values
// will be applied to fields omitted in port-level traffic policies"); then
// util.MergeSubsetTrafficPolicy lets the subset's tls (or the subset's own
// matching port-level entry, which replaces wholesale) override
// (model.MergeTrafficPolicy). An unknown subset has no cluster; the main
// cluster's settings are returned.
func (m *MergedDR) TLS(port int32, subset string) DRTLS {
	var out DRTLS
	name := func(dr *mesh.DestinationRule) string { return dr.Namespace + "/" + dr.Name }
	tp := m.TrafficPolicy
	if tp != nil {
		out.From = m.PolicyFrom
		out.Settings = tp.Tls
		out.Path = "spec.trafficPolicy.tls"
		if tp.Tls != nil {
			out.Reason = fmt.Sprintf("spec.trafficPolicy.tls of DestinationRule %s: %s", name(m.PolicyFrom), tp.Tls.Mode)
		} else {
			out.Reason = fmt.Sprintf("DestinationRule %s sets no tls", name(m.PolicyFrom))
		}
		if i, pl := drPortLevel(tp, port); pl != nil {
			out.Settings = pl.Tls
			out.Path = objects.Path("spec", "trafficPolicy", "portLevelSettings", i, "tls")
			if pl.Tls != nil {
				out.Reason = fmt.Sprintf("portLevelSettings for port %d of DestinationRule %s: %s (a port-level entry replaces the whole top-level policy)", port, name(m.PolicyFrom), pl.Tls.Mode)
			} else {
				out.Path = objects.Path("spec", "trafficPolicy", "portLevelSettings", i)
				out.Reason = fmt.Sprintf("portLevelSettings for port %d of DestinationRule %s has no tls and replaces the whole top-level policy, so the rule sets no TLS for this port", port, name(m.PolicyFrom))
			}
		}
	} else {
		out.Reason = fmt.Sprintf("DestinationRule %s sets no trafficPolicy", m.Name())
	}
	if subset == "" {
		return out
	}
	s, ok := m.Subset(subset)
	if !ok {
		out.Reason += fmt.Sprintf("; subset %q is not defined", subset)
		return out
	}
	if s.TrafficPolicy == nil {
		return out
	}
	stls := s.TrafficPolicy.Tls
	spath := objects.Join(s.Path, "trafficPolicy.tls")
	hasPL := false
	i, pl := drPortLevel(s.TrafficPolicy, port)
	if pl != nil {
		hasPL = true
		stls = pl.Tls
		spath = objects.Join(s.Path, objects.Path("trafficPolicy", "portLevelSettings", i, "tls"))
		if pl.Tls == nil {
			spath = objects.Join(s.Path, objects.Path("trafficPolicy", "portLevelSettings", i))
		}
	}
	// MergeSubsetTrafficPolicy: without a destination-level policy the subset's
	// (port-level resolved) policy is taken as is; otherwise its tls overrides
	// when set, or always when it came from a port-level entry.
	if tp == nil || stls != nil || hasPL {
		out.Settings, out.From, out.Path = stls, s.From, spath
		switch {
		case stls != nil && hasPL:
			out.Reason = fmt.Sprintf("subset %q of DestinationRule %s, portLevelSettings for port %d: %s", subset, name(s.From), port, stls.Mode)
		case stls != nil:
			out.Reason = fmt.Sprintf("subset %q of DestinationRule %s overrides: %s", subset, name(s.From), stls.Mode)
		case hasPL:
			out.Reason = fmt.Sprintf("subset %q of DestinationRule %s has portLevelSettings for port %d without tls, which clears the TLS of the rule", subset, name(s.From), port)
		default:
			out.Reason = fmt.Sprintf("neither DestinationRule %s nor its subset %q sets tls", m.Name(), subset)
		}
	}
	return out
}

// endpointTLSMode is the DestinationRule TLS mode the EDS mtlsChecker reads
// (pilot/pkg/xds/endpoints/mtls_checker.go tlsModeForDestinationRule): the
// top-level tls, replaced by a port-level entry only when that entry has tls;
// for a subset, the subset's (same rule), else the rule's; nil for an unknown
// subset. It matters only when the cluster is in auto mTLS.
func (m *MergedDR) endpointTLSMode(port int32, subset string) (*networking.ClientTLSSettings_TLSmode, DRTLS) {
	forPolicy := func(tp *networking.TrafficPolicy, from *mesh.DestinationRule, base string) (*networking.ClientTLSSettings_TLSmode, DRTLS) {
		if tp == nil {
			return nil, DRTLS{}
		}
		var mode *networking.ClientTLSSettings_TLSmode
		var src DRTLS
		if tp.Tls != nil {
			mode = &tp.Tls.Mode
			src = DRTLS{Settings: tp.Tls, From: from, Path: objects.Join(base, "tls")}
		}
		for i, pl := range tp.PortLevelSettings {
			if pl.GetPort().GetNumber() == uint32(port) && pl.Tls != nil {
				mode = &pl.Tls.Mode
				src = DRTLS{Settings: pl.Tls, From: from, Path: objects.Join(base, objects.Path("portLevelSettings", i, "tls"))}
				break
			}
		}
		return mode, src
	}
	if subset == "" {
		return forPolicy(m.TrafficPolicy, m.PolicyFrom, "spec.trafficPolicy")
	}
	s, ok := m.Subset(subset)
	if !ok {
		return nil, DRTLS{}
	}
	if mode, src := forPolicy(s.TrafficPolicy, s.From, objects.Join(s.Path, "trafficPolicy")); mode != nil {
		return mode, src
	}
	return forPolicy(m.TrafficPolicy, m.PolicyFrom, "spec.trafficPolicy")
}

// drPortLevel returns the first portLevelSettings entry for a service port
// (util.GetPortLevelTrafficPolicy) and its index.
func drPortLevel(tp *networking.TrafficPolicy, port int32) (int, *networking.TrafficPolicy_PortTrafficPolicy) {
	for i, pl := range tp.GetPortLevelSettings() {
		if pl.GetPort() != nil && pl.GetPort().GetNumber() == uint32(port) {
			return i, pl
		}
	}
	return 0, nil
}

// drTable is one of Istio's consolidatedDestRules: merged rules by host.
type drTable struct {
	specific map[string][]*MergedDR
	wildcard map[string][]*MergedDR
	// wildKeys are the wildcard hosts, most specific first (host.MoreSpecific).
	wildKeys []string
}

func newDRTable() *drTable {
	return &drTable{specific: map[string][]*MergedDR{}, wildcard: map[string][]*MergedDR{}}
}

// drIndex is PushContext.destinationRuleIndex (push_context.go
// setDestinationRules).
type drIndex struct {
	root      string
	nsLocal   map[string]*drTable
	exported  map[string]*drTable
	rootLocal *drTable
	// selectors are the workloadSelector rules by namespace: the labels they
	// read decide a client's class.
	selectors map[string][]*mesh.DestinationRule
	// seNS maps a ServiceEntry host to the namespace of its first ServiceEntry.
	seNS map[string]string
}

// drResolveHost is ResolveShortnameToFQDN (pilot/pkg/model/config.go): "*" and
// IP addresses stay; a host without a dot becomes host.<rule namespace>.svc.<domain>;
// any host with a dot is taken as is (so "reviews.default" is not expanded).
func drResolveHost(h, ns string) string {
	if h == "*" || net.ParseIP(h) != nil || strings.Contains(h, ".") {
		return h
	}
	return mesh.FQDN(h, ns, mesh.DefaultDomain)
}

func (e *Engine) drIndex() *drIndex {
	if e.sec.drIdx != nil {
		return e.sec.drIdx
	}
	idx := &drIndex{
		root:      e.X.Mesh.RootNamespace,
		nsLocal:   map[string]*drTable{},
		exported:  map[string]*drTable{},
		rootLocal: newDRTable(),
		selectors: map[string][]*mesh.DestinationRule{},
		seNS:      map[string]string{},
	}
	// Only "." and "*" of meshConfig.defaultDestinationRuleExportTo are honoured
	// ("We only honor . and *"); the default is "*".
	privateDefault := false
	for _, v := range e.X.Mesh.DefaultDestinationRuleExportTo {
		if v == "." {
			privateDefault = true
		}
	}
	// sortConfigBySelectorAndCreationTime: rules with a workloadSelector first,
	// then creation order (e.X.DestinationRules already is).
	drs := make([]*mesh.DestinationRule, 0, len(e.X.DestinationRules))
	for _, dr := range e.X.DestinationRules {
		if dr.Spec != nil && dr.Spec.WorkloadSelector != nil {
			drs = append(drs, dr)
		}
	}
	for _, dr := range e.X.DestinationRules {
		if dr.Spec != nil && dr.Spec.WorkloadSelector == nil {
			drs = append(drs, dr)
		}
	}
	for _, dr := range drs {
		if dr.Spec.Host == "" {
			continue
		}
		host := drResolveHost(dr.Spec.Host, dr.Namespace)
		// A rule with a workloadSelector is never exported: exportTo {"."}.
		set := map[string]bool{}
		if dr.Spec.WorkloadSelector == nil {
			for _, v := range dr.Spec.ExportTo {
				set[v] = true
			}
		} else {
			set["."] = true
			idx.selectors[dr.Namespace] = append(idx.selectors[dr.Namespace], dr)
		}
		// namespaceLocal: what proxies of the rule's namespace consult first.
		if len(set) == 0 || set["*"] || set["."] || set[dr.Namespace] {
			t := idx.nsLocal[dr.Namespace]
			if t == nil {
				t = newDRTable()
				idx.nsLocal[dr.Namespace] = t
			}
			t.merge(dr, host, set)
		}
		privateOnly := (len(set) == 0 && privateDefault) || (len(set) == 1 && (set["."] || set[dr.Namespace]))
		switch {
		case !privateOnly:
			t := idx.exported[dr.Namespace]
			if t == nil {
				t = newDRTable()
				idx.exported[dr.Namespace] = t
			}
			t.merge(dr, host, set)
		case dr.Namespace == idx.root:
			idx.rootLocal.merge(dr, host, set)
		}
	}
	for _, t := range idx.nsLocal {
		t.sortWildcards()
	}
	for _, t := range idx.exported {
		t.sortWildcards()
	}
	idx.rootLocal.sortWildcards()
	for _, se := range e.X.ServiceEntries {
		if se.Spec == nil {
			continue
		}
		for _, h := range se.Spec.Hosts {
			if _, ok := idx.seNS[h]; !ok {
				idx.seNS[h] = se.Namespace
			}
		}
	}
	e.sec.drIdx = idx
	return idx
}

func (t *drTable) sortWildcards() {
	t.wildKeys = t.wildKeys[:0]
	for h := range t.wildcard {
		t.wildKeys = append(t.wildKeys, h)
	}
	sort.Slice(t.wildKeys, func(i, j int) bool { return drMoreSpecific(t.wildKeys[i], t.wildKeys[j]) })
}

// drMoreSpecific is host.MoreSpecific (pkg/config/host/names.go): a
// non-wildcard beats a wildcard, then the longer, then the alphabetically smaller.
func drMoreSpecific(a, b string) bool {
	aw, bw := strings.HasPrefix(a, "*"), strings.HasPrefix(b, "*")
	if aw != bw {
		return !aw
	}
	if len(a) == len(b) {
		return a < b
	}
	return len(a) > len(b)
}

// match is MostSpecificHostMatch (pilot/pkg/model/config.go): an exact host
// first, else the most specific wildcard whose suffix matches. A wildcard
// needle matches its own key exactly, else wildcards that cover it.
func (t *drTable) match(needle string) (string, []*MergedDR, bool) {
	if t == nil {
		return "", nil, false
	}
	suffix := needle
	if strings.HasPrefix(needle, "*") {
		if l, ok := t.wildcard[needle]; ok {
			return needle, l, true
		}
		suffix = needle[1:]
	} else if l, ok := t.specific[needle]; ok {
		return needle, l, true
	}
	for _, h := range t.wildKeys {
		if strings.HasSuffix(suffix, h[1:]) {
			return h, t.wildcard[h], true
		}
	}
	return "", nil, false
}

// merge is mergeDestinationRule (pilot/pkg/model/destination_rule.go) with
// ENABLE_ENHANCED_DESTINATIONRULE_MERGE (default true since 1.24): a rule is
// merged into an entry of the same host with an equal exportTo (or a narrower
// one, then also kept as its own entry) and a compatible selector; otherwise
// it becomes its own entry.
func (t *drTable) merge(dr *mesh.DestinationRule, host string, set map[string]bool) {
	rules := t.specific
	if strings.HasPrefix(host, "*") {
		rules = t.wildcard
	}
	list := rules[host]
	if len(list) == 0 {
		rules[host] = []*MergedDR{newMergedDR(dr, host, set)}
		return
	}
	inSel := dr.Spec.WorkloadSelector != nil
	inLabels := dr.Spec.WorkloadSelector.GetMatchLabels()
	appendSeparately := true
	for _, m := range list {
		m.addAssume(secDRMergeAssumption)
		switch {
		case secSetEqual(set, m.exportSet):
			appendSeparately = false
		case len(m.exportSet) > 0 && secSuperset(set, m.exportSet):
			appendSeparately = true
		default:
			appendSeparately = true
			continue
		}
		bothWithout := !inSel && !m.HasWorkloadSelector
		bothWith := inSel && m.HasWorkloadSelector
		selectorsMatch := secLabelsEqual(m.WorkloadSelector, inLabels)
		if bothWith && !selectorsMatch {
			appendSeparately = true
			continue
		}
		if bothWithout || (bothWith && selectorsMatch) {
			appendSeparately = false
		}
		m.absorb(dr)
	}
	if appendSeparately {
		n := newMergedDR(dr, host, set)
		n.addAssume(secDRMergeAssumption)
		rules[host] = append(list, n)
	}
}

func newMergedDR(dr *mesh.DestinationRule, host string, set map[string]bool) *MergedDR {
	m := &MergedDR{
		Host:                host,
		Namespace:           dr.Namespace,
		Rules:               []*mesh.DestinationRule{dr},
		HasWorkloadSelector: dr.Spec.WorkloadSelector != nil,
		WorkloadSelector:    dr.Spec.WorkloadSelector.GetMatchLabels(),
		exportSet:           set,
	}
	for v := range set {
		m.ExportTo = append(m.ExportTo, v)
	}
	sort.Strings(m.ExportTo)
	if dr.Spec.TrafficPolicy != nil {
		m.TrafficPolicy, m.PolicyFrom = dr.Spec.TrafficPolicy, dr
	}
	for i, s := range dr.Spec.Subsets {
		if s == nil {
			continue
		}
		m.Subsets = append(m.Subsets, MergedSubset{Name: s.Name, Labels: s.Labels, TrafficPolicy: s.TrafficPolicy, From: dr, Path: objects.Index("spec.subsets", i)})
	}
	return m
}

// absorb merges a later rule into the entry: subsets are appended unless the
// name exists (the first wins, metric DuplicatedSubsets), and the top-level
// trafficPolicy is adopted only when the entry has none.
func (m *MergedDR) absorb(dr *mesh.DestinationRule) {
	m.Rules = append(m.Rules, dr)
	drName := dr.Namespace + "/" + dr.Name
	for i, s := range dr.Spec.Subsets {
		if s == nil {
			continue
		}
		if prev, ok := m.Subset(s.Name); ok {
			why, as := drOrder(prev.From, dr)
			m.notes = append(m.notes, fmt.Sprintf("subset %q of DestinationRule %s is ignored: %s defines it too, and %s", s.Name, drName, prev.From.Namespace+"/"+prev.From.Name, why))
			m.noteRefs = append(m.noteRefs, dr.Obj.Ref(objects.Index("spec.subsets", i)))
			m.addAssume(as)
			continue
		}
		m.Subsets = append(m.Subsets, MergedSubset{Name: s.Name, Labels: s.Labels, TrafficPolicy: s.TrafficPolicy, From: dr, Path: objects.Index("spec.subsets", i)})
	}
	switch {
	case m.TrafficPolicy == nil && dr.Spec.TrafficPolicy != nil:
		m.TrafficPolicy, m.PolicyFrom = dr.Spec.TrafficPolicy, dr
	case m.TrafficPolicy != nil && dr.Spec.TrafficPolicy != nil:
		why, as := drOrder(m.PolicyFrom, dr)
		m.notes = append(m.notes, fmt.Sprintf("the trafficPolicy of DestinationRule %s is ignored: the merged rule keeps the first top-level policy, that of %s (%s), whole", drName, m.PolicyFrom.Namespace+"/"+m.PolicyFrom.Name, why))
		m.noteRefs = append(m.noteRefs, dr.Obj.Ref("spec.trafficPolicy"))
		m.addAssume(as)
	}
}

func (m *MergedDR) addAssume(a string) {
	if a == "" {
		return
	}
	for _, x := range m.assume {
		if x == a {
			return
		}
	}
	m.assume = append(m.assume, a)
}

// drOrder explains why a is processed before b (sortConfigBySelectorAndCreationTime).
func drOrder(a, b *mesh.DestinationRule) (string, string) {
	if a.Spec.WorkloadSelector != nil && b.Spec.WorkloadSelector == nil {
		return "rules with a workloadSelector are processed first", ""
	}
	return secOlder("DestinationRule", a.Obj, b.Obj)
}

func secSetEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func secSuperset(a, b map[string]bool) bool {
	for k := range b {
		if !a[k] {
			return false
		}
	}
	return true
}

func secLabelsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// drClientClass returns the part of a client that DestinationRule selection
// depends on: its namespace and, when that namespace has workloadSelector
// rules, which of them select the client.
func (e *Engine) drClientClass(w *mesh.Workload) string {
	if c, ok := e.sec.drClass[w]; ok {
		return c
	}
	idx := e.drIndex()
	class := w.Namespace
	if sels := idx.selectors[w.Namespace]; len(sels) > 0 {
		b := make([]byte, len(sels))
		for i, dr := range sels {
			b[i] = '0'
			if mesh.SubsetOf(dr.Spec.WorkloadSelector.GetMatchLabels(), w.Labels) {
				b[i] = '1'
			}
		}
		class += "|" + string(b)
	}
	if e.sec.drClass == nil {
		e.sec.drClass = map[*mesh.Workload]string{}
	}
	e.sec.drClass[w] = class
	return class
}

// drServiceNamespace returns the namespace of the service behind a host: the
// Kubernetes Service with that FQDN, else the first ServiceEntry listing it.
func (e *Engine) drServiceNamespace(host string) string {
	if s := e.X.ServiceByHost(host); s != nil {
		return s.Namespace
	}
	return e.drIndex().seNS[host]
}

// DestinationRule returns the DestinationRule a client proxy uses for host
// (a service FQDN or any host), ISTIO-SEMANTICS.md §2.1–2.5:
// PushContext.destinationRule (push_context.go) — the client's namespace first
// (for a client in the root namespace, only the root namespace's private
// rules: the "gateway hack"), then the rules the service's namespace exports
// to the client, then those the root namespace exports; the most specific host
// wins within a namespace, and when the most specific one is not exported the
// lookup moves on to the next namespace (getExportedDestinationRuleFromNamespace).
// Among the consolidated entries, SidecarScope.DestinationRule (sidecar.go)
// returns the first workloadSelector rule of the client's namespace that
// selects the client, else the last rule without a selector.
func (e *Engine) DestinationRule(client *mesh.Workload, host string) DRDecision {
	if client == nil {
		return DRDecision{Decision: Decision{Reason: "no client workload"}}
	}
	key := drCacheKey{class: e.drClientClass(client), host: host}
	if c, ok := e.sec.drCache[key]; ok {
		d := *c
		d.Decision = secClip(d.Decision)
		return d
	}
	d := e.destinationRule(client, host)
	d.By = secDedup(d.By)
	// Live mode: DestinationRules the user may not list are unknown.
	d.AssumeKey(e.X, mesh.AssumeUnread("DestinationRule"))
	if e.sec.drCache == nil || len(e.sec.drCache) >= secCacheMax {
		e.sec.drCache = map[drCacheKey]*DRDecision{}
	}
	c := d
	e.sec.drCache[key] = &c
	d.Decision = secClip(d.Decision)
	return d
}

func (e *Engine) destinationRule(client *mesh.Workload, host string) DRDecision {
	idx := e.drIndex()
	ns, root := client.Namespace, idx.root
	svcNS := e.drServiceNamespace(host)
	var d DRDecision
	var notes []string
	var noteRefs []objects.Ref
	var list []*MergedDR
	var where string

	exportedTo := func(m *MergedDR) bool {
		return len(m.exportSet) == 0 || m.exportSet["*"] || m.exportSet[ns]
	}
	// getExportedDestinationRuleFromNamespace: the most specific match in the
	// namespace's exported rules, kept only if exported to the client; when it
	// is not, nothing (no retry with a less specific host).
	exported := func(owner string) []*MergedDR {
		h, l, ok := idx.exported[owner].match(host)
		if !ok {
			return nil
		}
		var out []*MergedDR
		for _, m := range l {
			if exportedTo(m) {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			notes = append(notes, fmt.Sprintf("DestinationRule %s in %s is the most specific match (host %s) there but is not exported to namespace %s (exportTo %s), and Istio does not try a less specific host in that namespace", drNames(l), owner, h, ns, drExportText(l[0])))
			for _, m := range l {
				noteRefs = append(noteRefs, m.Rules[0].Obj.Ref("spec.exportTo"))
			}
		}
		return out
	}

	level := 0
	if ns != root {
		if _, l, ok := idx.nsLocal[ns].match(host); ok {
			list, level = l, 1
			where = fmt.Sprintf("it is in the client's namespace %s, which Istio consults first", ns)
		}
	} else if _, l, ok := idx.rootLocal.match(host); ok {
		list, level = l, 1
		where = fmt.Sprintf("it is private to the root namespace %s, where the client runs, and Istio consults those first", root)
	}
	if list == nil && svcNS != "" {
		if l := exported(svcNS); l != nil {
			list, level = l, 2
			where = fmt.Sprintf("the service's namespace %s exports it to %s", svcNS, ns)
			if ns == root && svcNS != root {
				where += fmt.Sprintf(" (a client in the root namespace %s consults the service's namespace before the root namespace's exported rules)", root)
			}
		}
	}
	if list == nil && svcNS != root {
		if l := exported(root); l != nil {
			list, level = l, 3
			where = fmt.Sprintf("the root namespace %s exports it to %s, and no rule in the client's or the service's namespace matches", root, ns)
		}
	}

	// SidecarScope.DestinationRule: a selector rule of the client's namespace
	// that selects the client, else the last rule without a selector.
	var chosen, catchAll *MergedDR
	for _, m := range list {
		if !m.HasWorkloadSelector {
			catchAll = m
		}
		if m.HasWorkloadSelector && m.Namespace == ns {
			if mesh.SubsetOf(m.WorkloadSelector, client.Labels) {
				chosen = m
				break
			}
			notes = append(notes, fmt.Sprintf("DestinationRule %s has a workloadSelector (%s) that does not select the client", m.Name(), secLabelString(m.WorkloadSelector)))
			noteRefs = append(noteRefs, m.Rules[0].Obj.Ref("spec.workloadSelector"))
		}
	}
	selected := chosen != nil
	if chosen == nil {
		chosen = catchAll
	}

	if chosen == nil {
		if list != nil {
			d.Reason = fmt.Sprintf("no DestinationRule applies to %s for this client in %s: the only rules for that host in the namespace Istio stops at have a workloadSelector that does not select it", host, ns)
		} else {
			d.Reason = "no DestinationRule applies to " + host + " for clients in " + ns
			var searched []string
			searched = append(searched, ns)
			if svcNS != "" && svcNS != ns {
				searched = append(searched, svcNS+" (exported)")
			}
			if root != ns && root != svcNS {
				searched = append(searched, root+" (exported)")
			}
			d.Reason += ": none matches in " + strings.Join(searched, ", ")
		}
		if len(notes) > 0 {
			d.Reason += "; " + strings.Join(notes, "; ")
		}
		d.By = noteRefs
		if ns == root {
			d.AssumeKey(e.X, mesh.AssumeRootNamespace)
		}
		return d
	}

	d.Rule = chosen
	d.Reason = "DestinationRule " + chosen.Name() + " (host " + chosen.Host + ") applies to " + host + ": " + where
	if selected {
		d.Reason += fmt.Sprintf("; its workloadSelector (%s) selects the client", secLabelString(chosen.WorkloadSelector))
	}
	if len(chosen.Rules) > 1 {
		d.Reason += fmt.Sprintf("; %d DestinationRules for this host are merged (subsets unioned, the first top-level trafficPolicy kept)", len(chosen.Rules))
	}
	// Shadowing: a match in the client's namespace hides the service namespace's rules.
	if level == 1 && svcNS != "" && svcNS != ns {
		if _, l, ok := idx.exported[svcNS].match(host); ok {
			for _, m := range l {
				if exportedTo(m) {
					d.Reason += fmt.Sprintf("; it shadows DestinationRule %s in the service's namespace %s", m.Name(), svcNS)
					noteRefs = append(noteRefs, m.Rules[0].Obj.Ref("spec.host"))
					break
				}
			}
		}
	}
	all := append(notes, chosen.notes...)
	if len(all) > 0 {
		d.Reason += "; " + strings.Join(all, "; ")
	}
	d.By = append(d.By, chosen.Refs()...)
	d.By = append(d.By, chosen.noteRefs...)
	d.By = append(d.By, noteRefs...)
	for _, a := range chosen.assume {
		d.Assume(a)
	}
	if ns == root || chosen.Namespace == root || level == 3 {
		d.AssumeKey(e.X, mesh.AssumeRootNamespace)
	}
	return d
}

func drNames(l []*MergedDR) string {
	var s []string
	for _, m := range l {
		s = append(s, m.Name())
	}
	return strings.Join(s, ", ")
}

func drExportText(m *MergedDR) string {
	if len(m.ExportTo) == 0 {
		return "the mesh default"
	}
	return "[" + strings.Join(m.ExportTo, ", ") + "]"
}
