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
// escapeHTML (as `scan -o json` has always done). One encoder and buffer
// serve every socket: json.Marshal copied each into a fresh slice.
func writeSocketLines(bw *bufio.Writer, socks []Socket, escapeHTML bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	for i := range socks {
		buf.Reset()
		if err := enc.Encode(&socks[i]); err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	if len(socks) > 0 {
		bw.WriteString("\n  ")
	}
	return nil
}
