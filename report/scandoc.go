package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// Host identifies the audited host.
type Host struct {
	Hostname string `json:"hostname"`
	// Source says where the name came from: "hostname-flag" (--hostname),
	// "kernel" (the live host's name) or "offline" (--offline without
	// --hostname: the name is the word "offline")
	Source string `json:"host_source,omitempty"`
}

// FirewallInfo says where each family's rules came from.
type FirewallInfo struct {
	IPv4 *RulesInfo `json:"ipv4"`
	IPv6 *RulesInfo `json:"ipv6"`
	Nft  *NftInfo   `json:"nft,omitempty"`
}

// NftInfo describes the nftables ruleset read: its tables (every family),
// the rules of its IP-family tables, and the tables not evaluated.
type NftInfo struct {
	Source  string   `json:"source"`
	Tables  []string `json:"tables"`
	Rules   int      `json:"rules"`
	Skipped []string `json:"skipped,omitempty"`
}

// RulesInfo describes one family's rules: their sources and rule count, or
// why they could not be read.
type RulesInfo struct {
	Source string `json:"source"`
	Rules  int    `json:"rules"`
	Error  string `json:"error,omitempty"`
}

// NewFirewallInfo summarises fw for the JSON "firewall" object.
func NewFirewallInfo(fw *firewall.Loaded) FirewallInfo {
	fi := FirewallInfo{IPv4: rulesInfo(fw.V4.Sets, fw.V4.Why), IPv6: rulesInfo(fw.V6.Sets, fw.V6.Why)}
	if fw.Nft != nil {
		fi.Nft = &NftInfo{Source: fw.Nft.Source, Tables: fw.Nft.Tables(), Rules: fw.Nft.RuleCount(), Skipped: fw.Nft.Skipped}
		if fi.Nft.Tables == nil {
			fi.Nft.Tables = []string{}
		}
	}
	return fi
}

func rulesInfo(sets []*firewall.Ruleset, why string) *RulesInfo {
	if sets == nil {
		return &RulesInfo{Source: "none", Error: why}
	}
	ri := &RulesInfo{}
	var srcs []string
	for _, rs := range sets {
		srcs = append(srcs, rs.Source)
		ri.Rules += rs.RuleCount()
	}
	ri.Source = strings.Join(srcs, "+")
	return ri
}

// ScanDoc is the `scan -o json` document.
type ScanDoc struct {
	SchemaVersion int           `json:"schema_version"`
	Host          Host          `json:"host"`
	Firewall      *FirewallInfo `json:"firewall"`
	Sockets       []Socket      `json:"sockets"`
}

// WriteJSON writes d with one socket per line: readable in a pager and
// diffable line by line, yet without the cost of indenting thousands of
// sockets (on a host with 20,000 listeners, indenting alone takes longer
// than listing the sockets).
func (d *ScanDoc) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	head, err := json.MarshalIndent(struct {
		SchemaVersion int           `json:"schema_version"`
		Host          Host          `json:"host"`
		Firewall      *FirewallInfo `json:"firewall"`
	}{d.SchemaVersion, d.Host, d.Firewall}, "", "  ")
	if err != nil {
		return err
	}
	bw.Write(head[:len(head)-2]) // up to the closing "\n}"
	bw.WriteString(",\n  \"sockets\": [")
	if err := writeSocketLines(bw, d.Sockets, true); err != nil {
		return err
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

func processCell(s Socket) string {
	cell := "-"
	if s.Published {
		cell = "(published)"
	} else if s.Process != "" || s.PID != 0 {
		cell = fmt.Sprintf("%s(%d)", s.Process, s.PID)
		if n := len(s.Processes); n > 1 {
			cell += fmt.Sprintf(" +%d", n-1)
		}
	}
	return cell + forwardsCell(s)
}

// ProcessLabel is the process column without PIDs (the report's tables):
// the name, "(published)" for a published port no host socket receives,
// and where a DNAT sends the port's traffic.
func ProcessLabel(s Socket) string {
	cell := s.Process
	if s.Published {
		cell = "(published)"
	}
	return cell + forwardsCell(s)
}

func forwardsCell(s Socket) string {
	cell := ""
	if len(s.ForwardsTo) > 0 {
		cell = " → " + s.ForwardsTo[0]
		if n := len(s.ForwardsTo); n > 1 {
			cell += fmt.Sprintf(" +%d", n-1)
		}
	}
	return cell
}

// ServiceCell is the service column of tables: the name, with "?" when
// only the port suggests it, and "(client)" for a client socket.
func ServiceCell(s Socket) string {
	name := s.Service
	if name != "" && s.ServiceBy == scan.ServiceByPort {
		name += "?"
	}
	if s.Client {
		if name == "" {
			return "(client)"
		}
		return name + " (client)"
	}
	return dash(name)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// FirewallCell is the short form of a socket's verdict for tables:
// "open", "restricted: 203.0.113.0/24", "blocked", "conditional: -m recent".
func FirewallCell(sf *SocketFirewall) string {
	if sf == nil {
		return "-"
	}
	var parts []string
	for _, fam := range []struct {
		name string
		v    *FamilyVerdict
	}{{"v4", sf.IPv4}, {"v6", sf.IPv6}} {
		if fam.v == nil {
			continue
		}
		parts = append(parts, fam.name+" "+verdictText(fam.v))
	}
	if sf.IPv4 != nil && sf.IPv6 != nil && verdictText(sf.IPv4) == verdictText(sf.IPv6) {
		return verdictText(sf.IPv4)
	}
	if len(parts) == 1 {
		return strings.TrimPrefix(strings.TrimPrefix(parts[0], "v4 "), "v6 ")
	}
	return strings.Join(parts, "; ")
}

func verdictText(v *FamilyVerdict) string {
	if each := byInterfaceText(v, joinList); each != "" {
		return v.Verdict + ": " + each
	}
	switch firewall.Verdict(v.Verdict) {
	case firewall.Open:
		text := "open"
		if ex := certainlyExcept(v); len(ex) > 0 {
			text += " except " + strings.Join(ex, ",")
		}
		return text + doubtText(v)
	case firewall.Restricted:
		what := append(v.Sources.Strings(), onIfaces(v.Interfaces)...)
		for _, d := range v.Destinations.Strings() {
			what = append(what, "to "+d)
		}
		text := "restricted: " + strings.Join(what, ",")
		if ex := certainlyExcept(v); len(ex) > 0 {
			text += " except " + strings.Join(ex, ",")
		}
		return text + doubtText(v)
	case firewall.Conditional, firewall.Unknown:
		if len(v.Reasons) > 0 {
			return v.Verdict + ": " + strings.Join(v.Reasons, ", ")
		}
	}
	return v.Verdict
}

// doubtText is what an open or restricted verdict admits only maybe, in
// full: "; conditional for 10.49.0.0/16: -m limit", or "".
func doubtText(v *FamilyVerdict) string {
	who := doubtWho(v, func(items []string, _ string) string { return strings.Join(items, ",") })
	if who == "" {
		return ""
	}
	text := "; conditional for " + who
	if len(v.Reasons) > 0 {
		text += ": " + strings.Join(v.Reasons, ", ")
	}
	return text
}

func onIfaces(ifs []string) []string {
	out := make([]string, len(ifs))
	for i, n := range ifs {
		out[i] = "on " + n
	}
	return out
}
