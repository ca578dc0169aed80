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

func explainRun(ctx context.Context, opts *explainOptions) error {
	opts.in.socketsOptional = true
	in, err := opts.in.load(ctx, opts.app, true)
	if err != nil {
		return err
	}
	q, err := opts.query()
	if err != nil {
		return err
	}
	if err := checkIface(opts, in); err != nil {
		return err
	}
	docs, warnings, err := report.Explain(in.fw, in.listeners, q)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		opts.app.warnf("%s", w)
	}
	if opts.output == "json" {
		return writeExplainJSON(opts.app, docs)
	}
	for i, d := range docs {
		if i > 0 {
			fmt.Fprintln(report.TerminalSafe(opts.app.Stdout))
		}
		if err := writeExplainText(opts.app, d, opts.textOptions(d)); err != nil {
			return err
		}
	}
	return nil
}

// writeExplainJSON writes the first family's document, the second (of a
// dual-stack listener) inside it.
func writeExplainJSON(app *App, docs []*report.Explanation) error {
	doc := docs[0]
	if len(docs) > 1 {
		doc.OtherFamily = docs[1]
	}
	enc := json.NewEncoder(app.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// textOptions is how d is written for a terminal.
func (opts *explainOptions) textOptions(d *report.Explanation) explainText {
	return explainText{
		o: opts.layout.options(opts.app), full: opts.full,
		// the rules came from a file the user has: its line numbers
		// mean something to them
		lines: (d.Family == string(firewall.IPv4) && opts.in.rules != "") || (d.Family == string(firewall.IPv6) && opts.in.rules6 != ""),
	}
}

// query is the packet the flags ask about: -6, else the family of --from
// or --to (which must agree), else none named (the listeners').
func (opts *explainOptions) query() (report.ExplainQuery, error) {
	q := report.ExplainQuery{Proto: opts.proto, Port: opts.port, Iface: opts.iface}
	if opts.v6 {
		q.Family = firewall.IPv6
	}
	var named firewall.Family
	for _, a := range []struct {
		flag, val string
		addr      *netip.Addr
	}{{"--from", opts.from, &q.From}, {"--to", opts.to, &q.To}} {
		if a.val == "" {
			continue
		}
		ip, err := netip.ParseAddr(a.val)
		if err != nil {
			return q, usageErrorf("%s %q: not an IP address", a.flag, firewall.PrintableText(a.val))
		}
		fam := firewall.IPv4
		if !ip.Unmap().Is4() {
			fam = firewall.IPv6
		}
		if opts.v6 && fam == firewall.IPv4 {
			return q, usageErrorf("%s %s is not an ipv6 address (-6 walks the IPv6 rules)", a.flag, firewall.PrintableText(a.val))
		}
		if named != "" && named != fam {
			return q, usageErrorf("--from %s and --to %s are of different families", firewall.PrintableText(opts.from), firewall.PrintableText(opts.to))
		}
		named, *a.addr = fam, ip.Unmap()
	}
	if q.Family == "" {
		q.Family = named
	}
	return q, nil
}

// checkIface refuses an --iface the host does not have; offline, where
// the host's interfaces are not known, it warns when the rules name
// interfaces but not this one (the packet is then as on any other).
func checkIface(opts *explainOptions, in *inputs) error {
	if opts.iface == "" || opts.iface == "lo" {
		return nil // every host has lo (Host.Interfaces lists the others)
	}
	if len(in.fw.Host.Interfaces) > 0 {
		for _, i := range in.fw.Host.Interfaces {
			if i == opts.iface {
				return nil
			}
		}
		return usageErrorf("--iface %s: this host has no such interface (it has %s)", firewall.PrintableText(opts.iface), strings.Join(in.fw.Host.Interfaces, ", "))
	}
	named := false
	for _, ev := range []*firewall.Evaluator{in.fw.Evaluator(firewall.IPv4, ""), in.fw.Evaluator(firewall.IPv6, "")} {
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
	opts.app.warnf("--iface %s: the rules name no such interface, so the packet fares as on any interface they do not name", firewall.PrintableText(opts.iface))
	return nil
}
