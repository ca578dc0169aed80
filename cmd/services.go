package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/report"
	"github.com/fwaudit/fwaudit/scan"
)

func newServicesCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "services",
		Short: "List the built-in service catalog",
		Long: `List the catalog fwaudit uses to name services: canonical name, port,
protocol and class. Sensitive services (databases, caches, admin interfaces)
are never opened by suggest unless --allow names them; cleartext services
are flagged in reports.`,
		Example: `  fwaudit services
  fwaudit services | grep sensitive`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			t := report.NewPlainTable(app.Stdout)
			t.Header("SERVICE", "PORT", "PROTO", "CLASS", "DESCRIPTION")
			for _, s := range scan.Catalog() {
				var class []string
				if s.Sensitive {
					class = append(class, "sensitive")
				}
				if s.Cleartext {
					class = append(class, "cleartext")
				}
				if err := t.Append([]string{s.Name, fmt.Sprint(s.Port), s.Proto, dash(strings.Join(class, ",")), s.Description}); err != nil {
					return err
				}
			}
			return t.Render()
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
