package matrix

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/meshdoctor/meshdoctor/internal/trace"
)

// Symbol is the one-letter mark of a cell in the text table.
func Symbol(result, security string) string {
	switch result {
	case trace.ResultOK:
		switch security {
		case "mtls":
			return "M"
		case "tls":
			return "T"
		}
		return "P"
	case trace.ResultDenied:
		return "D"
	}
	return "X"
}

// maxListed bounds the decisions listed per cause in the text output.
const maxListed = 20

// WriteText renders m for a terminal: the summary, the table grouped by
// namespace, then the failing paths grouped by cause.
func WriteText(w io.Writer, m *Matrix) error {
	s := m.Summary
	unit := "service ports"
	if m.Aggregated {
		hosts := 0
		for _, t := range m.Targets {
			if t.Namespace == "" {
				hosts++
			}
		}
		unit = "service namespaces"
		if hosts > 0 {
			unit = fmt.Sprintf("columns (%d service namespaces, %d hosts of routes that reach no Service)", len(m.Targets)-hosts, hosts)
		}
	}
	fmt.Fprintf(w, "%d paths from %d clients to %d %s: %d ok (%d mtls, %d tls, %d plaintext), %d fail, %d denied\n",
		s.Paths, s.Clients, s.Targets, unit, s.OK, s.MTLS, s.TLS, s.Plaintext, s.Fail, s.Denied)
	if len(m.Cells) == 0 {
		fmt.Fprintln(w, "no paths match")
		return nil
	}
	fmt.Fprintln(w)
	// tabwriter pads empty trailing cells; a terminal does not need them.
	var buf bytes.Buffer
	if m.Aggregated {
		writeAggregated(&buf, m)
	} else {
		writeTable(&buf, m)
	}
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if l != "" {
			io.WriteString(w, strings.TrimRight(l, " \n")+"\n")
		}
	}
	writeFailing(w, m)
	return nil
}

func writeTable(w io.Writer, m *Matrix) {
	col := map[string]int{}
	for i, t := range m.Targets {
		col[t.ID] = i
	}
	cells := map[string][]string{}
	for _, c := range m.Cells {
		row := cells[c.Client]
		if row == nil {
			row = make([]string, len(m.Targets))
			for i := range row {
				row[i] = "."
			}
			cells[c.Client] = row
		}
		row[col[c.Target]] = Symbol(c.Result, c.Security)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// The header numbers the columns; the legend below names them.
	var nums []string
	for i := range m.Targets {
		nums = append(nums, fmt.Sprintf("%-2d", i+1))
	}
	fmt.Fprintf(tw, "CLIENT\tPROXY\t%s\n", strings.Join(nums, " "))
	ns := "\x00"
	for _, c := range m.Clients {
		if c.Kind != KindExternal && c.Namespace != ns {
			ns = c.Namespace
			fmt.Fprintf(tw, "%s\t\t\n", ns)
		}
		name, proxy := "  "+c.Name, c.Proxy
		if c.Kind == KindExternal {
			name, proxy = c.ID, "-"
		}
		row := cells[c.ID]
		marks := make([]string, len(row))
		for i, s := range row {
			marks[i] = s + " "
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, proxy, strings.TrimRight(strings.Join(marks, " "), " "))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nM ok over mTLS, T ok over TLS, P ok in plaintext, X fails, D denied, . no path")
	fmt.Fprintln(w, "\ncolumns:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, t := range m.Targets {
		detail := t.PortName
		if t.Service == "" {
			detail = "route reaches no Service"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", i+1, t.ID, detail)
	}
	tw.Flush()
}

func writeAggregated(w io.Writer, m *Matrix) {
	type row struct {
		Counts
		failing []Cell
	}
	rows := map[string]*row{}
	for _, c := range m.Cells {
		r := rows[c.Client]
		if r == nil {
			r = &row{}
			rows[c.Client] = r
		}
		r.Paths += c.Counts.Paths
		r.OK += c.Counts.OK
		r.Fail += c.Counts.Fail
		r.Denied += c.Counts.Denied
		r.MTLS += c.Counts.MTLS
		r.Plaintext += c.Counts.Plaintext
		r.TLS += c.Counts.TLS
		if c.Result != trace.ResultOK {
			r.failing = append(r.failing, c)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM NAMESPACE\tTO NAMESPACE\tPATHS\tOK\tMTLS\tPLAINTEXT\tFAIL\tDENIED\t")
	for _, c := range m.Clients {
		r := rows[c.ID]
		if r == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", c.ID, "(all)", r.Paths, r.OK, r.MTLS, r.Plaintext, r.Fail, r.Denied)
		for _, f := range r.failing {
			fmt.Fprintf(tw, "\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", f.Target, f.Counts.Paths, f.Counts.OK, f.Counts.MTLS, f.Counts.Plaintext, f.Counts.Fail, f.Counts.Denied)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\n(all) totals a client namespace; the lines below it are the namespaces it has failing or denied paths to")
}

// writeFailing lists the failing decisions grouped by cause.
func writeFailing(w io.Writer, m *Matrix) {
	failing := m.Failing()
	if len(failing) == 0 {
		return
	}
	byCause := map[string][]Path{}
	var causes []string
	for _, p := range failing {
		if byCause[p.Cause] == nil {
			causes = append(causes, p.Cause)
		}
		byCause[p.Cause] = append(byCause[p.Cause], p)
	}
	slices.SortFunc(causes, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(byCause[b]), len(byCause[a])), strings.Compare(a, b))
	})
	fmt.Fprintf(w, "\nfailing or denied (%d decisions, each traced once for the first client of its class):\n", len(failing))
	for _, cause := range causes {
		ps := byCause[cause]
		fmt.Fprintf(w, "  %s (%d)\n", cause, len(ps))
		for i, p := range ps {
			if i == maxListed {
				fmt.Fprintf(w, "    ... %d more (-o json lists them all)\n", len(ps)-maxListed)
				break
			}
			from := p.From
			if p.Gateway != "" {
				from = "external via " + p.Gateway
			} else if p.Clients > 1 {
				from = fmt.Sprintf("%s and %d more", p.From, p.Clients-1)
			}
			to := cmp.Or(p.Service, p.Target)
			if p.Gateway != "" {
				to = cmp.Or(p.Method, "GET") + " " + p.URL + " (" + to + ")"
			}
			fmt.Fprintf(w, "    %s -> %s\n", from, to)
		}
	}
	fmt.Fprintln(w, "\nmeshdoctor trace FROM TO shows one of them hop by hop, with verified fixes")
}
