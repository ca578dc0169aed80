package cmd

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// safeStderr writes everything that goes to stderr (errors, warnings,
// hints, cobra's own messages) with each character a terminal would act on
// escaped: C0 controls other than newline and tab, DEL, C1 controls and
// bytes that are not UTF-8. Messages quote their input where they can;
// this is the net under them, for text no message shaped, such as nft's
// own error output echoing a line of the file.
type safeStderr struct{ w io.Writer }

func (s safeStderr) Write(p []byte) (int, error) {
	if !needsEscape(p) {
		return s.w.Write(p)
	}
	total := len(p)
	var b strings.Builder
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, p[0])
		case r < 0x20 && r != '\n' && r != '\t', r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.Write(p[:n])
		}
		p = p[n:]
	}
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return 0, err
	}
	return total, nil
}

func needsEscape(p []byte) bool {
	for _, c := range p {
		if c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f {
			if c < 0x80 {
				return true
			}
			// non-ASCII: look closer
			for len(p) > 0 {
				r, n := utf8.DecodeRune(p)
				if r == utf8.RuneError && n <= 1 || r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r < 0xa0 {
					return true
				}
				p = p[n:]
			}
			return false
		}
	}
	return false
}
