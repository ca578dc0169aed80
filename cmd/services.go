package cmd

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/report"
	"github.com/fwaudit/fwaudit/scan"
)

var servicesFormats = []string{"table", "json"}

// servicesDoc is services -o json.
type servicesDoc struct {
	SchemaVersion int            `json:"schema_version"`
	Services      []serviceEntry `json:"services"`
}

type serviceEntry struct {
	Name        string `json:"name"`
	Port        uint16 `json:"port"`
	Proto       string `json:"proto"`
	Sensitive   bool   `json:"sensitive"`
	Cleartext   bool   `json:"cleartext"`
	Description string `json:"description"`
}

func newServicesCmd(app *App) *cobra.Command {
	var output string
	var layout textLayout
	c := &cobra.Command{
		Use:   "services",
		Short: "List the built-in service catalog",
		Long: `List the catalog fwaudit uses to name services: canonical name, port,
protocol and class. Sensitive services (databases, caches, admin interfaces)
are never opened by suggest unless --allow names them; cleartext services
are flagged in reports.`,
		Example: `  fwaudit services
  fwaudit services | grep sensitive
  fwaudit services -o json | jq -r '.services[] | select(.sensitive) | .name'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(output, "output format", servicesFormats); err != nil {
				return err
			}
			if output == "json" {
				return writeServicesJSON(app)
			}
			return writeServicesTable(app, layout.options(app))
		},
	}
	bindOutput(c, &output, "table", servicesFormats)
	layout.bind(c)
	return c
}

func writeServicesJSON(app *App) error {
	doc := servicesDoc{SchemaVersion: 1, Services: []serviceEntry{}}
	for _, s := range scan.Catalog() {
		doc.Services = append(doc.Services, serviceEntry{
			Name: s.Name, Port: s.Port, Proto: s.Proto,
			Sensitive: s.Sensitive, Cleartext: s.Cleartext, Description: s.Description,
		})
	}
	enc := json.NewEncoder(app.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func writeServicesTable(app *App, o report.TextOptions) error {
	var rows [][]string
	for _, s := range scan.Catalog() {
		var class []string
		if s.Sensitive {
			class = append(class, "sensitive")
		}
		if s.Cleartext {
			class = append(class, "cleartext")
		}
		rows = append(rows, []string{s.Name, fmt.Sprint(s.Port), s.Proto, dash(strings.Join(class, ",")), s.Description})
	}
	return report.WriteColumns(app.Stdout, o, []string{"SERVICE", "PORT", "PROTO", "CLASS", "DESCRIPTION"}, rows)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
