//go:build istiooracle

package oracle

import (
	"os"
	"reflect"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	kubelib "istio.io/istio/pkg/kube"
)

// fastKubeClient is a FakeOptions.KubeClientBuilder. Istio's default builder Creates every
// object through client-go's field-managed object tracker, which rebuilds a REST mapper
// from the whole scheme on every Create: about half of the time spent per mesh. This
// builder makes the same fake client without objects and stores the Kubernetes objects
// in the plain tracker underneath (no managedFields, which Istio does not read). If that
// tracker cannot be reached it falls back to Istio's builder. ORACLE_SLOW_KUBE=1 forces
// Istio's builder (to check both give the same answers).
func fastKubeClient(objects ...runtime.Object) kubelib.Client {
	if os.Getenv("ORACLE_SLOW_KUBE") == "" {
		c := kubelib.NewFakeClientWithVersion("")
		if fc, ok := c.Kube().(*fake.Clientset); ok {
			if inner := plainTracker(fc.Tracker()); inner != nil && addAll(inner, objects) == nil {
				return c
			}
		}
	}
	return kubelib.NewFakeClientWithVersion("", objects...)
}

// plainTracker returns the ObjectTracker embedded in client-go's managedFieldObjectTracker.
func plainTracker(tr clienttesting.ObjectTracker) clienttesting.ObjectTracker {
	v := reflect.ValueOf(tr)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("ObjectTracker")
	if !f.IsValid() || !f.CanInterface() {
		return nil
	}
	inner, _ := f.Interface().(clienttesting.ObjectTracker)
	return inner
}

func addAll(tr clienttesting.ObjectTracker, objects []runtime.Object) error {
	for _, o := range objects {
		gvk := o.GetObjectKind().GroupVersionKind()
		if gvk.Kind == "" {
			gvks, _, err := kubelib.IstioScheme.ObjectKinds(o)
			if err != nil {
				return err
			}
			gvk = gvks[0]
		}
		gvr, _ := meta.UnsafeGuessKindToResource(schema.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind})
		acc, err := meta.Accessor(o)
		if err != nil {
			return err
		}
		if err := tr.Create(gvr, o, acc.GetNamespace()); err != nil {
			return err
		}
	}
	return nil
}
