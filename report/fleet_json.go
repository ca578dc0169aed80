package report

import (
	_ "embed"
	"encoding/json"
	"io"
)

// FleetSchema is the JSON Schema (draft 2020-12) of the `fleet -o json`
// document.
//
//go:embed fleet.schema.json
var FleetSchema []byte

// WriteJSON writes the fleet as `fleet -o json`: indented, one document, a
// final newline, lists as [] rather than null.
func (fl *Fleet) WriteJSON(w io.Writer) error {
	out := *fl
	out.Hosts = append([]FleetHost{}, fl.Hosts...)
	for i := range out.Hosts {
		h := &out.Hosts[i]
		if h.Summary.Incomplete == nil {
			h.Summary.Incomplete = []string{}
		}
		if h.ChecksFailed == nil {
			h.ChecksFailed = []string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
