package report

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// DiffSchemaVersion is the version of the `diff -o json` document.
// Version 2: one entry per family of a socket, with the sources added and
// removed.
const DiffSchemaVersion = 2

// Diff is what changed on one host between two of its reports: who can
// reach each listening socket, per family (the sources accepted or in
// doubt, the verdict, the interfaces), and findings new or resolved by
// identity (Finding.Key: never by line number).
type Diff struct {
	SchemaVersion int          `json:"schema_version"`
	Old           DiffSide     `json:"old"`
	New           DiffSide     `json:"new"`
	Changed       bool         `json:"changed"`
	Ports         []PortChange `json:"ports"`
	NewFindings   []Finding    `json:"new_findings"`
	Resolved      []Finding    `json:"resolved_findings"`
}

// DiffSide names one of the two reports.
type DiffSide struct {
	File        string `json:"file"`
	Host        string `json:"host"`
	GeneratedAt string `json:"generated_at"`
}

// PortChange is one family of a listening socket whose exposure differs.
// Old or New is "absent" when nothing listened there in that report.
// Change is "widened" when some address can now reach it that could not
// (or could only perhaps), "narrowed" for the reverse, "widened and
// narrowed" for both, and "changed" when only the verdict word or the
// interfaces moved. Added and Removed are the sources now certainly
// accepted that were not, and those no longer certainly accepted;
// DoubtAdded and DoubtRemoved the same for the sources in doubt.
type PortChange struct {
	Proto         string   `json:"proto"`
	Family        string   `json:"family"`
	Address       string   `json:"address"`
	Port          uint16   `json:"port"`
	Service       string   `json:"service"`
	Old           string   `json:"old"`
	New           string   `json:"new"`
	Change        string   `json:"change"`
	Added         []string `json:"added"`
	Removed       []string `json:"removed"`
	DoubtAdded    []string `json:"doubt_added"`
	DoubtRemoved  []string `json:"doubt_removed"`
	OldInterfaces []string `json:"old_interfaces"`
	NewInterfaces []string `json:"new_interfaces"`

	was, now Exposure // for the human formats
}

// Absent is the verdict of a socket that is not in a report.
const Absent = "absent"

// NewDiff compares two reports of one host, read from oldFile and newFile.
func NewDiff(oldFile string, old *Report, newFile string, cur *Report) *Diff {
	d := &Diff{
		SchemaVersion: DiffSchemaVersion,
		Old:           DiffSide{File: oldFile, Host: old.Host.Hostname, GeneratedAt: old.GeneratedAt},
		New:           DiffSide{File: newFile, Host: cur.Host.Hostname, GeneratedAt: cur.GeneratedAt},
		Ports:         ExposureChanges(old, cur),
	}
	d.NewFindings, d.Resolved = DiffFindings(old.Findings, cur.Findings)
	if d.NewFindings == nil {
		d.NewFindings = []Finding{}
	}
	if d.Resolved == nil {
		d.Resolved = []Finding{}
	}
	d.Changed = len(d.Ports)+len(d.NewFindings)+len(d.Resolved) > 0
	return d
}

// ExposureChanges compares who can reach each socket, per family, in two
// reports of one host.
func ExposureChanges(old, cur *Report) []PortChange {
	before, after := Exposures(old), Exposures(cur)
	keys := map[ExposureKey]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	out := []PortChange{}
	for k := range keys {
		o, ok1 := before[k]
		n, ok2 := after[k]
		if !ok1 {
			o = absentExposure(k)
		}
		if !ok2 {
			n = absentExposure(k)
		}
		if c, changed := compareExposure(o, n); changed {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].place().compare(out[j].place()) < 0 })
	return out
}

func absentExposure(k ExposureKey) Exposure {
	v6 := k.Family == "ipv6"
	return Exposure{Proto: k.Proto, Family: k.Family, Address: k.Address, Port: k.Port, Verdict: Absent,
		Sure: sourceSet{v6: v6}, Doubt: sourceSet{v6: v6}}
}

// compareExposure says how n differs from o, address by address: each
// source is reached certainly, perhaps, or not; widened when one rises,
// narrowed when one falls.
func compareExposure(o, n Exposure) (PortChange, bool) {
	c := PortChange{Proto: n.Proto, Family: n.Family, Address: n.Address, Port: n.Port, Service: n.Service,
		Old: o.Verdict, New: n.Verdict,
		Added: n.Sure.minus(o.Sure).prefixes(), Removed: o.Sure.minus(n.Sure).prefixes(),
		DoubtAdded: n.Doubt.minus(o.Doubt).prefixes(), DoubtRemoved: o.Doubt.minus(n.Doubt).prefixes(),
		OldInterfaces: nonNil(o.Interfaces), NewInterfaces: nonNil(n.Interfaces), was: o, now: n}
	if c.Service == "" {
		c.Service = o.Service
	}
	oAny, nAny := o.Sure.union(o.Doubt), n.Sure.union(n.Doubt)
	rose := !n.Sure.minus(o.Sure).isEmpty() || !n.Doubt.minus(oAny).isEmpty()
	fell := !o.Sure.minus(n.Sure).isEmpty() || !o.Doubt.minus(nAny).isEmpty()
	ifaces := strings.Join(c.OldInterfaces, ",") != strings.Join(c.NewInterfaces, ",")
	if ifaces && !n.Sure.isEmpty() && !o.Sure.isEmpty() {
		// no interfaces means every one
		switch {
		case len(n.Interfaces) == 0 || len(o.Interfaces) > 0 && subset(o.Interfaces, n.Interfaces):
			rose = true
		case len(o.Interfaces) == 0 || subset(n.Interfaces, o.Interfaces):
			fell = true
		default:
			rose, fell = true, true
		}
	}
	switch {
	case rose && fell:
		c.Change = "widened and narrowed"
	case rose:
		c.Change = "widened"
	case fell:
		c.Change = "narrowed"
	case o.Verdict != n.Verdict || ifaces || len(c.DoubtAdded)+len(c.DoubtRemoved) > 0:
		c.Change = "changed"
	default:
		return c, false
	}
	return c, true
}

func subset(a, b []string) bool {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	for _, s := range a {
		if !in[s] {
			return false
		}
	}
	return true
}

// WriteJSON writes the diff as `diff -o json`.
func (d *Diff) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// WriteTable writes the diff for a terminal: the ports whose verdict
// changed, then the new and the resolved findings.
func (d *Diff) WriteTable(w io.Writer) error {
	b := bufio.NewWriter(TerminalSafe(w))
	host := d.New.Host
	if host == "" {
		host = "this host"
	}
	if d.Old.Host != d.New.Host {
		host = fmt.Sprintf("%s (was %s)", orDash(d.New.Host), orDash(d.Old.Host))
	}
	fmt.Fprintf(b, "fwaudit diff for %s: %s -> %s\n", host, d.Old.GeneratedAt, d.New.GeneratedAt)
	if !d.Changed {
		fmt.Fprintln(b, "\nno change")
		return b.Flush()
	}
	fmt.Fprintf(b, "\nWHO CAN REACH WHAT: CHANGES (%d)\n", len(d.Ports))
	if len(d.Ports) == 0 {
		fmt.Fprintln(b, "none")
	} else {
		for _, p := range d.Ports {
			p.write(b, "")
		}
	}
	for _, part := range []struct {
		name string
		fs   []Finding
	}{{"NEW FINDINGS", d.NewFindings}, {"RESOLVED FINDINGS", d.Resolved}} {
		fmt.Fprintf(b, "\n%s (%d)\n", part.name, len(part.fs))
		if len(part.fs) == 0 {
			fmt.Fprintln(b, "none")
			continue
		}
		rows := [][]string{{"SEVERITY", "FINDING", "WHERE", "DETAIL"}}
		for _, f := range part.fs {
			rows = append(rows, []string{f.Severity.String(), f.ID, f.stableWhere(), f.Detail})
		}
		writeColumns(b, rows, nil)
	}
	return b.Flush()
}

// lines says who could and who can reach the socket, then which sources
// the change added or removed, one line each: "was: 10.20.0.0/16", "now:
// 0.0.0.0/1", "+ 0.0.0.0/5, 8.0.0.0/7, 10.0.0.0/12, +12 more", "+?
// 10.0.0.0/8" (now in doubt), "- everyone except 127.0.0.0/8". The JSON
// lists every prefix.
func (p PortChange) lines() []string {
	out := []string{"was: " + p.was.Who(3), "now: " + p.now.Who(3)}
	if p.was.Verdict == Absent {
		out = out[1:]
	} else if p.now.Verdict == Absent {
		out = out[:1]
	}
	// a list equal to all of was or now says nothing "was:" and "now:" do not
	for _, l := range []struct {
		mark string
		ps   []string
		news bool
	}{{"+ ", p.Added, !p.was.Sure.isEmpty()}, {"- ", p.Removed, !p.now.Sure.isEmpty()},
		{"+? ", p.DoubtAdded, !p.was.Doubt.isEmpty() || !p.was.Sure.isEmpty()},
		{"-? ", p.DoubtRemoved, !p.now.Doubt.isEmpty() || !p.now.Sure.isEmpty()}} {
		if len(l.ps) > 0 && l.news {
			out = append(out, l.mark+parseSources(p.Family == "ipv6", l.ps).describe(3))
		}
	}
	if strings.Join(p.OldInterfaces, ",") != strings.Join(p.NewInterfaces, ",") {
		out = append(out, "interfaces "+orAll(p.OldInterfaces)+" -> "+orAll(p.NewInterfaces))
	}
	return out
}

// write writes the change as a heading line and its lines indented:
//
//	tcp/5432 ipv4 0.0.0.0 postgresql: restricted -> restricted, widened
//	    was: 10.20.0.0/16
//	    now: 0.0.0.0/1
func (p PortChange) write(b *bufio.Writer, host string) {
	head := fmt.Sprintf("%s/%d %s %s", p.Proto, p.Port, p.Family, p.Address)
	if host != "" {
		head = host + " " + head
	}
	if p.Service != "" {
		head += " " + p.Service
	}
	writeWrapped(b, fmt.Sprintf("%s: %s -> %s, %s", head, p.Old, p.New, p.Change), "    ")
	for _, l := range p.lines() {
		b.WriteString("    ")
		writeWrapped(b, l, "      ")
	}
}

func orAll(ifaces []string) string {
	if len(ifaces) == 0 {
		return "all"
	}
	return strings.Join(ifaces, ",")
}

// place is where a listener is, in the order reports list listeners: by
// port, protocol, family, then address.
type place struct {
	port                   uint16
	proto, family, address string
}

func (a place) compare(b place) int {
	return cmp.Or(cmp.Compare(a.port, b.port), strings.Compare(a.proto, b.proto),
		strings.Compare(a.family, b.family), strings.Compare(a.address, b.address))
}

func (c PortChange) place() place { return place{c.Port, c.Proto, c.Family, c.Address} }
