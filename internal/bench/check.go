package bench

import (
	"fmt"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks"
)

// Check runs `meshdoctor check` over the index: every check, with fixes
// verified as the CLI does (check.Options{Fixes: true, MaxFixes: 50}).
var Check = Phase{Name: "check", Run: func(s *State) ([]Quantity, error) {
	if s.Index == nil {
		return nil, fmt.Errorf("check needs the index phase first")
	}
	all := checks.All()
	if err := check.Validate(all); err != nil {
		return nil, err
	}
	s.Check = check.Run(s.Index, all, CheckOptions)
	return []Quantity{{len(s.Index.Services), "services"}, {len(s.Check.Findings), "findings"}}, nil
}}

// CheckOptions are the options of the check phase: the CLI's defaults.
var CheckOptions = check.Options{Fixes: true, MaxFixes: 50}

// WithCheck is Default followed by the check phase.
func WithCheck() []Phase { return append(Default(), Check) }

// CheckRatio is the time of the whole check command (decode, index and
// check) over the time to only decode the same YAML; ok is false when the
// report lacks one of the phases.
func CheckRatio(rep *Report) (ratio float64, ok bool) {
	var decode, index, chk *Result
	for i := range rep.Phases {
		switch rep.Phases[i].Phase {
		case Decode.Name:
			decode = &rep.Phases[i]
		case Index.Name:
			index = &rep.Phases[i]
		case Check.Name:
			chk = &rep.Phases[i]
		}
	}
	if decode == nil || index == nil || chk == nil || decode.Wall == 0 {
		return 0, false
	}
	return float64(decode.Wall+index.Wall+chk.Wall) / float64(decode.Wall), true
}
