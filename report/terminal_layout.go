package report

import (
	"bufio"
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// TextOptions says how text for a terminal is laid out: the table
// report, the scan table and explain's trace.
//
// Every line fits Width display columns (0: no limit) unless Wide is set;
// no line starts or ends with a space. Long lists are summarised (the
// JSON output lists them) unless Wide is set. A cell that still does not
// fit is wrapped, its continuation lines starting with a gutter ("│", or
// "|" when the locale is not UTF-8) so that they never start with a space.
type TextOptions struct {
	Width int  // display columns; 0: no limit
	Wide  bool // print every cell in full, on one line
	UTF8  bool // the locale shows box-drawing characters
}

// limit is the width lines must fit, 0 for none.
func (o TextOptions) limit() int {
	if o.Wide || o.Width < 0 {
		return 0
	}
	return o.Width
}

// gutter starts a continuation line.
func (o TextOptions) gutter() string {
	if o.UTF8 {
		return "│"
	}
	return "|"
}

// ellipsis ends a cell cut short.
func (o TextOptions) ellipsis() string {
	if o.UTF8 {
		return "…"
	}
	return "~"
}

// textWidth is the number of terminal columns s takes.
func textWidth(s string) int { return runewidth.StringWidth(s) }

// CleanText is s as TerminalSafe writes it, with spaces around it and
// line breaks inside it folded: a cell or a wrapped paragraph is measured
// as it will be shown.
func CleanText(s string) string {
	var b strings.Builder
	safeWriter{&b}.Write([]byte(s))
	return strings.Join(strings.Fields(strings.ReplaceAll(b.String(), "\t", " ")), " ")
}

// Wrap breaks s into lines of at most width columns: at spaces, after
// commas, and inside a word only when the word alone is wider than width.
// width <= 0 keeps s on one line.
func Wrap(s string, width int) []string {
	if width <= 0 || textWidth(s) <= width {
		return []string{s}
	}
	var lines []string
	var cur strings.Builder
	curW := 0
	flush := func() {
		lines = append(lines, strings.TrimRight(cur.String(), " "))
		cur.Reset()
		curW = 0
	}
	for i, word := range strings.Split(s, " ") {
		for j, part := range splitAfterCommas(word) {
			sep := ""
			if j == 0 && i > 0 && curW > 0 {
				sep = " "
			}
			pw := textWidth(part)
			if curW > 0 && curW+len(sep)+pw > width {
				flush()
				sep = ""
			}
			for pw > width { // a word wider than a line: cut it
				head, rest := cutWidth(part, width-curW)
				cur.WriteString(head)
				flush()
				part, pw = rest, textWidth(rest)
			}
			cur.WriteString(sep)
			cur.WriteString(part)
			curW += len(sep) + pw
		}
	}
	if curW > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

func splitAfterCommas(w string) []string {
	parts := strings.SplitAfter(w, ",")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// cutWidth splits s after at most w columns (at least one rune).
func cutWidth(s string, w int) (string, string) {
	n := 0
	for i, r := range s {
		rw := runewidth.RuneWidth(r)
		if n+rw > w && i > 0 {
			return s[:i], s[i:]
		}
		n += rw
	}
	return s, ""
}

// truncate shortens s to w columns, ending it with the ellipsis.
func (o TextOptions) truncate(s string, w int) string {
	if textWidth(s) <= w {
		return s
	}
	el := o.ellipsis()
	if w <= textWidth(el) {
		head, _ := cutWidth(s, w)
		return head
	}
	head, _ := cutWidth(s, w-textWidth(el))
	return head + el
}

// paragraph writes free text wrapped to the width; continuation lines
// start with the gutter.
func (o TextOptions) paragraph(w *bufio.Writer, text string) {
	text = CleanText(text)
	lim := o.limit()
	first := Wrap(text, lim)
	if len(first) == 1 {
		w.WriteString(first[0])
		w.WriteByte('\n')
		return
	}
	g := o.gutter() + " "
	lines := Wrap(text, max(lim-textWidth(g), 1))
	for i, l := range lines {
		if i > 0 {
			w.WriteString(g)
		}
		w.WriteString(l)
		w.WriteByte('\n')
	}
}

// Paragraph writes text wrapped as the table report wraps free text.
func (o TextOptions) Paragraph(w io.Writer, text string) error {
	b := bufio.NewWriter(w)
	o.paragraph(b, text)
	return b.Flush()
}

// textTable is plain aligned columns, as ss and ufw print them: two
// spaces between columns, no borders, no padding at either end. When a
// row does not fit the width, the last column is wrapped (continuation
// lines start with the gutter) and the others are shortened if need be.
type textTable struct {
	header []string
	rows   [][]string
}

func (t *textTable) add(cells ...string) { t.rows = append(t.rows, cells) }

// minLast is how narrow the last column may become before the other
// columns are shortened (to no less than minOther).
const (
	minLast  = 24
	minOther = 12
)

func (t *textTable) write(w *bufio.Writer, o TextOptions) {
	all := t.rows
	if t.header != nil {
		all = append([][]string{t.header}, t.rows...)
	}
	if len(all) == 0 {
		return
	}
	n := 0
	for _, r := range all {
		n = max(n, len(r))
	}
	cells := make([][]string, len(all))
	widths := make([]int, n)
	for i, r := range all {
		cells[i] = make([]string, n)
		for j := range n {
			c := "-"
			if j < len(r) {
				c = CleanText(r[j])
			}
			if c == "" && j == 0 {
				c = "-" // never a leading space
			}
			cells[i][j] = c
			widths[j] = max(widths[j], textWidth(c))
		}
	}
	const sep = 2
	lim := o.limit()
	if lim > 0 {
		others := sep * (n - 1)
		for _, cw := range widths[:n-1] {
			others += cw
		}
		last := lim - others
		// shorten the widest other columns until the last has room: first
		// only those wider than minOther, then any, down to three columns
		for _, pass := range []struct{ floor, want int }{{minOther, minLast}, {3, 8}} {
			want := min(widths[n-1], pass.want)
			for last < want {
				k := -1
				for j := range n - 1 {
					if widths[j] > pass.floor && (k < 0 || widths[j] > widths[k]) {
						k = j
					}
				}
				if k < 0 {
					break
				}
				widths[k]--
				last++
			}
		}
		widths[n-1] = max(min(widths[n-1], last), 1)
	}
	g := o.gutter()
	for _, r := range cells {
		var line strings.Builder
		offset := 0
		for j := range n - 1 {
			c := o.truncate(r[j], widths[j])
			line.WriteString(c)
			line.WriteString(strings.Repeat(" ", widths[j]-textWidth(c)+sep))
			offset += widths[j] + sep
		}
		parts := []string{r[n-1]}
		if lim > 0 {
			parts = Wrap(r[n-1], widths[n-1])
		}
		line.WriteString(parts[0])
		w.WriteString(strings.TrimRight(line.String(), " "))
		w.WriteByte('\n')
		for _, p := range parts[1:] {
			pad := max(offset-textWidth(g), 1)
			w.WriteString(g + strings.Repeat(" ", pad) + p)
			w.WriteByte('\n')
		}
	}
}

// WriteColumns writes a header and rows as plain aligned columns fitted
// to o (see TextOptions).
func WriteColumns(w io.Writer, o TextOptions, header []string, rows [][]string) error {
	b := bufio.NewWriter(TerminalSafe(w))
	(&textTable{header: header, rows: rows}).write(b, o)
	return b.Flush()
}
