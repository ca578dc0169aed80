package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// WriteJSON writes the report as `report --format json`: one document, a
// final newline, empty lists as [] rather than null. Everything but the
// sockets is indented; each socket is one compact object on a line of its
// own, as in `scan -o json`. Indenting 20,000 sockets took longer than
// listing them and tripled the output. The document is streamed: no copy
// of the whole output is held in memory.
func (r *Report) WriteJSON(w io.Writer) error {
	checks, findings := r.Checks, r.Findings
	if checks == nil {
		checks = []Check{}
	}
	if findings == nil {
		findings = []Finding{}
	}
	var head bytes.Buffer
	enc := json.NewEncoder(&head)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	// the fields of Report in their order, up to the sockets
	err := enc.Encode(struct {
		SchemaVersion int           `json:"schema_version"`
		Tool          Tool          `json:"tool"`
		GeneratedAt   string        `json:"generated_at"`
		Host          Host          `json:"host"`
		Firewall      *FirewallInfo `json:"firewall"`
		Summary       Summary       `json:"summary"`
		Checks        []Check       `json:"checks"`
		Findings      []Finding     `json:"findings"`
	}{r.SchemaVersion, r.Tool, r.GeneratedAt, Host(r.Host), r.Firewall, r.Summary, checks, findings})
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(bytes.TrimSuffix(head.Bytes(), []byte("\n}\n")))
	bw.WriteString(",\n  \"sockets\": [")
	if err := writeSocketLines(bw, r.Sockets, false); err != nil {
		return err
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// writeSocketLines writes the elements of a "sockets" array at indent
// level one, one compact object per line, and the indent of the closing
// bracket when there is any element. HTML characters are escaped only with
// escapeHTML (as `scan -o json` has always done). One buffer serves every
// socket (appendSocketJSON), written out as it passes 64 KiB within a
// long list of prefixes (jsonOut).
func writeSocketLines(bw *bufio.Writer, socks []Socket, escapeHTML bool) error {
	o := jsonOut{b: make([]byte, 0, 1024), w: bw}
	for i := range socks {
		o.b = o.b[:0]
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = append(o.b, "\n    "...)
		o.socket(&socks[i], escapeHTML)
		if _, err := bw.Write(o.b); err != nil {
			return err
		}
	}
	if len(socks) > 0 {
		bw.WriteString("\n  ")
	}
	return nil
}
