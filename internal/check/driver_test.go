package check_test

import (
	"strings"
	"testing"

	"github.com/meshdoctor/meshdoctor/internal/check"
	loadpkg "github.com/meshdoctor/meshdoctor/internal/load"
	"github.com/meshdoctor/meshdoctor/internal/mesh"
	"github.com/meshdoctor/meshdoctor/internal/objects"
	"github.com/meshdoctor/meshdoctor/internal/trace"
)

func doc() check.Doc { return check.Doc{Title: "T", What: "w", Why: "y", Fix: "f"} }

// A panicking check becomes an MD0001 finding; the other checks still report.
func TestPanicBecomesFinding(t *testing.T) {
	boom := &check.Check{Code: "MD9001", Name: "boom", Severity: check.Error, Doc: doc(), Run: func(p *check.Pass) {
		var m map[string]*mesh.Workload
		_ = m["x"].Name // nil dereference
	}}
	ok := &check.Check{Code: "MD9002", Name: "ok", Severity: check.Info, Doc: doc(), Run: func(p *check.Pass) {
		p.Report(check.Finding{Object: objects.Ref{Kind: "Namespace", Name: "x"}, Message: "still here"})
	}}
	all := []*check.Check{check.InternalError, boom, ok}
	if err := check.Validate(all); err != nil {
		t.Fatal(err)
	}
	r := check.Run(mesh.Build(nil, mesh.Options{}), all, check.Options{})
	var codes []string
	for _, f := range r.Findings {
		codes = append(codes, f.Code)
		if f.Code == "MD0001" && !strings.Contains(f.Message, "check MD9001 (boom) panicked") {
			t.Errorf("message %q", f.Message)
		}
	}
	if strings.Join(codes, ",") != "MD0001,MD9002" && strings.Join(codes, ",") != "MD9002,MD0001" {
		t.Errorf("codes %v, want the panic and the other check's finding", codes)
	}
	if r.Max() != check.Error {
		t.Errorf("max %v", r.Max())
	}
}

func TestValidate(t *testing.T) {
	run := func(*check.Pass) {}
	for name, list := range map[string][]*check.Check{
		"bad code":    {{Code: "X1", Name: "a", Severity: check.Info, Doc: doc(), Run: run}},
		"bad name":    {{Code: "MD9001", Name: "A_b", Severity: check.Info, Doc: doc(), Run: run}},
		"unsorted":    {{Code: "MD9002", Name: "a", Severity: check.Info, Doc: doc(), Run: run}, {Code: "MD9001", Name: "b", Severity: check.Info, Doc: doc(), Run: run}},
		"no doc":      {{Code: "MD9001", Name: "a", Severity: check.Info, Run: run}},
		"period":      {{Code: "MD9001", Name: "a", Severity: check.Info, Doc: check.Doc{Title: "T.", What: "w", Why: "y", Fix: "f"}, Run: run}},
		"no severity": {{Code: "MD9001", Name: "a", Doc: doc(), Run: run}},
	} {
		if check.Validate(list) == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}

func TestParseIgnore(t *testing.T) {
	all := []*check.Check{{Code: "MD9001", Name: "a", Severity: check.Info, Doc: doc()}}
	if _, err := check.ParseIgnore("MD1234", all); err == nil {
		t.Error("an unknown code was accepted")
	}
	if _, err := check.ParseIgnore("MD9001=DestinationRule shop/*", all); err != nil {
		t.Fatal(err)
	}
	for _, sev := range []string{"error", "Warning", "INFO"} {
		if _, err := check.ParseSeverity(sev); err != nil {
			t.Error(err)
		}
	}
	if _, err := check.ParseSeverity("fatal"); err == nil {
		t.Error("fatal accepted")
	}
}

// A proposer that finds no candidate does not use up Options.MaxFixes: the
// one fix the budget allows goes to the finding that has one.
func TestEmptyProposerTakesNoFixBudget(t *testing.T) {
	res := load(t, `
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
`)
	x := mesh.Build(res, mesh.Options{})
	c := &check.Check{Code: "MD9001", Name: "ns", Severity: check.Error, Doc: doc(), Run: func(p *check.Pass) {
		for _, ns := range []string{"a", "b"} {
			n := p.X.Namespace(ns)
			if n == nil || n.Obj == nil {
				continue
			}
			o := n.Obj
			f := p.Reportf(o, "metadata.name", "namespace %s", ns)
			if ns == "a" {
				f.ProposeFunc(func() []check.Candidate { return nil }) // finds nothing
				continue
			}
			f.Propose(check.Candidate{Summary: "delete b", Changes: []trace.Change{check.Delete(o)}})
		}
	}}
	r := check.Run(x, []*check.Check{c}, check.Options{Fixes: true, MaxFixes: 1})
	for _, f := range r.Findings {
		if strings.HasSuffix(f.Message, " b") && len(f.Fixes) != 1 {
			t.Errorf("b: fixes %+v, want its fix (the empty proposer of a must not take the budget)", f.Fixes)
		}
	}
	if r.FixesSkipped != 0 {
		t.Errorf("skipped %d", r.FixesSkipped)
	}
}

func load(t *testing.T, data string) []*objects.Object {
	t.Helper()
	var r loadpkg.Result
	loadpkg.Decode("t.yaml", []byte(data), &r)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	return r.Objects
}

// Without findings, Result.Findings is nil (JSON null), as it always was.
func TestNoFindingsIsNil(t *testing.T) {
	quiet := &check.Check{Code: "MD9001", Name: "quiet", Severity: check.Info, Doc: doc(), Run: func(*check.Pass) {}}
	if r := check.Run(mesh.Build(nil, mesh.Options{}), []*check.Check{quiet}, check.Options{}); r.Findings != nil {
		t.Errorf("findings %#v, want nil", r.Findings)
	}
}
