// Command meshgen writes a large, realistic, reproducible mesh (Kubernetes and
// Istio manifests) generated from a seed, or benchmarks meshdoctor on one.
//
//	meshgen -services 10000 -seed 1 -o DIR      one file per service under DIR/NAMESPACE/
//	meshgen -services 10000 -seed 1 -single F   one multi-document file ("-" for stdout)
//	meshgen -bench -services 10000 [-json]      generate in memory, time decode+index+check
//	meshgen -bench -no-check                    only decode and index
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/meshdoctor/meshdoctor/internal/bench"
	"github.com/meshdoctor/meshdoctor/internal/cli"
	"github.com/meshdoctor/meshdoctor/internal/gen"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("meshgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg        gen.Config
		dir        string
		single     string
		doBench    bool
		asJSON     bool
		cpuProfile string
		noCheck    bool
	)
	fs.IntVar(&cfg.Services, "services", 1000, "number of services")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed: the same seed gives the same files")
	fs.IntVar(&cfg.Namespaces, "namespaces", 0, "number of namespaces (0: services/25)")
	fs.StringVar(&dir, "o", "", "write one file per service under `DIR` (must not exist or be empty)")
	fs.StringVar(&single, "single", "", "write one multi-document `FILE` (- for stdout)")
	fs.BoolVar(&doBench, "bench", false, "generate in memory and time decoding and indexing")
	fs.BoolVar(&asJSON, "json", false, "with -bench: print the report as JSON")
	fs.BoolVar(&noCheck, "no-check", false, "with -bench: leave out the check phase")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "with -bench: write a CPU profile of the measured phases to `FILE`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: meshgen [-services N] [-seed S] (-o DIR | -single FILE | -bench)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meshgen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	modes := 0
	for _, on := range []bool{dir != "", single != "", doBench} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		fmt.Fprintln(stderr, "meshgen: give exactly one of -o DIR, -single FILE or -bench")
		return 2
	}
	if cfg.Services < 0 {
		fmt.Fprintln(stderr, "meshgen: -services must not be negative")
		return 2
	}
	if (asJSON || cpuProfile != "" || noCheck) && !doBench {
		fmt.Fprintln(stderr, "meshgen: -json, -cpuprofile and -no-check go with -bench")
		return 2
	}

	switch {
	case doBench:
		return runBench(cfg, asJSON, cpuProfile, !noCheck, stdout, stderr)
	case dir != "":
		files := gen.Generate(cfg)
		if err := gen.WriteFiles(dir, files); err != nil {
			fmt.Fprintln(stderr, "meshgen:", err)
			return 1
		}
		fmt.Fprintf(stderr, "meshgen: wrote %d files, %d documents to %s\n", len(files), gen.Documents(files), dir)
	default:
		files := gen.Generate(cfg)
		data := gen.Join(files)
		var err error
		if single == "-" {
			_, err = stdout.Write(data)
		} else {
			err = os.WriteFile(single, data, 0o644)
		}
		if err != nil {
			fmt.Fprintln(stderr, "meshgen:", err)
			return 1
		}
		if single != "-" {
			fmt.Fprintf(stderr, "meshgen: wrote %d documents to %s\n", gen.Documents(files), single)
		}
	}
	return 0
}

func runBench(cfg gen.Config, asJSON bool, cpuProfile string, withCheck bool, stdout, stderr io.Writer) int {
	phases := bench.Default()
	if withCheck {
		phases = bench.WithCheck()
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "meshgen:", err)
			return 1
		}
		defer f.Close()
		defer pprof.StopCPUProfile() // when a phase failed before the last one stopped it
		phases = profiled(phases, f, stderr)
	}
	// Measure under the memory limit meshdoctor itself runs with.
	cli.ApplyMemoryLimit()
	rep, err := bench.Run(&bench.State{Config: cfg}, phases)
	if err != nil {
		fmt.Fprintln(stderr, "meshgen:", err)
		return 1
	}
	if asJSON {
		err = bench.WriteJSON(stdout, rep)
	} else {
		err = bench.WriteText(stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(stderr, "meshgen:", err)
		return 1
	}
	return 0
}

// profiled wraps the measured (non-setup) phases so that one CPU profile covers
// them, from the start of the first to the end of the last, and not the generation.
func profiled(phases []bench.Phase, w io.Writer, stderr io.Writer) []bench.Phase {
	first, last := -1, -1
	for i, p := range phases {
		if !p.Setup {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	out := append([]bench.Phase(nil), phases...)
	if first < 0 {
		return out
	}
	start := out[first].Run
	out[first].Run = func(s *bench.State) ([]bench.Quantity, error) {
		if err := pprof.StartCPUProfile(w); err != nil {
			fmt.Fprintln(stderr, "meshgen: cpu profile:", err)
		}
		return start(s)
	}
	stop := out[last].Run // the wrapper above when first == last
	out[last].Run = func(s *bench.State) ([]bench.Quantity, error) {
		defer pprof.StopCPUProfile()
		return stop(s)
	}
	return out
}
