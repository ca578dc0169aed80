package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// DiffSchemaVersion is the version of the `diff -o json` document.
const DiffSchemaVersion = 1

// Diff is what changed on one host between two of its reports: sockets
// whose verdict changed (or that appeared or went away), and findings new
// or resolved by identity (Finding.Key: never by line number).
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

// PortChange is a listening socket whose verdict differs: Old or New is
// "absent" when nothing listened there in that report.
type PortChange struct {
	Proto   string `json:"proto"`
	Family  string `json:"family"`
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	Service string `json:"service"`
	Old     string `json:"old"`
	New     string `json:"new"`
}

// Absent is the verdict of a socket that is not in a report.
const Absent = "absent"

type sockKey struct {
	proto, family, addr string
	port                uint16
}

// NewDiff compares two reports of one host, read from oldFile and newFile.
func NewDiff(oldFile string, old *Report, newFile string, cur *Report) *Diff {
	d := &Diff{
		SchemaVersion: DiffSchemaVersion,
		Old:           DiffSide{File: oldFile, Host: old.Host.Hostname, GeneratedAt: old.GeneratedAt},
		New:           DiffSide{File: newFile, Host: cur.Host.Hostname, GeneratedAt: cur.GeneratedAt},
		Ports:         []PortChange{},
	}
	before, svc := verdicts(old)
	after, svc2 := verdicts(cur)
	for k, s := range svc2 {
		svc[k] = s
	}
	keys := map[sockKey]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	for k := range keys {
		o, n := before[k], after[k]
		if o == "" {
			o = Absent
		}
		if n == "" {
			n = Absent
		}
		if o != n {
			d.Ports = append(d.Ports, PortChange{Proto: k.proto, Family: k.family, Address: k.addr, Port: k.port,
				Service: svc[k], Old: o, New: n})
		}
	}
	sort.Slice(d.Ports, func(i, j int) bool {
		a, b := d.Ports[i], d.Ports[j]
		switch {
		case a.Port != b.Port:
			return a.Port < b.Port
		case a.Proto != b.Proto:
			return a.Proto < b.Proto
		case a.Family != b.Family:
			return a.Family < b.Family
		}
		return a.Address < b.Address
	})
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

// verdicts maps the report's server sockets to their verdicts; sockets that
// share a key (one port held by several processes) keep the most
// permissive (rank, as Overall orders them).
func verdicts(r *Report) (map[sockKey]string, map[sockKey]string) {
	v := map[sockKey]string{}
	svc := map[sockKey]string{}
	for _, s := range r.Sockets {
		if s.Client {
			continue
		}
		k := sockKey{s.Proto, s.Family, s.Address, s.Port}
		nv := socketVerdict(s)
		if old, ok := v[k]; !ok || rank[nv] > rank[old] {
			v[k] = nv
		}
		if s.Service != "" {
			svc[k] = s.Service
		}
	}
	return v, svc
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
	fmt.Fprintf(b, "\nPORTS WHOSE VERDICT CHANGED (%d)\n", len(d.Ports))
	if len(d.Ports) == 0 {
		fmt.Fprintln(b, "none")
	} else {
		rows := [][]string{{"PORT", "FAMILY", "SERVICE", "OLD", "NEW", "ADDRESS"}}
		for _, p := range d.Ports {
			rows = append(rows, []string{fmt.Sprintf("%s/%d", p.Proto, p.Port), p.Family, orDash(p.Service), p.Old, p.New, p.Address})
		}
		writeColumns(b, rows, nil)
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
