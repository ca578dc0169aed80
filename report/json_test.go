package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/scan"
)

// TestWriteJSONLayout: the streamed report decodes to what encoding/json
// makes of the whole Report, holds each socket on a line of its own, and
// does not escape HTML characters (a process may be named "a<b&c").
func TestWriteJSONLayout(t *testing.T) {
	odd := listener("tcp", "0.0.0.0", 8080, "a<b&c")
	tests := []struct {
		name string
		in   Inputs
	}{
		{"no sockets, no firewall", Inputs{Now: testTime, Version: "x"}},
		{"one socket", Inputs{Now: testTime, Version: "x", Listeners: []scan.Listener{odd},
			Firewall: fwFrom(t, acceptAll, acceptAll)}},
		{"three sockets", Inputs{Now: testTime, Version: "x", Firewall: fwFrom(t, acceptAll, acceptAll),
			Listeners: []scan.Listener{odd, listener("tcp", "0.0.0.0", 22, "sshd"), listener("udp", "127.0.0.1", 53, "dns")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build(tt.in)
			var got bytes.Buffer
			if err := r.WriteJSON(&got); err != nil {
				t.Fatal(err)
			}
			// the reference: the whole report through encoding/json at once
			ref := *r
			if ref.Checks == nil {
				ref.Checks = []Check{}
			}
			if ref.Findings == nil {
				ref.Findings = []Finding{}
			}
			if ref.Sockets == nil {
				ref.Sockets = []Socket{}
			}
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(ref); err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got.Bytes(), &g); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, got.String())
			}
			if err := json.Unmarshal(want.Bytes(), &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("decoded output differs from encoding/json's:\n%s\nwant\n%s", got.String(), want.String())
			}
			// everything before the sockets is laid out as encoding/json indents it
			cut := strings.Index(want.String(), ",\n  \"sockets\": [")
			if cut < 0 || !strings.HasPrefix(got.String(), want.String()[:cut]) {
				t.Errorf("head differs from encoding/json's indented form:\n%s", got.String())
			}
			lines := 0
			for _, l := range strings.Split(got.String(), "\n") {
				if strings.HasPrefix(l, "    {\"proto\":") {
					lines++
				}
			}
			if lines != len(r.Sockets) {
				t.Errorf("%d socket lines, want %d:\n%s", lines, len(r.Sockets), got.String())
			}
			if strings.Contains(got.String(), `\u003c`) || strings.Contains(got.String(), `\u0026`) {
				t.Errorf("HTML characters escaped:\n%s", got.String())
			}
			if !strings.HasSuffix(got.String(), "]\n}\n") {
				t.Errorf("no final newline after the document:\n%s", got.String())
			}
		})
	}
}
