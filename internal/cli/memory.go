package cli

import (
	"os"
	"runtime/debug"
)

// MemoryLimit is the soft memory limit meshdoctor runs under unless GOMEMLIMIT
// says otherwise. Checking a 10,000-service mesh keeps up to about 200 MiB live
// (the decoded objects, the index, the engines' caches and the path verdicts
// the checks read); with Go's default GOGC=100 the heap would grow to twice
// that before a collection. Near the limit the collector runs more often
// instead (trading some CPU for memory; Go caps the collector's share so a
// larger mesh is never starved, it just uses more memory). The process's
// resident set is about 40 MiB above the limit (the binary): 330 MiB keeps
// `meshgen -bench -services 10000` under 380 MiB (400 MB) at about the speed
// of 340 MiB; at 300 MiB the check phase takes about a second longer.
const MemoryLimit = 330 << 20

// ApplyMemoryLimit sets MemoryLimit as the runtime's soft limit when the
// environment sets none. The commands' mains call it; Main does not, so that
// tests and embedders keep their own settings.
func ApplyMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
