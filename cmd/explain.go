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

// Default packet sources when the user names none: documentation
// addresses (RFC 5737, RFC 3849) that stand for "somewhere outside". No
// packet is ever sent; they only feed the rule walk.
var (
	defaultFrom4 = netip.MustParseAddr("203.0.113.77")
	defaultFrom6 = netip.MustParseAddr("2001:db8:ffff::77")
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

The port need not be listening. The family is -6's, else that of --from or
--to, else the listeners': a dual-stack socket is walked in IPv4 and then
in IPv6. Without --from the packet comes from an arbitrary outside
address; without --to it goes to the listener's address or the host's
first address ("this host" offline, where none is known). Without --iface
it arrives where the route back to its source leaves, or offline on any
interface the rules do not name; an --iface the host does not have is an
error.`,
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
	// OtherFamily: the same port walked in the other family, when its
	// listeners receive both (a dual-stack socket)
	OtherFamily *explainDoc `json:"other_family,omitempty"`
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
	fams, err := explainFamilies(opts, in)
	if err != nil {
		return err
	}
	if err := checkIface(opts, in); err != nil {
		return err
	}
	var docs []*explainDoc
	for i, fam := range fams {
		ev, why := in.fw.V4, in.fw.Err4
		if fam == firewall.IPv6 {
			ev, why = in.fw.V6, in.fw.Err6
		}
		if ev == nil {
			if i == 0 {
				return fmt.Errorf("cannot explain %s/%d: %s rules unavailable: %s", opts.proto, opts.port, fam, why)
			}
			opts.app.warnf("%s/%d also listens for %s, whose rules are unavailable: %s", opts.proto, opts.port, fam, why)
			continue
		}
		d, err := explainFamily(opts, in, fam, ev)
		if err != nil {
			return err
		}
		docs = append(docs, d)
	}
	if opts.output == "json" {
		doc := docs[0]
		if len(docs) > 1 {
			doc.OtherFamily = docs[1]
		}
		enc := json.NewEncoder(opts.app.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	for i, d := range docs {
		if i > 0 {
			fmt.Fprintln(report.TerminalSafe(opts.app.Stdout))
		}
		err := writeExplainText(opts.app, d, explainText{
			o: opts.layout.options(opts.app), full: opts.full,
			// the rules came from a file the user has: its line numbers
			// mean something to them
			lines: (d.Family == string(firewall.IPv4) && opts.in.rules != "") || (d.Family == string(firewall.IPv6) && opts.in.rules6 != ""),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// explainFamilies is the families to walk: -6, else the family of --from
// or --to, else those the port's listeners receive (both for a
// dual-stack socket), else IPv4.
func explainFamilies(opts *explainOptions, in *inputs) ([]firewall.Family, error) {
	var named []firewall.Family
	for _, a := range []struct{ flag, val string }{{"--from", opts.from}, {"--to", opts.to}} {
		if a.val == "" {
			continue
		}
		ip, err := netip.ParseAddr(a.val)
		if err != nil {
			return nil, usageErrorf("%s %q: not an IP address", a.flag, printableText(a.val))
		}
		fam := firewall.IPv4
		if !ip.Unmap().Is4() {
			fam = firewall.IPv6
		}
		if opts.v6 && fam == firewall.IPv4 {
			return nil, usageErrorf("%s %s is not an ipv6 address (-6 walks the IPv6 rules)", a.flag, printableText(a.val))
		}
		if len(named) > 0 && named[0] != fam {
			return nil, usageErrorf("--from %s and --to %s are of different families", printableText(opts.from), printableText(opts.to))
		}
		named = append(named, fam)
	}
	switch {
	case opts.v6:
		return []firewall.Family{firewall.IPv6}, nil
	case len(named) > 0:
		return named[:1], nil
	}
	v4, v6 := false, false
	for _, l := range in.listeners {
		if l.Proto != opts.proto || l.Port != opts.port || l.Client {
			continue
		}
		v4 = v4 || l.Family == "ipv4" || l.DualStack
		v6 = v6 || l.Family == "ipv6"
	}
	switch {
	case v4 && v6:
		return []firewall.Family{firewall.IPv4, firewall.IPv6}, nil
	case v6:
		return []firewall.Family{firewall.IPv6}, nil
	}
	return []firewall.Family{firewall.IPv4}, nil
}

// checkIface refuses an --iface the host does not have; offline, where
// the host's interfaces are not known, it warns when the rules name
// interfaces but not this one (the packet is then as on any other).
func checkIface(opts *explainOptions, in *inputs) error {
	if opts.iface == "" || opts.iface == "lo" {
		return nil // every host has lo (Host.Interfaces lists the others)
	}
	if len(in.host.Interfaces) > 0 {
		for _, i := range in.host.Interfaces {
			if i == opts.iface {
				return nil
			}
		}
		return usageErrorf("--iface %s: this host has no such interface (it has %s)", printableText(opts.iface), strings.Join(in.host.Interfaces, ", "))
	}
	named := false
	for _, ev := range []*firewall.Evaluator{in.fw.V4, in.fw.V6} {
		if ev == nil {
			continue
		}
		for _, i := range ev.Interfaces() {
			if i == opts.iface {
				return nil
			}
			named = named || i != ""
		}
	}
	if !named {
		return nil // no rule names an interface: every one fares alike
	}
	opts.app.warnf("--iface %s: the rules name no such interface, so the packet fares as on any interface they do not name", printableText(opts.iface))
	return nil
}

// outsideIface is the name the evaluator gives a packet from "any
// outside interface" when the host's interfaces are not known.
func outsideIface(name string) bool { return strings.HasPrefix(name, "\x00") }

// explainFamily walks the packet through one family's rules.
func explainFamily(opts *explainOptions, in *inputs, fam firewall.Family, ev *firewall.Evaluator) (*explainDoc, error) {
	from := defaultFrom4
	if fam == firewall.IPv6 {
		from = defaultFrom6
	}
	var err error
	if opts.from != "" {
		if from, err = parseFamilyAddr(opts.from, "--from", fam); err != nil {
			return nil, err
		}
	}

	// What listens on that port in this family, and where the packet goes.
	var listening []string
	var here []scan.Listener
	bind := netip.Addr{}
	for _, l := range in.listeners {
		if l.Proto != opts.proto || l.Port != opts.port || !(string(fam) == l.Family || (fam == firewall.IPv4 && l.DualStack)) {
			continue
		}
		here = append(here, l)
		listening = append(listening, fmt.Sprintf("%s on %s (%s)", dash(l.Process), l.Address, l.Exposure))
		if l.Exposure == scan.ExposureSpecific && l.Address.Is4() == (fam == firewall.IPv4) {
			bind = l.Address
		}
	}
	to := netip.Addr{} // unknown: the evaluator takes one of the host's
	switch {
	case opts.to != "":
		if to, err = parseFamilyAddr(opts.to, "--to", fam); err != nil {
			return nil, err
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

	// without --iface, the packet comes in where the route back to its
	// source leaves (the evaluator picks it), or offline on any outside
	// interface
	pkt := firewall.Packet{Proto: opts.proto, Src: from, Dst: to, SPort: 40000, DPort: opts.port, InIface: opts.iface}
	d := ev.Decide(pkt)
	iface := d.InIface
	if outsideIface(iface) {
		iface = ""
	}
	dst := ""
	if to.IsValid() {
		dst = to.String()
	}
	doc := &explainDoc{
		Family:  string(fam),
		Packet:  explainPacket{Proto: opts.proto, Src: from.String(), Dst: dst, DPort: opts.port, Iface: iface, State: "NEW"},
		Verdict: d.Verdict, Rule: d.Rule.String(), Reasons: nonNil(d.Reasons), Trace: []explainStep{},
		Port:      portVerdict(opts, in, fam, ev, here, bind),
		Listening: nonNil(listening),
	}
	sets := in.fw.Sets4
	if fam == firewall.IPv6 {
		sets = in.fw.Sets6
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
				doc.Elsewhere = append(doc.Elsewhere, explainElsewhere{Iface: name, Verdict: od.Verdict, Rule: od.Rule.String()})
			}
		}
	}
	return doc, nil
}

// portVerdict is who can reach the port in this family, as scan and
// report judge it: the listeners' verdict (a loopback-bound one is
// not-applicable), the most permissive when several listen; a port
// nothing listens on is judged as if something listened on every address.
func portVerdict(opts *explainOptions, in *inputs, fam firewall.Family, ev *firewall.Evaluator, here []scan.Listener, bind netip.Addr) *report.FamilyVerdict {
	var best *report.FamilyVerdict
	for _, s := range report.Sockets(here, in.fw) {
		fv := s.Firewall.IPv4
		if fam == firewall.IPv6 {
			fv = s.Firewall.IPv6
		}
		if fv != nil && (best == nil || report.Overall(best, fv) != firewall.Verdict(best.Verdict)) {
			best = fv
		}
	}
	if best != nil {
		return best
	}
	q := firewall.Query{Proto: opts.proto, Addr: bind, Port: opts.port}
	if !q.Addr.IsValid() {
		q.Addr = netip.IPv4Unspecified()
		if fam == firewall.IPv6 {
			q.Addr = netip.IPv6Unspecified()
		}
	}
	return report.NewFamilyVerdict(ev.Evaluate(q))
}

func parseFamilyAddr(s, flag string, fam firewall.Family) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, usageErrorf("%s %q: not an IP address", flag, s)
	}
	a = a.Unmap()
	if a.Is4() != (fam == firewall.IPv4) {
		return a, usageErrorf("%s %s is not an %s address", flag, printableText(s), fam)
	}
	return a, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
