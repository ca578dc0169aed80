package report

import (
	"bytes"
	"testing"
)

func TestTerminalSafe(t *testing.T) {
	tests := map[string]string{
		"plain text\twith tab\n":               "plain text\twith tab\n",
		"box ┌─┐ and é":                        "box ┌─┐ and é",
		"comment \x1b[2J\x1b]0;owned\x07 here": `comment \x1b[2J\x1b]0;owned\x07 here`,
		"c1 \u009b31m csi":                     `c1 \u009b31m csi`,
		"del \x7f and bad \xff byte":           `del \x7f and bad \xff byte`,
	}
	for in, want := range tests {
		var b bytes.Buffer
		n, err := TerminalSafe(&b).Write([]byte(in))
		if err != nil || n != len(in) || b.String() != want {
			t.Errorf("%q: wrote %q (%d, %v), want %q", in, b.String(), n, err, want)
		}
	}
}
