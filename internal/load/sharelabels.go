package load

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// shareLabels makes the label maps of one object that hold the same labels
// one map: a Deployment usually repeats its labels in metadata.labels,
// spec.selector.matchLabels and spec.template.metadata.labels, and a Service
// in metadata.labels and spec.selector. Each small Go map costs about 300
// bytes whatever it holds, so on a large mesh this is a tenth of the decoded
// objects' heap. Nothing modifies a decoded object's maps in place: a fix
// edits a deep copy, or a copy made through JSON.
func shareLabels(typed any) {
	switch o := typed.(type) {
	case *appsv1.Deployment:
		shareTemplate(&o.ObjectMeta, o.Spec.Selector, &o.Spec.Template)
	case *appsv1.StatefulSet:
		shareTemplate(&o.ObjectMeta, o.Spec.Selector, &o.Spec.Template)
	case *appsv1.DaemonSet:
		shareTemplate(&o.ObjectMeta, o.Spec.Selector, &o.Spec.Template)
	case *appsv1.ReplicaSet:
		shareTemplate(&o.ObjectMeta, o.Spec.Selector, &o.Spec.Template)
	case *batchv1.Job:
		shareTemplate(&o.ObjectMeta, o.Spec.Selector, &o.Spec.Template)
	case *corev1.Service:
		if o.Spec.Selector != nil && maps.Equal(o.Labels, o.Spec.Selector) {
			o.Spec.Selector = o.Labels
		}
	}
}

func shareTemplate(meta *metav1.ObjectMeta, sel *metav1.LabelSelector, tpl *corev1.PodTemplateSpec) {
	if tpl.Labels == nil {
		return
	}
	if meta.Labels != nil && maps.Equal(meta.Labels, tpl.Labels) {
		meta.Labels = tpl.Labels
	}
	if sel != nil && sel.MatchLabels != nil && maps.Equal(sel.MatchLabels, tpl.Labels) {
		sel.MatchLabels = tpl.Labels
	}
}
