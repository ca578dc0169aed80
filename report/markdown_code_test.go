package report

import (
	"strings"
	"testing"
)

// codeSpanContent reads a code span as CommonMark 0.31 defines it: an
// opening run of n back-quotes, the content, a closing run of exactly n;
// one space is stripped from each end when both ends are spaces and the
// content is not all spaces. ok is false when the span does not close
// where it ends or closes early.
func codeSpanContent(span string) (string, bool) {
	n := len(span) - len(strings.TrimLeft(span, "`"))
	if n == 0 || !strings.HasSuffix(span, strings.Repeat("`", n)) || len(span) < 2*n {
		return "", false
	}
	body := span[n : len(span)-n]
	// a run of exactly n back-quotes inside would close the span early
	for i := 0; i < len(body); {
		if body[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(body) && body[j] == '`' {
			j++
		}
		if j-i == n {
			return "", false
		}
		i = j
	}
	if strings.HasSuffix(body, "`") && len(body) > 0 && !strings.HasSuffix(body, " ") {
		return "", false // the closing run would be longer than n
	}
	if len(body) >= 2 && body[0] == ' ' && body[len(body)-1] == ' ' && strings.Trim(body, " ") != "" {
		body = body[1 : len(body)-1]
	}
	return body, true
}

func TestMdCode(t *testing.T) {
	for _, in := range []string{
		`-A INPUT -m comment --comment "plain" -j ACCEPT`,
		"-m comment --comment \"use `ssh` here\" -j ACCEPT",
		"``double`` and ```triple```",
		"`starts with a back-quote",
		"ends with one`",
		" both ends spaced ",
		`back\slash | pipe *star* _under_ <tag>`,
	} {
		got := mdCode(in)
		content, ok := codeSpanContent(got)
		if !ok || content != in {
			t.Errorf("mdCode(%q) = %q, which reads back as %q (ok %v)", in, got, content, ok)
		}
	}
}
