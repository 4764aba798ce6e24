package paths

import (
	"hash/fnv"
	"slices"
	"sort"
	"sync"

	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// Clients is the set of calling workloads of a group. Groups of one class
// share the class's list of candidates instead of copying it (a class of the
// "every other namespace" kind holds most of a large mesh's workloads), and
// leave out the candidates of the namespaces that have a view of their own
// and those split off by identity.
type Clients struct {
	list   []*client // candidates, in workload order
	skipNS map[string]bool
	skip   map[*mesh.Workload]bool
	class  string
	n      int
	// sums, for a set over a shared list (a class's, or the clients
	// without a proxy), are the list's fingerprint sums (so Fingerprint need
	// not walk the list) and its order by key.
	sums *memberSums
}

// memberSums are the fingerprint sums of a list of clients: in all, and by
// namespace; and, made on first use, the list in key order.
type memberSums struct {
	all  uint64
	byNS map[string]uint64

	byKeyOnce sync.Once
	byKey     []*client
}

func newMemberSums(list []*client) *memberSums {
	m := &memberSums{byNS: map[string]uint64{}}
	for _, c := range list {
		m.all += c.fp
		m.byNS[c.ns] += c.fp
	}
	return m
}

// fingerprint hashes a workload's kind, namespace and name (FNV-1a 64).
func fingerprint(w *mesh.Workload) uint64 {
	h := fnv.New64a()
	h.Write([]byte(w.Kind))
	h.Write([]byte{'/'})
	h.Write([]byte(w.Namespace))
	h.Write([]byte{'/'})
	h.Write([]byte(w.Name))
	return h.Sum64()
}

// Fingerprint identifies the set of clients by kind, namespace and name, the
// same across two evaluations of meshes with the same workloads: the sum of
// the members' hashes. Two sets with equal fingerprints have the same members
// (up to a 64-bit collision). whatif compares groups with it.
func (s *Clients) Fingerprint() uint64 {
	if s.sums != nil {
		sum := s.sums.all
		for ns := range s.skipNS {
			sum -= s.sums.byNS[ns]
		}
		for w := range s.skip {
			sum -= fingerprint(w)
		}
		return sum
	}
	var sum uint64
	for _, c := range s.list {
		if s.has(c) {
			sum += c.fp
		}
	}
	return sum
}

func (s *Clients) has(c *client) bool {
	return !s.skipNS[c.ns] && !s.skip[c.w]
}

// Len is the number of clients.
func (s *Clients) Len() int { return s.n }

// First returns the first client, the one the group's trace was run for.
func (s *Clients) First() *mesh.Workload {
	for _, c := range s.list {
		if s.has(c) {
			return c.w
		}
	}
	return nil
}

// Each calls fn for every client in order until fn returns false.
func (s *Clients) Each(fn func(*mesh.Workload) bool) {
	if len(s.skipNS) == 0 && len(s.skip) == 0 {
		for _, c := range s.list {
			if !fn(c.w) {
				return
			}
		}
		return
	}
	// The list is in workload order, so namespaces come in runs: look
	// each run's namespace up once (a shared class list holds most of a
	// large mesh's workloads, and every set over it is walked this way).
	var ns string
	skipNS := false
	for i, c := range s.list {
		if i == 0 || c.ns != ns {
			ns, skipNS = c.ns, s.skipNS[c.ns]
		}
		if skipNS || s.skip[c.w] {
			continue
		}
		if !fn(c.w) {
			return
		}
	}
}

// SmallestKeys returns the keys (Workload.Key) of the n clients with the
// smallest keys, sorted. A set over a shared list walks the list in key
// order, sorted once for every set over it, and stops after n members.
func (s *Clients) SmallestKeys(n int) []string {
	if n <= 0 {
		return nil
	}
	var out []string
	if s.sums != nil {
		s.sums.byKeyOnce.Do(func() {
			s.sums.byKey = slices.Clone(s.list)
			sort.SliceStable(s.sums.byKey, func(i, j int) bool { return s.sums.byKey[i].w.Key() < s.sums.byKey[j].w.Key() })
		})
		for _, c := range s.sums.byKey {
			if len(out) == n {
				break
			}
			if s.has(c) {
				out = append(out, c.w.Key())
			}
		}
		return out
	}
	s.Each(func(w *mesh.Workload) bool {
		out = KeepSmallest(out, w.Key(), n)
		return true
	})
	return out
}

// KeepSmallest adds k to some, the n smallest keys so far in sorted order, if
// it is among them: the n smallest of a stream without sorting it.
func KeepSmallest(some []string, k string, n int) []string {
	if len(some) == n && k >= some[n-1] {
		return some
	}
	i, _ := slices.BinarySearch(some, k)
	if len(some) < n {
		some = append(some, "")
	}
	copy(some[i+1:], some[i:])
	some[i] = k
	return some
}

// Workloads returns the clients as a new slice.
func (s *Clients) Workloads() []*mesh.Workload {
	out := make([]*mesh.Workload, 0, s.n)
	s.Each(func(w *mesh.Workload) bool { out = append(out, w); return true })
	return out
}

// Namespaces returns how many clients each namespace has.
func (s *Clients) Namespaces() map[string]int {
	out := map[string]int{}
	s.Each(func(w *mesh.Workload) bool { out[w.Namespace]++; return true })
	return out
}

// Class is the outbound class shared by the clients ("" for a gateway or for a
// group split off by identity).
func (s *Clients) Class() string { return s.class }
