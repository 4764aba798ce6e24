package randmesh

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestGenerateDeterministic(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		a, b := Generate(seed), Generate(seed)
		if a.String() != b.String() || a.KubernetesYAML() != b.KubernetesYAML() ||
			a.IstioYAML() != b.IstioYAML() || a.ManifestsYAML() != b.ManifestsYAML() {
			t.Fatalf("seed %d: two runs differ", seed)
		}
	}
	if Generate(1).String() == Generate(2).String() {
		t.Fatal("seeds 1 and 2 give the same mesh")
	}
}

func TestGenerateShape(t *testing.T) {
	var sawEqualTimes, sawTwoNamespacePAs, sawWrongPort, sawGateway, sawNoSidecar bool
	for seed := uint64(0); seed < 300; seed++ {
		m := Generate(seed)
		nss := m.userNamespaces()
		if len(nss) < 2 || len(nss) > 4 || m.Namespace(RootNamespace) == nil {
			t.Fatalf("seed %d: namespaces %v", seed, nss)
		}
		if len(m.Workloads) < 3 || len(m.Workloads) > 8 {
			t.Fatalf("seed %d: %d workloads", seed, len(m.Workloads))
		}
		ips := map[string]bool{}
		for _, w := range m.Workloads {
			if !w.Sidecar {
				sawNoSidecar = true
			}
			svcPorts, ctrPorts := map[int]bool{}, map[int]bool{}
			for _, p := range w.Ports {
				if svcPorts[p.ServicePort] || ctrPorts[p.ContainerPort] {
					t.Fatalf("seed %d: %s: duplicate Service or container port in %v", seed, w.Key(), w.Ports)
				}
				svcPorts[p.ServicePort], ctrPorts[p.ContainerPort] = true, true
			}
			for _, p := range w.Pods {
				if ips[p.IP] {
					t.Fatalf("seed %d: duplicate pod IP %s", seed, p.IP)
				}
				ips[p.IP] = true
			}
			for _, pa := range m.PeerAuthentications {
				if pa.Namespace != w.Namespace || pa.Selector["app"] != w.Name {
					continue
				}
				for _, pm := range pa.PortLevel {
					for _, p := range w.Ports {
						if pm.Port == p.ServicePort && p.ServicePort != p.ContainerPort {
							sawWrongPort = true
						}
					}
				}
			}
		}
		nsWide := map[string]int{}
		times := map[string]bool{}
		for _, pa := range m.PeerAuthentications {
			if pa.Selector == nil {
				nsWide[pa.Namespace]++
				if nsWide[pa.Namespace] == 2 {
					sawTwoNamespacePAs = true
				}
			}
			k := pa.Namespace + pa.Created.String()
			if times[k] {
				sawEqualTimes = true
			}
			times[k] = true
		}
		if m.Gateway != nil {
			sawGateway = true
		}
		for _, doc := range strings.Split(m.KubernetesYAML()+"\n---\n"+m.IstioYAML()+"\n---\n"+m.ManifestsYAML(), "\n---\n") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("seed %d: invalid YAML: %v\n%s", seed, err, doc)
			}
			if obj["kind"] == nil || obj["apiVersion"] == nil {
				t.Fatalf("seed %d: document without kind:\n%s", seed, doc)
			}
		}
	}
	if !sawEqualTimes || !sawTwoNamespacePAs || !sawWrongPort || !sawGateway || !sawNoSidecar {
		t.Errorf("coverage: equalTimes=%v twoNamespacePAs=%v wrongPort=%v gateway=%v noSidecar=%v",
			sawEqualTimes, sawTwoNamespacePAs, sawWrongPort, sawGateway, sawNoSidecar)
	}
}

func TestSidecarInjected(t *testing.T) {
	cases := []struct {
		ns, label string
		want      bool
	}{
		{"enabled", "", true}, {"enabled", "false", false}, {"enabled", "true", true},
		{"", "", false}, {"", "true", true}, {"disabled", "true", false},
	}
	for _, c := range cases {
		if got := SidecarInjected(c.ns, c.label); got != c.want {
			t.Errorf("SidecarInjected(%q, %q) = %v", c.ns, c.label, got)
		}
	}
}
