// Package bench measures meshdoctor at scale: it runs a list of phases
// (generate, decode, index, and later check, trace, ...) over a generated mesh
// and reports, per phase, wall time, throughput, allocations and peak RSS.
//
// A phase is a value: adding one (say "check") is writing a Phase whose Run
// reads what earlier phases left in State and appending it to the list given to
// Run (or to Default).
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/gen"
	"github.com/meshdoctor/meshdoctor/internal/gen/genmesh"
	"github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
)

// State is what phases share: each phase reads what earlier ones produced.
type State struct {
	Config gen.Config
	Files  []gen.File
	Load   *load.Result
	Index  *mesh.Index
	Check  *check.Result
}

// Quantity is an amount of work a phase did, e.g. {40123, "docs"}.
type Quantity struct {
	N    int    `json:"n"`
	Unit string `json:"unit"`
}

// Phase is one measured step.
type Phase struct {
	Name string
	// Setup marks a phase that prepares the input (generation): it is reported
	// but left out of the total.
	Setup bool
	// Run does the work and says how much it did (for the rates).
	Run func(s *State) ([]Quantity, error)
}

// The phases of a load benchmark.
var (
	Generate = Phase{Name: "generate", Setup: true, Run: func(s *State) ([]Quantity, error) {
		s.Files = gen.Generate(s.Config)
		return []Quantity{{len(s.Files), "files"}, {gen.Documents(s.Files), "docs"}}, nil
	}}
	Decode = Phase{Name: "decode", Run: func(s *State) ([]Quantity, error) {
		s.Load = genmesh.Decode(s.Files)
		// The commands drop each file's bytes once it is decoded; so does the
		// benchmark, so that the later phases see the command's heap.
		s.Files = nil
		if len(s.Load.Errors) > 0 {
			return nil, fmt.Errorf("%d documents could not be read, first: %s", len(s.Load.Errors), s.Load.Errors[0].Error())
		}
		return []Quantity{{s.Load.Documents, "docs"}, {len(s.Load.Objects), "objects"}}, nil
	}}
	Index = Phase{Name: "index", Run: func(s *State) ([]Quantity, error) {
		if s.Load == nil {
			return nil, fmt.Errorf("index needs the decode phase first")
		}
		s.Index = BuildIndex(s.Load)
		return []Quantity{{len(s.Load.Objects), "objects"}}, nil
	}}
)

// Default is the phases `meshgen -bench` runs.
func Default() []Phase { return []Phase{Generate, Decode, Index} }

// BuildIndex builds the mesh index of a load result.
func BuildIndex(r *load.Result) *mesh.Index { return mesh.Build(r.Objects, mesh.Options{}) }

// Result is the measurement of one phase, or of the total.
type Result struct {
	Phase string        `json:"phase"`
	Setup bool          `json:"setup,omitempty"`
	Wall  time.Duration `json:"wall_ns"`
	// CPU is the process's CPU time (user+system, GC included) during the phase:
	// steadier than Wall on a shared machine, and above it when work runs in
	// parallel.
	CPU  time.Duration `json:"cpu_ns"`
	Work []Quantity    `json:"work,omitempty"`
	// AllocBytes and Allocs are what the phase allocated (runtime.MemStats
	// TotalAlloc and Mallocs deltas).
	AllocBytes uint64 `json:"alloc_bytes"`
	Allocs     uint64 `json:"allocs"`
	// HeapLive is the live heap after the phase and a GC.
	HeapLive uint64 `json:"heap_live_bytes"`
	// PeakRSS is the process's peak resident set (VmHWM) after the phase; 0
	// where /proc/self/status is not available.
	PeakRSS uint64 `json:"peak_rss_bytes"`
}

// Rate returns work per second for the unit, 0 when the phase did no such work.
func (r Result) Rate(unit string) float64 {
	for _, q := range r.Work {
		if q.Unit == unit && r.Wall > 0 {
			return float64(q.N) / r.Wall.Seconds()
		}
	}
	return 0
}

// Report is a whole run.
type Report struct {
	Config  gen.Config `json:"config"`
	Phases  []Result   `json:"phases"`
	Total   Result     `json:"total"` // the phases that are not Setup
	PeakRSS uint64     `json:"peak_rss_bytes"`
	GoVer   string     `json:"go"`
	CPUs    int        `json:"cpus"`
}

// Run runs phases in order on s. Before each phase it collects garbage, so that
// one phase's leftovers do not bill the next.
func Run(s *State, phases []Phase) (*Report, error) {
	rep := &Report{Config: s.Config, GoVer: runtime.Version(), CPUs: runtime.GOMAXPROCS(0)}
	rep.Total.Phase = "total"
	var names []string
	for _, p := range phases {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start, cpu0 := time.Now(), cpuTime()
		work, err := p.Run(s)
		wall, cpu := time.Since(start), cpuTime()-cpu0
		runtime.ReadMemStats(&after)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", p.Name, err)
		}
		runtime.GC()
		var live runtime.MemStats
		runtime.ReadMemStats(&live)
		r := Result{
			Phase: p.Name, Setup: p.Setup, Wall: wall, CPU: cpu, Work: work,
			AllocBytes: after.TotalAlloc - before.TotalAlloc,
			Allocs:     after.Mallocs - before.Mallocs,
			HeapLive:   live.HeapAlloc,
			PeakRSS:    PeakRSS(),
		}
		rep.Phases = append(rep.Phases, r)
		if !p.Setup {
			names = append(names, p.Name)
			t := &rep.Total
			t.Wall += r.Wall
			t.CPU += r.CPU
			t.AllocBytes += r.AllocBytes
			t.Allocs += r.Allocs
			t.HeapLive = r.HeapLive
			t.PeakRSS = r.PeakRSS
			t.Work = mergeWork(t.Work, r.Work)
		}
	}
	if len(names) > 0 {
		rep.Total.Phase = "total (" + strings.Join(names, "+") + ")"
	}
	rep.PeakRSS = PeakRSS()
	return rep, nil
}

// mergeWork keeps, per unit, the largest amount: the total's rates are "docs
// through decode+index per second", not the sum of the phases' counts.
func mergeWork(acc, add []Quantity) []Quantity {
next:
	for _, q := range add {
		for i := range acc {
			if acc[i].Unit == q.Unit {
				acc[i].N = max(acc[i].N, q.N)
				continue next
			}
		}
		acc = append(acc, q)
	}
	return acc
}

// PeakRSS returns the process's peak resident set size in bytes (VmHWM of
// /proc/self/status), or 0 where that file does not exist.
func PeakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return parseVmHWM(string(b))
}

func parseVmHWM(status string) uint64 {
	for _, l := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(l, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest) // "123456 kB"
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			n *= 1024
		}
		return n
	}
	return 0
}

// WriteText prints the report as an aligned table.
func WriteText(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "meshgen bench: %d services, seed %d, %s, GOMAXPROCS=%d\n\n", rep.Config.Services, rep.Config.Seed, rep.GoVer, rep.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\twall\tcpu\twork\trate\tallocated\tallocs\tlive heap\tpeak RSS\t")
	row := func(r Result) {
		var work, rate []string
		for _, q := range r.Work {
			work = append(work, fmt.Sprintf("%d %s", q.N, q.Unit))
			rate = append(rate, fmt.Sprintf("%s %s/s", human(r.Rate(q.Unit)), q.Unit))
		}
		name := r.Phase
		if r.Setup {
			name += " (setup)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, r.Wall.Round(time.Millisecond), r.CPU.Round(time.Millisecond),
			strings.Join(work, ", "), strings.Join(rate, ", "),
			bytesIEC(r.AllocBytes), human(float64(r.Allocs)), bytesIEC(r.HeapLive), bytesIEC(r.PeakRSS))
	}
	for _, r := range rep.Phases {
		row(r)
	}
	row(rep.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "\npeak RSS %s\n", bytesIEC(rep.PeakRSS)); err != nil {
		return err
	}
	if ratio, ok := CheckRatio(rep); ok {
		_, err := fmt.Fprintf(w, "check command (decode+index+check) takes %.2fx the decode-only time\n", ratio)
		return err
	}
	return nil
}

// WriteJSON prints the report as JSON.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// human writes 1234567 as "1.23M".
func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func bytesIEC(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
