package cli

import (
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/objects"
)

// -f objects replace cluster objects of the same kind, namespace and name
// (a file object without a namespace is in the -n namespace, else default);
// the others are kept, cluster first.
func TestLayerFilesOnCluster(t *testing.T) {
	obj := func(kind, ns, name, file string) *objects.Object {
		return &objects.Object{Kind: kind, Namespace: ns, Name: name, Pos: objects.Pos{File: file}}
	}
	cluster := []*objects.Object{
		obj("Namespace", "", "default", "cluster"),
		obj("Service", "default", "a", "cluster"),
		obj("Service", "prod", "a", "cluster"),
		obj("PeerAuthentication", "prod", "default", "cluster"),
	}
	files := []*objects.Object{
		obj("Service", "", "a", "a.yaml"),                       // replaces default/a
		obj("PeerAuthentication", "prod", "default", "pa.yaml"), // replaces prod/default
		obj("Namespace", "", "default", "ns.yaml"),              // replaces the namespace
		obj("Service", "prod", "b", "b.yaml"),                   // new
	}
	got := layer(cluster, files, "")
	want := []string{"Service prod/a cluster", "Service a a.yaml", "PeerAuthentication prod/default pa.yaml", "Namespace default ns.yaml", "Service prod/b b.yaml"}
	if len(got) != len(want) {
		t.Fatalf("got %d objects, want %d", len(got), len(want))
	}
	for i, o := range got {
		if s := o.Ref("").String(); s != want[i] || o.Seq != i {
			t.Errorf("[%d] = %s (seq %d), want %s", i, s, o.Seq, want[i])
		}
	}
	// Under -n prod the namespace-less file Service is prod/a.
	got = layer(cluster, files[:1], "prod")
	if len(got) != 4 || got[1].Ref("").String() != "Service default/a cluster" {
		t.Errorf("-n prod: %v", got[1].Ref(""))
	}
}
