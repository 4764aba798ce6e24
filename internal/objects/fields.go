package objects

import (
	"cmp"
	"iter"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// Fields records the 1-based line of each field path of an object (see Path).
// It is immutable once built and small: a field costs 8 bytes, and each
// distinct path string is kept once per process however many objects have it
// (a 10,000-service mesh has a few thousand distinct paths over 1.5 million
// fields). The zero value has no fields.
type Fields struct {
	e []uint64 // pathID<<32 | line, sorted by pathID, one entry per path
}

// FieldsOf builds Fields from a map of path to line.
func FieldsOf(m map[string]int) Fields {
	var b FieldsBuilder
	for p, l := range m {
		b.Set(p, l)
	}
	return b.Fields()
}

// Lookup returns the line recorded for path itself.
func (f Fields) Lookup(path string) (line int, ok bool) {
	if len(f.e) == 0 {
		return 0, false
	}
	id, ok := paths.lookup(path)
	if !ok {
		return 0, false
	}
	return f.find(id)
}

func (f Fields) find(id uint32) (int, bool) {
	lo, hi := 0, len(f.e)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uint32(f.e[m]>>32) < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(f.e) && uint32(f.e[lo]>>32) == id {
		return int(uint32(f.e[lo])), true
	}
	return 0, false
}

// Nearest returns the line of path, or of its nearest ancestor that has one.
func (f Fields) Nearest(path string) (line int, ok bool) {
	for p := path; p != ""; p = Parent(p) {
		if l, ok := f.Lookup(p); ok {
			return l, true
		}
	}
	return 0, false
}

// Len is the number of recorded paths.
func (f Fields) Len() int { return len(f.e) }

// All yields every path and its line, in path order.
func (f Fields) All() iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		m := f.Map()
		for _, p := range SortedKeys(m) {
			if !yield(p, m[p]) {
				return
			}
		}
	}
}

// Map returns the fields as a new map of path to line.
func (f Fields) Map() map[string]int {
	m := make(map[string]int, len(f.e))
	paths.mu.Lock()
	defer paths.mu.Unlock()
	for _, e := range f.e {
		m[paths.strs[e>>32]] = int(uint32(e))
	}
	return m
}

// String formats the fields as a map, for test messages.
func (f Fields) String() string {
	m := f.Map()
	s := "map["
	for i, p := range SortedKeys(m) {
		if i > 0 {
			s += " "
		}
		s += p + ":" + strconv.Itoa(m[p])
	}
	return s + "]"
}

// FieldsBuilder collects the fields of one object. Setting a path twice keeps
// the last line, as a map would.
type FieldsBuilder struct {
	e []uint64
}

// Set records the line of path.
func (b *FieldsBuilder) Set(path string, line int) {
	b.e = append(b.e, uint64(paths.intern(path))<<32|uint64(clampLine(line)))
}

// SetBytes records the line of path; it allocates only for a path never seen
// before in this process.
func (b *FieldsBuilder) SetBytes(path []byte, line int) {
	b.e = append(b.e, uint64(paths.internBytes(path))<<32|uint64(clampLine(line)))
}

// Lookup returns the line last recorded for path.
func (b *FieldsBuilder) Lookup(path string) (int, bool) {
	id, ok := paths.lookup(path)
	if !ok {
		return 0, false
	}
	for i := len(b.e) - 1; i >= 0; i-- {
		if uint32(b.e[i]>>32) == id {
			return int(uint32(b.e[i])), true
		}
	}
	return 0, false
}

// Len is the number of paths recorded so far (a path set twice counts twice).
func (b *FieldsBuilder) Len() int { return len(b.e) }

// Fields returns what was recorded, in an array of its own, and empties b.
func (b *FieldsBuilder) Fields() Fields {
	if len(b.e) == 0 {
		return Fields{}
	}
	e := make([]uint64, len(b.e))
	copy(e, b.e)
	b.e = b.e[:0]
	// Stable by path, so that of the entries of one path the last set stays last.
	slices.SortStableFunc(e, func(x, y uint64) int { return cmp.Compare(x>>32, y>>32) })
	out := e[:0]
	for i, x := range e {
		if i+1 < len(e) && e[i+1]>>32 == x>>32 {
			continue
		}
		out = append(out, x)
	}
	return Fields{e: slices.Clip(out)}
}

func clampLine(l int) uint32 {
	switch {
	case l < 0:
		return 0
	case l > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(l)
}

// paths interns field paths for the whole process. Lookups read an immutable
// snapshot without locking; a path missing from it is looked up, and added,
// under the lock, and the snapshot is replaced once the misses since the last
// replacement add up to the number of paths (as sync.Map does), so the cost
// stays linear in the number of distinct paths.
var paths = newPathTable()

type pathTable struct {
	read   atomic.Pointer[map[string]uint32]
	mu     sync.Mutex
	all    map[string]uint32 // every path, under mu
	strs   []string          // by ID, under mu
	misses int
}

func newPathTable() *pathTable {
	t := &pathTable{all: map[string]uint32{}}
	empty := map[string]uint32{}
	t.read.Store(&empty)
	return t
}

func (t *pathTable) lookup(path string) (uint32, bool) {
	if id, ok := (*t.read.Load())[path]; ok {
		return id, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := t.all[path]
	if ok {
		t.missed() // the next snapshot will have it
	}
	return id, ok
}

func (t *pathTable) intern(path string) uint32 {
	if id, ok := (*t.read.Load())[path]; ok {
		return id
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.add(path)
}

func (t *pathTable) internBytes(path []byte) uint32 {
	if id, ok := (*t.read.Load())[string(path)]; ok {
		return id
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.all[string(path)]; ok {
		t.missed()
		return id
	}
	return t.add(string(path))
}

// add interns path; t.mu is held.
func (t *pathTable) add(path string) uint32 {
	id, ok := t.all[path]
	if !ok {
		id = uint32(len(t.strs))
		t.all[path] = id
		t.strs = append(t.strs, path)
	}
	t.missed()
	return id
}

// missed counts a lookup the snapshot could not answer; t.mu is held.
func (t *pathTable) missed() {
	t.misses++
	if t.misses >= len(t.all) {
		snap := maps.Clone(t.all)
		t.read.Store(&snap)
		t.misses = 0
	}
}
