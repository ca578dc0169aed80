package cmd

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/report"
)

// explainText is how explain's trace is written for a terminal.
type explainText struct {
	o     report.TextOptions
	full  bool // every rule, no runs collapsed
	lines bool // the rules came from a file: show its line numbers
}

// collapseMin is the shortest run of rules that do not match which is
// written as one line (without --full).
const collapseMin = 4

func writeExplainText(app *App, d *report.Explanation, x explainText) error {
	var b bytes.Buffer
	o := x.o
	p := d.Packet
	dst, iface := p.Dst, "on "+p.Iface
	if dst == "" {
		dst = "this host"
	}
	if p.Iface == "" {
		iface = "on any interface"
	}
	o.Paragraph(&b, fmt.Sprintf("%s/%d from %s to %s %s (%s, NEW connection)", p.Proto, p.DPort, p.Src, dst, iface, d.Family))
	if len(d.Listening) == 0 {
		o.Paragraph(&b, "listening: nothing known on this port")
	} else {
		o.Paragraph(&b, "listening: "+strings.Join(d.Listening, "; "))
	}
	packet := fmt.Sprintf("%s/%d", p.Proto, p.DPort)
	collapsed := false
	for i := 0; i < len(d.Trace); {
		// one run of steps in the same chain
		j := i
		for j < len(d.Trace) && d.Trace[j].Table == d.Trace[i].Table && d.Trace[j].Chain == d.Trace[i].Chain {
			j++
		}
		b.WriteByte('\n')
		o.Paragraph(&b, d.Trace[i].Table+" "+d.Trace[i].Chain)
		var rows [][]string
		for k := i; k < j; {
			s := d.Trace[k]
			if !x.full && s.Matched == "no" {
				m := k
				for m < j && d.Trace[m].Matched == "no" {
					m++
				}
				if m-k >= collapseMin {
					rows = append(rows, x.runRow(d.Trace[k:m], packet))
					collapsed = true
					k = m
					continue
				}
			}
			rows = append(rows, x.stepRow(s))
			k++
		}
		if err := report.WriteColumns(&b, o, nil, rows); err != nil {
			return err
		}
		i = j
	}
	if collapsed {
		o.Paragraph(&b, fmt.Sprintf("(runs of %d or more rules that do not match are one line; --full lists them)", collapseMin))
	}
	b.WriteByte('\n')
	verdict := "verdict: " + d.Verdict
	if d.Rule != "" {
		verdict += " by " + d.Rule
	}
	o.Paragraph(&b, verdict)
	if len(d.Reasons) > 0 {
		o.Paragraph(&b, "depends on: "+strings.Join(d.Reasons, ", "))
	}
	for _, e := range d.Elsewhere {
		line := fmt.Sprintf("on %s instead: %s", e.Iface, e.Verdict)
		if e.Rule != "" {
			line += " by " + e.Rule
		}
		o.Paragraph(&b, line)
	}
	sf := &report.SocketFirewall{}
	if d.Family == string(firewall.IPv4) {
		sf.IPv4 = d.Port
	} else {
		sf.IPv6 = d.Port
	}
	o.Paragraph(&b, fmt.Sprintf("%s overall (%s): %s", packet, d.Family, report.SummaryCell(sf, o)))
	_, err := report.TerminalSafe(app.Stdout).Write(b.Bytes())
	return err
}

// stepRow is one rule or policy: its number in the chain, its line in
// the file (when the rules came from one), whether it matched, and the
// rule with what the walk did next.
func (x explainText) stepRow(s report.ExplainStep) []string {
	num := "-"
	if s.Position > 0 {
		num = "#" + strconv.Itoa(s.Position)
	}
	mark := map[string]string{"yes": "match", "no": "", "maybe": "maybe"}[s.Matched]
	if _, ok := map[string]bool{"yes": true, "no": true, "maybe": true}[s.Matched]; !ok {
		mark = s.Matched
	}
	rule := s.Rule
	if s.Origin != "" {
		rule += " (" + s.Origin + ")"
	}
	if s.Matched != "no" && s.Action != "" && s.Action != "continue" {
		rule += " -> " + s.Action
	}
	row := []string{num}
	if x.lines {
		line := ""
		if s.Line > 0 {
			line = "line " + strconv.Itoa(s.Line)
		}
		row = append(row, line)
	}
	return append(row, mark, rule)
}

// runRow is a run of rules that do not match, said in one line.
func (x explainText) runRow(run []report.ExplainStep, packet string) []string {
	first, last := run[0], run[len(run)-1]
	num := "-"
	if first.Position > 0 && last.Position > 0 {
		num = "#" + strconv.Itoa(first.Position) + "-" + strconv.Itoa(last.Position)
	}
	row := []string{num}
	if x.lines {
		line := ""
		if first.Line > 0 && last.Line > 0 {
			line = "lines " + strconv.Itoa(first.Line) + "-" + strconv.Itoa(last.Line)
		}
		row = append(row, line)
	}
	dots := "..."
	if x.o.UTF8 {
		dots = "…"
	}
	return append(row, "", fmt.Sprintf("%s %s rules that do not match %s %s", dots, report.Thousands(len(run)), packet, dots))
}
