package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meshdoctor/meshdoctor/internal/check"
	"github.com/meshdoctor/meshdoctor/internal/check/checks"
	"github.com/meshdoctor/meshdoctor/internal/report"
)

func (a *app) checksCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "checks [CODE|NAME]",
		Short: "List every check of `meshdoctor check`, or explain one",
		Long: `checks lists every check with its code, default severity, name and title; with a code
or a name it prints that check's documentation: what it finds, why it matters, an
example and the fix. docs/checks.md is generated from the same text.`,
		Example: `  meshdoctor checks
  meshdoctor checks MD0501`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json", "yaml"); err != nil {
				return err
			}
			all := checks.All()
			if len(args) == 1 {
				for _, c := range all {
					if strings.EqualFold(c.Code, args[0]) || c.Name == args[0] {
						if a.g.output != "text" {
							return writeData(a.stdout, a.g.output, checkDoc(c))
						}
						fmt.Fprint(a.stdout, report.CheckMarkdown(c))
						return nil
					}
				}
				return usageErr("unknown check %q (see `meshdoctor checks`)", args[0])
			}
			if a.g.output != "text" {
				var out []checkDocJSON
				for _, c := range all {
					out = append(out, checkDoc(c))
				}
				return writeData(a.stdout, a.g.output, out)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CODE\tSEVERITY\tNAME\tTITLE")
			for _, c := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Code, c.Severity, c.Name, c.Doc.Title)
			}
			return tw.Flush()
		},
	}
}

type checkDocJSON struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Severity string `json:"severity"`
	Title    string `json:"title"`
	What     string `json:"what"`
	Why      string `json:"why"`
	Example  string `json:"example,omitempty"`
	Fix      string `json:"fix"`
}

func checkDoc(c *check.Check) checkDocJSON {
	return checkDocJSON{Code: c.Code, Name: c.Name, Severity: c.Severity.String(), Title: c.Doc.Title,
		What: c.Doc.What, Why: c.Doc.Why, Example: c.Doc.Example, Fix: c.Doc.Fix}
}
