package report

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as `report --format json`: indented, one
// document, a final newline. Empty lists are [] rather than null.
func (r *Report) WriteJSON(w io.Writer) error {
	out := *r
	if out.Checks == nil {
		out.Checks = []Check{}
	}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Sockets == nil {
		out.Sockets = []Socket{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
