package check

import (
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Delete returns a change that removes o.
func Delete(o *objects.Object) trace.Change { return trace.Change{Old: o} }

// ProposeEdit proposes the change of one field of o (trace.Edit), made only
// when the driver verifies the finding's fixes (see ProposeFunc).
func (f *Finding) ProposeEdit(summary string, o *objects.Object, path string, fn func(old any) (v any, remove bool)) {
	f.ProposeFunc(func() []Candidate {
		ch, err := trace.Edit(o, path, fn)
		if err != nil {
			return nil
		}
		return []Candidate{{Summary: summary, Changes: []trace.Change{ch}}}
	})
}
