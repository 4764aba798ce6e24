package trace

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/resolve"
)

// candidate is a fix before verification.
type candidate struct {
	summary  string
	security string
	changes  []Change
}

// fixes proposes the smallest changes of the right object for the failure,
// applies each to a copy of the mesh, traces again, and keeps those that turn
// the trace to ok. Fixes that weaken security say so; weaker ones come last.
func (r *request) fixes() []Fix {
	f := r.failed
	var cands []candidate
	switch f.cause {
	case CausePortNotListening:
		cands = append(cands, r.fixListen()...)
	case CausePlaintextToStrict:
		cands = append(cands, r.fixInjectClient()...)
		cands = append(cands, r.fixDRTLS(networking.ClientTLSSettings_ISTIO_MUTUAL, "use Istio mTLS towards %s instead of plaintext")...)
		cands = append(cands, r.fixPortPermissive()...)
	case CauseMTLSToNonMesh:
		if f.endpoint != nil && !r.e.InboundCapture(f.endpoint, f.port).Captured {
			// The server's sidecar skips the port: only the clients' TLS
			// for that one port can change (PeerAuthentication does not
			// apply there, and a top-level DISABLE would hit every port).
			cands = append(cands, r.fixUncapturedPort()...)
			break
		}
		cands = append(cands, r.fixInjectServer()...)
		cands = append(cands, r.fixPortPermissive()...)
		cands = append(cands, r.fixDRTLS(networking.ClientTLSSettings_DISABLE, "send plaintext to %s, which cannot terminate Istio mTLS")...)
	case CauseSANMismatch:
		cands = append(cands, r.fixSAN()...)
	case CauseAuthzDenied:
		cands = append(cands, r.fixAuthz()...)
	case CauseUnknownHost:
		cands = append(cands, r.fixRouteHost()...)
		cands = append(cands, r.fixRoutePort()...)
		cands = append(cands, r.fixServiceEntry()...)
	}
	var out []Fix
	for _, c := range cands {
		if len(c.changes) == 0 {
			continue
		}
		objs := Apply(r.e.X.Objects, c.changes)
		e2 := resolve.New(Rebuild(r.e.X, objs))
		t2, err := Run(e2, r.t.From, r.t.To, Options{Method: r.opts.Method, Headers: r.opts.Headers, Gateway: r.opts.Gateway, NoFixes: true})
		if err != nil || t2.Result != ResultOK {
			continue
		}
		var patches []string
		var target objects.Ref
		for i, ch := range c.changes {
			p, err := patchYAML(ch)
			if err != nil {
				continue
			}
			patches = append(patches, p)
			if i == 0 {
				if ch.Old != nil {
					target = ch.Old.Ref("")
				} else {
					target = objects.Ref{Kind: ch.New.Kind, Namespace: ch.New.Namespace, Name: ch.New.Name}
				}
			}
		}
		out = append(out, Fix{Summary: c.summary, Patch: strings.Join(patches, "---\n"), Security: c.security, Target: target, Verified: true})
	}
	return out
}

// loopbackRE matches the loopback hosts a listen address may name.
var loopbackRE = regexp.MustCompile(`\b127\.0\.0\.1\b|\blocalhost\b|\[::1\]|(^|[^:\w])::1\b`)

// fixListen rebinds a loopback-bound application to all interfaces, or points a
// Service's targetPort at the port a container declares.
func (r *request) fixListen() []candidate {
	f := r.failed
	var out []candidate
	w := f.endpoint
	if f.listen != nil && f.listen.Loopback && w.Obj != nil {
		for _, ref := range f.listen.By {
			if ref.Kind != w.Obj.Kind || ref.Name != w.Name || ref.Field == "" {
				continue
			}
			nw, ok := editString(w.Obj, ref.Field, func(s string) string {
				return loopbackRE.ReplaceAllStringFunc(s, func(m string) string {
					switch {
					case strings.Contains(m, "[::1]"):
						return "[::]"
					case strings.Contains(m, "::1"):
						return strings.Replace(m, "::1", "::", 1)
					}
					return "0.0.0.0"
				})
			})
			if !ok {
				continue
			}
			out = append(out, candidate{
				summary:  fmt.Sprintf("bind the application of %s to all interfaces (0.0.0.0) instead of loopback (%s): since Istio 1.10 the sidecar forwards inbound traffic to the pod IP", w.Key(), ref.Pos()),
				security: "none",
				changes:  []Change{{Old: w.Obj, New: nw}},
			})
			break
		}
	}
	if f.target != nil && !f.target.Found && r.svc != nil && r.svc.Obj != nil {
		var ports []mesh.ContainerPort
		for _, c := range w.Containers {
			if !c.Init {
				ports = append(ports, c.Ports...)
			}
		}
		if len(ports) == 1 {
			ns := copyObject(r.svc.Obj)
			svc := ns.Typed.(*corev1.Service)
			for i := range svc.Spec.Ports {
				if svc.Spec.Ports[i].Port == r.port.Port {
					if ports[0].Name != "" && r.port.TargetPort.Type == intstr.String {
						svc.Spec.Ports[i].TargetPort = intstr.FromString(ports[0].Name)
					} else {
						svc.Spec.Ports[i].TargetPort = intstr.FromInt32(ports[0].Port)
					}
				}
			}
			out = append(out, candidate{
				summary:  fmt.Sprintf("point Service %s port %d at the port its pods declare (%d)", r.svc.Key(), r.port.Port, ports[0].Port),
				security: "none",
				changes:  []Change{{Old: r.svc.Obj, New: ns}},
			})
		}
	}
	return out
}

// editString returns a copy of o with the string at path changed by fn; it
// fails when the field is not a string.
func editString(o *objects.Object, path string, fn func(string) string) (*objects.Object, bool) {
	isString := true
	c, err := Edit(o, path, func(old any) (any, bool) {
		s, ok := old.(string)
		if !ok {
			isString = false
			return old, false
		}
		return fn(s), false
	})
	if err != nil || !isString {
		return nil, false
	}
	return c.New, true
}

// fixInjectClient gives the client a sidecar (pod label sidecar.istio.io/inject: "true").
func (r *request) fixInjectClient() []candidate {
	if r.sidecar.HasProxy || r.client.Obj == nil {
		return nil
	}
	return r.injectFix(r.client, "give %s a sidecar so that it sends Istio mTLS (pods must be restarted)")
}

// fixInjectServer gives the server a sidecar.
func (r *request) fixInjectServer() []candidate {
	w := r.failed.endpoint
	if w == nil || w.Obj == nil || r.e.Sidecar(w).HasProxy {
		return nil
	}
	return r.injectFix(w, "give %s a sidecar so that it terminates Istio mTLS (pods must be restarted)")
}

func (r *request) injectFix(w *mesh.Workload, summary string) []candidate {
	nw, ok := setTemplateLabel(w, mesh.LabelInject, "true")
	if !ok {
		return nil
	}
	return []candidate{{summary: fmt.Sprintf(summary, w.Key()), security: "none", changes: []Change{{Old: w.Obj, New: nw}}}}
}

// setTemplateLabel returns a copy of the workload's object with a pod label set.
func setTemplateLabel(w *mesh.Workload, key, val string) (*objects.Object, bool) {
	data, err := json.Marshal(w.Obj.Typed)
	if err != nil {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, false
	}
	cur := m
	for _, s := range objects.Segments(w.TemplatePath) {
		k, ok := s.(string)
		if !ok {
			return nil, false
		}
		next, _ := cur[k].(map[string]any)
		if next == nil {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	labels, _ := cur["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
	}
	labels[key] = val
	cur["labels"] = labels
	out, _ := json.Marshal(m)
	c := copyObject(w.Obj)
	if err := json.Unmarshal(out, c.Typed); err != nil {
		return nil, false
	}
	return c, true
}

// fixDRTLS changes the TLS mode of the DestinationRule that decided the client
// TLS, when one did.
func (r *request) fixDRTLS(mode networking.ClientTLSSettings_TLSmode, summary string) []candidate {
	f := r.failed
	if f.tls == nil {
		return nil
	}
	for _, ref := range f.tls.By {
		if ref.Kind != "DestinationRule" {
			continue
		}
		for _, dr := range r.e.X.DestinationRules {
			if dr.Namespace != ref.Namespace || dr.Name != ref.Name {
				continue
			}
			c := copyObject(dr.Obj)
			spec := &c.Typed.(*networkingv1.DestinationRule).Spec
			if spec.TrafficPolicy == nil {
				spec.TrafficPolicy = &networking.TrafficPolicy{}
			}
			// The smallest change is the field that decided: port-level or top-level.
			changed := false
			for _, pl := range spec.TrafficPolicy.PortLevelSettings {
				if pl.Port != nil && pl.Port.Number == uint32(r.port.Port) && pl.Tls != nil {
					pl.Tls.Mode = mode
					changed = true
				}
			}
			if !changed {
				if spec.TrafficPolicy.Tls == nil {
					spec.TrafficPolicy.Tls = &networking.ClientTLSSettings{}
				}
				spec.TrafficPolicy.Tls.Mode = mode
			}
			sec := "none"
			if mode == networking.ClientTLSSettings_DISABLE {
				sec = fmt.Sprintf("every host of DestinationRule %s/%s (%s) gets plaintext from the clients that use it", dr.Namespace, dr.Name, dr.Spec.Host)
			}
			return []candidate{{summary: fmt.Sprintf(summary, r.svc.Host), security: sec, changes: []Change{{Old: dr.Obj, New: c}}}}
		}
	}
	if mode != networking.ClientTLSSettings_ISTIO_MUTUAL || !r.viaProxy || r.svc == nil || r.e.DestinationRule(r.client, r.svc.Host).Rule != nil {
		return nil
	}
	// No DestinationRule applies: auto mTLS decided plaintext (the service
	// namespace's mode is DISABLE). A rule for the one host in its namespace
	// sets ISTIO_MUTUAL for the clients that have no rule of their own.
	dr := &networkingv1.DestinationRule{}
	dr.Name, dr.Namespace = r.svc.Name+"-mtls", r.svc.Namespace
	dr.Spec.Host = r.svc.Host
	dr.Spec.TrafficPolicy = &networking.TrafficPolicy{Tls: &networking.ClientTLSSettings{Mode: mode}}
	o := newObject("networking.istio.io/v1", "DestinationRule", dr.Namespace, dr.Name, dr)
	return []candidate{{summary: fmt.Sprintf(summary, r.svc.Host) + " (a DestinationRule, since auto mTLS sends plaintext here)", security: "none", changes: []Change{{New: o}}}}
}

// fixUncapturedPort answers auto mTLS towards a port the server's sidecar
// does not capture: with no DestinationRule for the host, a new one sets tls
// DISABLE for that Service port only (trafficPolicy.portLevelSettings), so the
// clients' sidecars send what the application expects.
func (r *request) fixUncapturedPort() []candidate {
	f := r.failed
	if f.endpoint == nil || r.svc == nil || r.port == nil || !r.viaProxy || r.e.InboundCapture(f.endpoint, f.port).Captured {
		return nil
	}
	summary := fmt.Sprintf("send plaintext to port %d of %s, which %s's sidecar does not capture (tls DISABLE for that port only)", r.port.Port, r.svc.Host, f.endpoint.Key())
	security := fmt.Sprintf("calls to port %d of %s carry no mTLS (they reach the application without the sidecar in any case)", r.port.Port, r.svc.Host)
	if m := r.e.DestinationRule(r.client, r.svc.Host).Rule; m != nil {
		// A rule applies: a port-level entry in the rule whose
		// trafficPolicy applies. A port-level entry replaces the whole
		// top-level policy for its port (DestinationRule docs,
		// TrafficPolicy.port_level_settings), so it repeats the other
		// top-level settings; a top-level DISABLE would turn every port
		// of the host to plaintext.
		from := m.PolicyFrom
		if from == nil && len(m.Rules) > 0 {
			from = m.Rules[0]
		}
		if from == nil || from.Obj == nil {
			return nil
		}
		c := copyObject(from.Obj)
		spec := &c.Typed.(*networkingv1.DestinationRule).Spec
		if spec.TrafficPolicy == nil {
			spec.TrafficPolicy = &networking.TrafficPolicy{}
		}
		tp := spec.TrafficPolicy
		var entry *networking.TrafficPolicy_PortTrafficPolicy
		for _, pl := range tp.PortLevelSettings {
			if pl.GetPort().GetNumber() == uint32(r.port.Port) {
				entry = pl
			}
		}
		if entry == nil {
			entry = &networking.TrafficPolicy_PortTrafficPolicy{
				Port:             &networking.PortSelector{Number: uint32(r.port.Port)},
				LoadBalancer:     tp.LoadBalancer,
				ConnectionPool:   tp.ConnectionPool,
				OutlierDetection: tp.OutlierDetection,
			}
			tp.PortLevelSettings = append(tp.PortLevelSettings, entry)
		}
		entry.Tls = &networking.ClientTLSSettings{Mode: networking.ClientTLSSettings_DISABLE}
		return []candidate{{summary: summary, security: security, changes: []Change{{Old: from.Obj, New: c}}}}
	}
	dr := &networkingv1.DestinationRule{}
	dr.Name, dr.Namespace = fmt.Sprintf("%s-%d-plaintext", r.svc.Name, r.port.Port), r.svc.Namespace
	for _, o := range r.e.X.DestinationRules {
		if o.Namespace == dr.Namespace && o.Name == dr.Name {
			return nil // applying it would replace that rule
		}
	}
	dr.Spec.Host = r.svc.Host
	dr.Spec.TrafficPolicy = &networking.TrafficPolicy{PortLevelSettings: []*networking.TrafficPolicy_PortTrafficPolicy{{
		Port: &networking.PortSelector{Number: uint32(r.port.Port)},
		Tls:  &networking.ClientTLSSettings{Mode: networking.ClientTLSSettings_DISABLE},
	}}}
	o := newObject("networking.istio.io/v1", "DestinationRule", dr.Namespace, dr.Name, dr)
	return []candidate{{summary: summary + " (a new DestinationRule)", security: security, changes: []Change{{New: o}}}}
}

// fixPortPermissive lets the server's port accept plaintext: a port-level
// PERMISSIVE on a workload-selector PeerAuthentication, keyed by the container
// port (ISTIO-SEMANTICS.md §1.3). An existing selector policy of the workload is
// extended, since a newer one would be ignored (the oldest wins).
func (r *request) fixPortPermissive() []candidate {
	f := r.failed
	w := f.endpoint
	if w == nil || !r.e.Sidecar(w).HasProxy {
		return nil
	}
	port := uint32(f.port)
	sec := fmt.Sprintf("port %d of %s accepts plaintext from any client", f.port, w.Key())
	summary := fmt.Sprintf("let %s accept plaintext on container port %d (port-level PERMISSIVE)", w.Key(), f.port)
	for _, pa := range r.e.X.PeerAuthentications {
		if pa.Namespace != w.Namespace || pa.Spec.Selector == nil || len(pa.Spec.Selector.MatchLabels) == 0 || !mesh.SubsetOf(pa.Spec.Selector.MatchLabels, w.Labels) {
			continue
		}
		c := copyObject(pa.Obj)
		spec := &c.Typed.(*securityv1.PeerAuthentication).Spec
		if spec.PortLevelMtls == nil {
			spec.PortLevelMtls = map[uint32]*security.PeerAuthentication_MutualTLS{}
		}
		spec.PortLevelMtls[port] = &security.PeerAuthentication_MutualTLS{Mode: security.PeerAuthentication_MutualTLS_PERMISSIVE}
		return []candidate{{summary: summary, security: sec, changes: []Change{{Old: pa.Obj, New: c}}}}
	}
	sel := selectorFor(w)
	if len(sel) == 0 {
		return nil
	}
	pa := &securityv1.PeerAuthentication{}
	pa.Name = fmt.Sprintf("%s-%d-permissive", w.Name, f.port)
	pa.Namespace = w.Namespace
	pa.Spec.Selector = &typev1beta1.WorkloadSelector{MatchLabels: sel}
	pa.Spec.PortLevelMtls = map[uint32]*security.PeerAuthentication_MutualTLS{port: {Mode: security.PeerAuthentication_MutualTLS_PERMISSIVE}}
	o := newObject("security.istio.io/v1", "PeerAuthentication", w.Namespace, pa.Name, pa)
	return []candidate{{summary: summary, security: sec, changes: []Change{{New: o}}}}
}

// selectorFor picks labels that select the workload: app (and version) when
// present, else all its labels.
func selectorFor(w *mesh.Workload) map[string]string {
	for _, k := range []string{"app", "app.kubernetes.io/name"} {
		if v, ok := w.Labels[k]; ok {
			return map[string]string{k: v}
		}
	}
	out := map[string]string{}
	for k, v := range w.Labels {
		if k != mesh.LabelTLSMode && k != "pod-template-hash" {
			out[k] = v
		}
	}
	return out
}

// fixSAN adds the server's identity to the DestinationRule's subjectAltNames.
func (r *request) fixSAN() []candidate {
	f := r.failed
	if f.tls == nil || f.endpoint == nil {
		return nil
	}
	id := r.e.Identity(f.endpoint)
	for _, ref := range f.tls.By {
		if ref.Kind != "DestinationRule" {
			continue
		}
		for _, dr := range r.e.X.DestinationRules {
			if dr.Namespace != ref.Namespace || dr.Name != ref.Name {
				continue
			}
			c := copyObject(dr.Obj)
			spec := &c.Typed.(*networkingv1.DestinationRule).Spec
			edit := func(t *networking.ClientTLSSettings) {
				if t != nil && len(t.SubjectAltNames) > 0 {
					t.SubjectAltNames = append(t.SubjectAltNames, id)
				}
			}
			if spec.TrafficPolicy != nil {
				edit(spec.TrafficPolicy.Tls)
				for _, pl := range spec.TrafficPolicy.PortLevelSettings {
					edit(pl.Tls)
				}
			}
			for _, ss := range spec.Subsets {
				if ss.TrafficPolicy != nil {
					edit(ss.TrafficPolicy.Tls)
				}
			}
			return []candidate{{summary: fmt.Sprintf("add the identity of %s (%s) to the subjectAltNames of DestinationRule %s/%s", f.endpoint.Key(), id, dr.Namespace, dr.Name), security: "none", changes: []Change{{Old: dr.Obj, New: c}}}}
		}
	}
	return nil
}

// fixAuthz lets the client in through the ALLOW policy of the server: a rule
// naming the client's principal (only possible over mTLS).
func (r *request) fixAuthz() []candidate {
	f := r.failed
	if f.authz == nil || f.authz.Action == "DENY" || f.authz.Action == "CUSTOM" {
		return nil // an explicit deny is intended; no fix is offered
	}
	if f.tls == nil || f.tls.Mode != "mtls" {
		return nil // principals never match plaintext
	}
	w := f.endpoint
	principal := r.e.Principal(r.client)
	for _, ap := range r.e.X.AuthorizationPolicies {
		if ap.Spec.Action != security.AuthorizationPolicy_ALLOW {
			continue
		}
		if !(ap.Namespace == r.e.X.Mesh.RootNamespace || ap.Namespace == w.Namespace) {
			continue
		}
		if ap.Spec.Selector != nil && !mesh.SubsetOf(ap.Spec.Selector.MatchLabels, w.Labels) {
			continue
		}
		if len(ap.Spec.GetTargetRefs()) > 0 || ap.Spec.GetTargetRef() != nil {
			continue
		}
		c := copyObject(ap.Obj)
		spec := &c.Typed.(*securityv1.AuthorizationPolicy).Spec
		spec.Rules = append(spec.Rules, &security.Rule{From: []*security.Rule_From{{Source: &security.Source{Principals: []string{principal}}}}})
		return []candidate{{
			summary:  fmt.Sprintf("allow %s (principal %s) in AuthorizationPolicy %s/%s", r.client.Key(), principal, ap.Namespace, ap.Name),
			security: fmt.Sprintf("%s may call every workload that policy selects", r.client.Key()),
			changes:  []Change{{Old: ap.Obj, New: c}},
		}}
	}
	return nil
}

// fixRouteHost points a route whose destination host is in no registry at the
// Service of the route's namespace with the closest name (a typo).
func (r *request) fixRouteHost() []candidate {
	f := r.failed
	if f.vs == nil || f.vs.Obj == nil {
		return nil
	}
	var bad string
	editString(f.vs.Obj, f.vsPath, func(s string) string { bad = s; return s })
	short := strings.SplitN(bad, ".", 2)[0]
	var names []string
	for _, s := range r.e.X.ServicesIn(f.vs.Namespace) {
		names = append(names, f.vs.Namespace+"/"+s.Name)
	}
	near := closeMatches(f.vs.Namespace+"/"+short, names, 1)
	if len(near) == 0 {
		return nil
	}
	name := near[0][strings.LastIndex(near[0], "/")+1:]
	nv, ok := editString(f.vs.Obj, f.vsPath, func(string) string { return name })
	if !ok {
		return nil
	}
	return []candidate{{
		summary:  fmt.Sprintf("route to Service %s/%s instead of %q, which no Service or ServiceEntry declares (%s)", f.vs.Namespace, name, bad, f.vs.Obj.At(f.vsPath)),
		security: "none",
		changes:  []Change{{Old: f.vs.Obj, New: nv}},
	}}
}

// fixRoutePort points a route destination port that the Service lacks at the
// Service port meant: the only port, or the one whose targetPort is the
// number written (a container port written where the Service port belongs).
func (r *request) fixRoutePort() []candidate {
	f := r.failed
	if f.portVS == nil || f.portSvc == nil {
		return nil
	}
	var bad int64
	var chosen int32
	c, err := Edit(f.portVS.Obj, f.portPath, func(old any) (any, bool) {
		n, ok := old.(float64)
		if !ok {
			return old, false
		}
		bad = int64(n)
		var want *mesh.ServicePort
		if len(f.portSvc.Ports) == 1 {
			want = &f.portSvc.Ports[0]
		} else {
			for i := range f.portSvc.Ports {
				if sp := &f.portSvc.Ports[i]; sp.TargetPort.IntValue() == int(n) {
					if want != nil {
						return old, false // several ports target it: which one is meant is not known
					}
					want = sp
				}
			}
		}
		if want == nil {
			return old, false
		}
		chosen = want.Port
		return want.Port, false
	})
	if err != nil || chosen == 0 {
		return nil
	}
	return []candidate{{
		summary:  fmt.Sprintf("route to port %d of Service %s instead of %d, which it does not declare (%s)", chosen, f.portSvc.Key(), bad, f.portVS.Obj.At(f.portPath)),
		security: "none",
		changes:  []Change{{Old: f.portVS.Obj, New: c.New}},
	}}
}

// fixServiceEntry declares an external host that a REGISTRY_ONLY mesh blocks,
// with a ServiceEntry in the client's namespace.
func (r *request) fixServiceEntry() []candidate {
	if r.routeAction != resolve.ActionBlackhole || r.client == nil || net.ParseIP(r.tgt.Host) != nil {
		return nil
	}
	host := strings.ToLower(r.tgt.Host)
	if h, ok := r.opts.Headers["Host"]; ok {
		host = strings.ToLower(h)
	}
	port := r.tgt.Port
	if port == 0 {
		return nil
	}
	proto := "TCP"
	switch r.tgt.Scheme {
	case "http":
		proto = "HTTP"
	case "https":
		proto = "TLS"
	}
	se := &networkingv1.ServiceEntry{}
	se.Name = strings.ReplaceAll(host, ".", "-")
	se.Namespace = r.client.Namespace
	se.Spec.Hosts = []string{host}
	se.Spec.ExportTo = []string{"."} // visible to the client's namespace only
	se.Spec.Location = networking.ServiceEntry_MESH_EXTERNAL
	se.Spec.Resolution = networking.ServiceEntry_DNS
	se.Spec.Ports = []*networking.ServicePort{{Number: uint32(port), Name: strings.ToLower(proto) + "-" + strconv.Itoa(int(port)), Protocol: proto}}
	o := newObject("networking.istio.io/v1", "ServiceEntry", se.Namespace, se.Name, se)
	return []candidate{{
		summary:  fmt.Sprintf("declare %s:%d with a ServiceEntry, so that the REGISTRY_ONLY mesh lets %s call it", host, port, r.client.Namespace),
		security: fmt.Sprintf("workloads in %s may call %s:%d outside the mesh", r.client.Namespace, host, port),
		changes:  []Change{{New: o}},
	}}
}
