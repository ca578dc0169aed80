package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
)

// WriteTable writes one line per socket: PROTO ADDRESS PORT PROCESS
// SERVICE EXPOSURE, and FIREWALL when verdicts were computed. SERVICE ends
// in "?" when only the port names it, and says "(client)" for a client
// socket.
//
// Reasons (why the rules are unknown, what a conditional verdict depends
// on) are said once above the table as numbered notes, and the cells name
// them: "unknown [1]"; without root every row would otherwise repeat the
// same long error. Lists of more than three sources, excluded ranges or
// interfaces are counted rather than spelled out ("open except 236
// ranges"), with a note saying so, unless o.Wide.
func (d *ScanDoc) WriteTable(w io.Writer, o TextOptions) error {
	b := bufio.NewWriter(TerminalSafe(w))
	withFW := d.Firewall != nil
	t := &textTable{header: []string{"PROTO", "ADDRESS", "PORT", "PROCESS", "SERVICE", "EXPOSURE"}}
	if withFW {
		t.header = append(t.header, "FIREWALL")
	}
	cf := newCellFormat(o)
	for _, s := range d.Sockets {
		proto := s.Proto
		if s.Family == "ipv6" {
			proto += "6"
			if s.DualStack {
				proto += "+4"
			}
		}
		addr := s.Address
		if s.Device != "" {
			addr += "%" + s.Device
		}
		row := []string{proto, addr, fmt.Sprint(s.Port), processCell(s), ServiceCell(s), s.Exposure}
		if withFW {
			row = append(row, cf.cell(s.Firewall))
		}
		t.add(row...)
	}
	cf.writeNotes(b)
	t.write(b, o)
	return b.Flush()
}

// cellFormat writes firewall cells for one table, gathering reasons into
// numbered notes.
type cellFormat struct {
	o       TextOptions
	inline  bool // reasons stay in the cell (a cell shown alone)
	counted bool // some list was counted rather than spelled out
	notes   []string
	noteNum map[string]int
}

func newCellFormat(o TextOptions) *cellFormat {
	return &cellFormat{o: o, noteNum: map[string]int{}}
}

func (c *cellFormat) note(r string) string {
	n, ok := c.noteNum[r]
	if !ok {
		c.notes = append(c.notes, r)
		n = len(c.notes)
		c.noteNum[r] = n
	}
	return strconv.Itoa(n)
}

// writeNotes writes the notes, one paragraph each, and a blank line.
func (c *cellFormat) writeNotes(b *bufio.Writer) {
	for i, n := range c.notes {
		c.o.paragraph(b, fmt.Sprintf("[%d] %s", i+1, n))
	}
	if c.counted {
		c.o.paragraph(b, fmt.Sprintf("lists of more than %d are counted; -o json or --wide lists them", most))
	}
	if len(c.notes) > 0 || c.counted {
		b.WriteByte('\n')
	}
}

// cell is the firewall column: both families' verdicts, or one when they
// agree, as FirewallCell but summarised.
func (c *cellFormat) cell(sf *SocketFirewall) string {
	if sf == nil {
		return "-"
	}
	v4, v6 := "", ""
	if sf.IPv4 != nil {
		v4 = c.verdict(sf.IPv4)
	}
	if sf.IPv6 != nil {
		v6 = c.verdict(sf.IPv6)
	}
	switch {
	case v4 != "" && v6 != "" && v4 != v6:
		return "v4 " + v4 + "; v6 " + v6
	case v4 != "":
		return v4
	}
	return v6
}

// most is how many sources, ranges or interfaces a cell lists before it
// counts them instead.
const most = 3

func (c *cellFormat) list(items []string, what string) string {
	if c.o.Wide || len(items) <= most {
		return strings.Join(items, ",")
	}
	c.counted = true
	return Thousands(len(items)) + " " + what
}

func (c *cellFormat) verdict(v *FamilyVerdict) string {
	if each := byInterfaceText(v, c.list); each != "" {
		return v.Verdict + ": " + each
	}
	switch firewall.Verdict(v.Verdict) {
	case firewall.Open:
		text := "open"
		if ex := certainlyExcept(v); len(ex) > 0 {
			text += " except " + c.list(ex, "ranges")
		}
		return text + c.doubt(v)
	case firewall.Restricted:
		var what []string
		if v.Sources.Len() > 0 {
			what = append(what, c.list(v.Sources.Strings(), "sources"))
		}
		if len(v.Interfaces) > 0 {
			what = append(what, "on "+c.list(v.Interfaces, "interfaces"))
		}
		if v.Destinations.Len() > 0 {
			what = append(what, "to "+c.list(v.Destinations.Strings(), "addresses"))
		}
		text := "restricted: " + strings.Join(what, " ")
		if ex := certainlyExcept(v); len(ex) > 0 {
			text += " except " + c.list(ex, "ranges")
		}
		return text + c.doubt(v)
	case firewall.Conditional, firewall.Unknown:
		if len(v.Reasons) == 0 {
			break
		}
		return v.Verdict + c.reasons(v.Reasons)
	}
	return v.Verdict
}

// reasons names a verdict's reasons after its word: " [1,2]", or inline
// ": -m recent, -m limit".
func (c *cellFormat) reasons(rs []string) string {
	if len(rs) == 0 {
		return ""
	}
	if c.inline {
		return ": " + strings.Join(rs, ", ")
	}
	refs := make([]string, len(rs))
	for i, r := range rs {
		refs[i] = c.note(r)
	}
	return " [" + strings.Join(refs, ",") + "]"
}

// doubt is what an open or restricted verdict admits only maybe, after
// what it admits for sure: "; conditional for 10.49.0.0/16 [1]", or "".
func (c *cellFormat) doubt(v *FamilyVerdict) string {
	who := doubtWho(v, c.list)
	if who == "" {
		return ""
	}
	return "; conditional for " + who + c.reasons(v.Reasons)
}

// Thousands writes n with commas between groups of three digits: 19,990.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// SummaryCell is a socket's firewall verdict as the scan table shows it,
// for a cell shown alone (explain's "overall" line): reasons inline, long
// lists counted unless o.Wide ("see -o json" is then added).
func SummaryCell(sf *SocketFirewall, o TextOptions) string {
	c := newCellFormat(o)
	c.inline = true
	cell := c.cell(sf)
	if c.counted {
		cell += " (-o json lists them)"
	}
	return cell
}
