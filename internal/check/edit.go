package check

import (
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Delete returns a change that removes o.
func Delete(o *objects.Object) trace.Change { return trace.Change{Old: o} }
