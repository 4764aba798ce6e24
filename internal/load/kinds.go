package load

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
)

// kindInfo says how to decode one kind. Istio serves the same schema under every
// version of a kind (pilot converts them all to one Go type, see
// ISTIO-SEMANTICS.md §1.5), so each Istio kind decodes into its v1 client-go type
// whatever version the document names, as long as Istio serves that version.
type kindInfo struct {
	group      string
	versions   []string
	namespaced bool
	new        func() any
}

var (
	istioNetworkingVersions = []string{"v1alpha3", "v1beta1", "v1"}
	istioSecurityVersions   = []string{"v1beta1", "v1"}
)

// kinds is the registry of the kinds meshdoctor reads. Any other kind is skipped
// and counted, never an error.
var kinds = map[string]kindInfo{
	"Namespace":      {"", []string{"v1"}, false, func() any { return &corev1.Namespace{} }},
	"Pod":            {"", []string{"v1"}, true, func() any { return &corev1.Pod{} }},
	"Service":        {"", []string{"v1"}, true, func() any { return &corev1.Service{} }},
	"ServiceAccount": {"", []string{"v1"}, true, func() any { return &corev1.ServiceAccount{} }},
	"ConfigMap":      {"", []string{"v1"}, true, func() any { return &corev1.ConfigMap{} }},
	"Deployment":     {"apps", []string{"v1"}, true, func() any { return &appsv1.Deployment{} }},
	"StatefulSet":    {"apps", []string{"v1"}, true, func() any { return &appsv1.StatefulSet{} }},
	"DaemonSet":      {"apps", []string{"v1"}, true, func() any { return &appsv1.DaemonSet{} }},
	"ReplicaSet":     {"apps", []string{"v1"}, true, func() any { return &appsv1.ReplicaSet{} }},
	"Job":            {"batch", []string{"v1"}, true, func() any { return &batchv1.Job{} }},
	"CronJob":        {"batch", []string{"v1", "v1beta1"}, true, func() any { return &batchv1.CronJob{} }},

	"PeerAuthentication":    {"security.istio.io", istioSecurityVersions, true, func() any { return &securityv1.PeerAuthentication{} }},
	"AuthorizationPolicy":   {"security.istio.io", istioSecurityVersions, true, func() any { return &securityv1.AuthorizationPolicy{} }},
	"RequestAuthentication": {"security.istio.io", istioSecurityVersions, true, func() any { return &securityv1.RequestAuthentication{} }},
	"DestinationRule":       {"networking.istio.io", istioNetworkingVersions, true, func() any { return &networkingv1.DestinationRule{} }},
	"VirtualService":        {"networking.istio.io", istioNetworkingVersions, true, func() any { return &networkingv1.VirtualService{} }},
	"Gateway":               {"networking.istio.io", istioNetworkingVersions, true, func() any { return &networkingv1.Gateway{} }},
	"Sidecar":               {"networking.istio.io", istioNetworkingVersions, true, func() any { return &networkingv1.Sidecar{} }},
	"ServiceEntry":          {"networking.istio.io", istioNetworkingVersions, true, func() any { return &networkingv1.ServiceEntry{} }},
}

// splitAPIVersion splits "group/version" ("v1" has the empty group).
func splitAPIVersion(av string) (group, version string) {
	for i := 0; i < len(av); i++ {
		if av[i] == '/' {
			return av[:i], av[i+1:]
		}
	}
	return "", av
}

// lookupKind returns the registry entry for apiVersion and kind, and whether the
// group/kind is one meshdoctor reads at all (known) and the version is served (ok).
func lookupKind(apiVersion, kind string) (info kindInfo, known, ok bool) {
	info, known = kinds[kind]
	if !known {
		return info, false, false
	}
	group, version := splitAPIVersion(apiVersion)
	if group != info.group {
		// Same kind name in another group (e.g. gateway.networking.k8s.io Gateway):
		// a different kind that meshdoctor does not read.
		return info, false, false
	}
	for _, v := range info.versions {
		if v == version {
			return info, true, true
		}
	}
	return info, true, false
}
