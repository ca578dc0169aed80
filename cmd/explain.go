package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/report"
	"github.com/fwaudit/fwaudit/scan"
)

// Default packet ends when the user names none: documentation addresses
// (RFC 5737, RFC 3849) that stand for "somewhere outside". No packet is
// ever sent; they only feed the rule walk.
var (
	defaultFrom4 = netip.MustParseAddr("203.0.113.77")
	defaultFrom6 = netip.MustParseAddr("2001:db8:ffff::77")
	offlineTo4   = netip.MustParseAddr("198.51.100.1")
	offlineTo6   = netip.MustParseAddr("2001:db8:ff::1")
)

var explainFormats = []string{"text", "json"}

type explainOptions struct {
	app    *App
	in     inputOpts
	proto  string
	port   uint16
	from   string
	to     string
	iface  string
	v6     bool
	output string
	full   bool
	layout textLayout
}

func newExplainCmd(app *App, runF func(context.Context, *explainOptions) error) *cobra.Command {
	opts := &explainOptions{app: app}
	c := &cobra.Command{
		Use:   "explain PROTO/PORT",
		Short: "Show the path through the rules that decides one port",
		Long: `Walk a NEW connection to one port through the rules the way the kernel
does — raw, mangle and nat PREROUTING, then filter INPUT, into user chains
and back — printing every rule visited and ending at the rule or policy that
decides it. Then print who, overall, can reach that port.

The port need not be listening. Without --from the packet comes from an
arbitrary outside address; without --to it goes to the listener's address
or the host's first address.`,
		Example: `  sudo fwaudit explain tcp/22
  sudo fwaudit explain tcp/3306 --from 192.0.2.10
  sudo fwaudit explain udp/53 -6 --from 2001:db8::10
  fwaudit explain tcp/443 --offline --rules rules.v4 --iface eth0 -o json`,
		Args: exactArgs(1, "one PROTO/PORT argument, e.g. tcp/22"),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.proto, opts.port, err = parseProtoPort(args[0]); err != nil {
				return err
			}
			if err := checkOutput(opts.output, "output format", explainFormats); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return explainRun(c.Context(), opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.from, "from", "", "source `ADDRESS` of the packet (default: an arbitrary outside address)")
	f.StringVar(&opts.to, "to", "", "destination `ADDRESS` (default: the listener's or the host's address)")
	f.StringVar(&opts.iface, "iface", "", "input `INTERFACE` (default: the host's first non-loopback interface)")
	f.BoolVarP(&opts.v6, "ipv6", "6", false, "walk the IPv6 (ip6tables) rules")
	bindOutput(c, &opts.output, "text", explainFormats)
	f.BoolVar(&opts.full, "full", false, "list every rule visited; without it a run of rules that do not match is one line")
	opts.layout.bind(c)
	opts.in.bind(c, false)
	return c
}

// parseProtoPort reads "tcp/22", "22/tcp", "udp/dns" or "22" (tcp).
func parseProtoPort(s string) (string, uint16, error) {
	a, b, found := strings.Cut(strings.ToLower(s), "/")
	proto, port := "tcp", a
	if found {
		proto, port = a, b
		if a != "tcp" && a != "udp" {
			proto, port = b, a
		}
	}
	if proto != "tcp" && proto != "udp" {
		return "", 0, usageErrorf("bad port %q: protocol must be tcp or udp", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err == nil && n > 0 {
		return proto, uint16(n), nil
	}
	if svc, ok := scan.LookupService(port); ok {
		return proto, svc.Port, nil
	}
	return "", 0, usageErrorf("bad port %q: want PROTO/PORT like tcp/22 (port 1-65535 or a service name)", s)
}

type explainDoc struct {
	Family    string                `json:"family"`
	Packet    explainPacket         `json:"packet"`
	Verdict   string                `json:"verdict"`
	Rule      string                `json:"rule"`
	Reasons   []string              `json:"reasons"`
	Trace     []explainStep         `json:"trace"`
	Elsewhere []explainElsewhere    `json:"elsewhere,omitempty"`
	Port      *report.FamilyVerdict `json:"port"`
	Listening []string              `json:"listening"`
}

// explainElsewhere is the same packet's verdict on another interface,
// where it differs.
type explainElsewhere struct {
	Iface   string `json:"iface"`
	Verdict string `json:"verdict"`
	Rule    string `json:"rule"`
}

type explainPacket struct {
	Proto string `json:"proto"`
	Src   string `json:"src"`
	Dst   string `json:"dst"`
	DPort uint16 `json:"dport"`
	Iface string `json:"iface"`
	State string `json:"state"`
}

type explainStep struct {
	Table string `json:"table"`
	Chain string `json:"chain"`
	// Position is the rule's number in its chain, as iptables -L
	// --line-numbers shows it; 0 for a policy or the end of a chain
	Position int    `json:"position,omitempty"`
	Line     int    `json:"line"`
	Handle   int    `json:"handle,omitempty"`
	Rule     string `json:"rule"`
	Origin   string `json:"origin,omitempty"` // the rule as its manager names it ("ufw rule 4: ...")
	Matched  string `json:"matched"`
	Action   string `json:"action"`
}

func explainRun(ctx context.Context, opts *explainOptions) error {
	opts.in.socketsOptional = true
	in, err := opts.in.load(ctx, opts.app, true)
	if err != nil {
		return err
	}
	fam, ev, why, from, to := firewall.IPv4, in.fw.V4, in.fw.Err4, defaultFrom4, offlineTo4
	if opts.v6 {
		fam, ev, why, from, to = firewall.IPv6, in.fw.V6, in.fw.Err6, defaultFrom6, offlineTo6
	}
	if ev == nil {
		return fmt.Errorf("cannot explain %s/%d: %s rules unavailable: %s", opts.proto, opts.port, fam, why)
	}
	if opts.from != "" {
		if from, err = parseFamilyAddr(opts.from, "--from", fam); err != nil {
			return err
		}
	}

	// What listens on that port in this family, and where the packet goes.
	var listening []string
	bind := netip.Addr{}
	for _, l := range in.listeners {
		if l.Proto != opts.proto || l.Port != opts.port || !(string(fam) == l.Family || (fam == firewall.IPv4 && l.DualStack)) {
			continue
		}
		listening = append(listening, fmt.Sprintf("%s on %s (%s)", dash(l.Process), l.Address, l.Exposure))
		if l.Exposure == scan.ExposureSpecific && l.Address.Is4() == (fam == firewall.IPv4) {
			bind = l.Address
		}
	}
	iface := opts.iface
	switch {
	case opts.to != "":
		if to, err = parseFamilyAddr(opts.to, "--to", fam); err != nil {
			return err
		}
	case bind.IsValid():
		to = bind
	default:
		for _, a := range in.host.Addrs {
			if a.Is4() == (fam == firewall.IPv4) && !a.IsLinkLocalUnicast() {
				to = a
				break
			}
		}
	}
	if iface == "" && len(in.host.Interfaces) == 0 {
		iface = "eth0" // offline: a name for "an outside interface"
	}

	// live without --iface, the packet comes in where the route back to
	// its source leaves (the evaluator picks it)
	pkt := firewall.Packet{Proto: opts.proto, Src: from, Dst: to, SPort: 40000, DPort: opts.port, InIface: iface}
	d := ev.Decide(pkt)
	iface = d.InIface
	q := firewall.Query{Proto: opts.proto, Addr: bind, Port: opts.port}
	if !q.Addr.IsValid() {
		q.Addr = netip.IPv4Unspecified()
		if fam == firewall.IPv6 {
			q.Addr = netip.IPv6Unspecified()
		}
	}
	doc := explainDoc{
		Family:  string(fam),
		Packet:  explainPacket{Proto: opts.proto, Src: from.String(), Dst: to.String(), DPort: opts.port, Iface: iface, State: "NEW"},
		Verdict: d.Verdict, Rule: d.Rule, Reasons: nonNil(d.Reasons), Trace: []explainStep{},
		Port:      report.NewFamilyVerdict(ev.Evaluate(q)),
		Listening: nonNil(listening),
	}
	sets, rulesFile := in.fw.Sets4, opts.in.rules
	if opts.v6 {
		sets, rulesFile = in.fw.Sets6, opts.in.rules6
	}
	pos := rulePositions(sets)
	for _, s := range d.Trace {
		doc.Trace = append(doc.Trace, explainStep{
			Table: s.Table, Chain: s.Chain, Position: pos[stepKey(s.Table, s.Chain, s.Line, s.Handle, s.Rule)],
			Line: s.Line, Handle: s.Handle, Rule: s.Rule, Origin: s.Origin, Matched: s.Matched, Action: s.Action,
		})
	}
	if opts.iface == "" {
		// the same packet on the other interfaces: where it fares
		// otherwise, say so, so that this packet's verdict and the
		// overall one never seem to contradict each other
		for _, other := range ev.Interfaces() {
			if other == iface || (other == "" && len(in.host.Interfaces) > 0) {
				continue
			}
			p := pkt
			p.InIface = other
			od := ev.Decide(p)
			if od.Verdict != d.Verdict {
				name := other
				if name == "" {
					name = "(any other interface)"
				}
				doc.Elsewhere = append(doc.Elsewhere, explainElsewhere{Iface: name, Verdict: od.Verdict, Rule: od.Rule})
			}
		}
	}
	if opts.output == "json" {
		enc := json.NewEncoder(opts.app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	return writeExplainText(opts.app, &doc, explainText{
		o: opts.layout.options(opts.app), full: opts.full,
		// the rules came from a file the user has: its line numbers mean
		// something to them
		lines: rulesFile != "",
	})
}

func parseFamilyAddr(s, flag string, fam firewall.Family) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, usageErrorf("%s %q: not an IP address", flag, s)
	}
	a = a.Unmap()
	if a.Is4() != (fam == firewall.IPv4) {
		hint := ""
		if fam == firewall.IPv4 {
			hint = " (add -6 for IPv6)"
		}
		return a, usageErrorf("%s %s is not an %s address%s", flag, printableText(s), fam, hint)
	}
	return a, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
