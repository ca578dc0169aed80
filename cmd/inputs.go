package cmd

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/report"
	"github.com/fwaudit/fwaudit/scan"
)

// inputOpts are the flags that choose where listeners and rules come from;
// scan, explain, report and suggest share them.
type inputOpts struct {
	sockets    string
	rules      string
	rules6     string
	nft        string
	offline    bool
	noFirewall bool

	socketsOptional bool // explain: listeners are shown when known
}

func (o *inputOpts) bind(c *cobra.Command, withNoFirewall bool) {
	f := c.Flags()
	f.StringVar(&o.sockets, "sockets", "", "read listeners from `FILE`: saved ss -tunlp or netstat -tunlp output (- for stdin)")
	f.StringVar(&o.rules, "rules", "", "read IPv4 rules from `FILE`: saved iptables-save output (- for stdin)")
	f.StringVar(&o.rules6, "rules6", "", "read IPv6 rules from `FILE`: saved ip6tables-save output (- for stdin)")
	f.StringVar(&o.nft, "nft", "", "read native nftables rules from `FILE`: nft -j list ruleset output, or nft text such as /etc/nftables.conf (- for stdin; then no live rules are read)")
	f.BoolVar(&o.offline, "offline", false, "never touch the live host: what no flag provides is \"not provided\"")
	if withNoFirewall {
		f.BoolVar(&o.noFirewall, "no-firewall", false, "list sockets only; do not read or evaluate any rules")
	}
}

// inputs is what a command learned about the host it audits.
type inputs struct {
	listeners []scan.Listener
	fw        *firewall.Loaded // nil with --no-firewall
	fwInfo    report.FirewallInfo
	hostname  string
	liveRules bool // some rules were read from the live host
}

// check refuses contradictory input flags: two inputs cannot both be
// stdin, and --no-firewall reads no rules.
func (o *inputOpts) check() error {
	var stdin, rules []string
	for _, f := range []struct{ name, val string }{
		{"--sockets", o.sockets}, {"--rules", o.rules}, {"--rules6", o.rules6}, {"--nft", o.nft},
	} {
		if f.val == "-" {
			stdin = append(stdin, f.name)
		}
		if f.val != "" && f.name != "--sockets" {
			rules = append(rules, f.name)
		}
	}
	if len(stdin) > 1 {
		return usageErrorf("%s read stdin (-): only one input can", andList(stdin))
	}
	if o.noFirewall && len(rules) > 0 {
		return usageErrorf("--no-firewall reads no rules: drop %s, or --no-firewall", andList(rules))
	}
	return nil
}

// load reads listeners and rules. Sockets and rules are independent, so the
// live rules are read while the sockets are listed; at most one of them
// reads stdin (check).
func (o *inputOpts) load(ctx context.Context, app *App, wantRules bool) (*inputs, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	in := &inputs{hostname: "offline"}
	if !o.offline {
		in.hostname, _ = os.Hostname()
	}
	type fwResult struct {
		fw   *firewall.Loaded
		warn []string
		err  error
	}
	// The host's interfaces, addresses and routes are for judging rules
	// (and for explain and suggest, which always read rules): with
	// --no-firewall they are not read at all, otherwise read with the
	// rules, while the sockets are listed.
	fwc := make(chan fwResult, 1)
	if wantRules && !o.noFirewall {
		go func() {
			var host firewall.Host
			if !o.offline {
				host = firewall.ReadHost(firewall.HostFS{})
			}
			fw, warn, err := firewall.Load(ctx, o.sources(app), host)
			fwc <- fwResult{fw, warn, err}
		}()
	} else {
		fwc <- fwResult{}
	}

	ls, err := o.loadListeners(ctx, app)
	r := <-fwc
	if err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	for _, w := range r.warn {
		app.warnf("%s", w)
	}
	src := o.sources(app)
	if r.fw != nil && src.ReadsLive() && len(r.fw.Host.Inside) > 0 && (firewall.HostFS{}).BridgeNetfilter() {
		app.warnf("br_netfilter is active (net.bridge.bridge-nf-call-iptables): packets bridged between containers pass the IP hooks again; verdicts judge routed packets only")
	}
	in.listeners, in.fw = ls, r.fw
	if r.fw != nil {
		in.fwInfo = report.NewFirewallInfo(r.fw)
	}
	in.liveRules = src.ReadsLive()
	return in, nil
}

// sources is where the rules come from, as the flags say.
func (o *inputOpts) sources(app *App) firewall.Sources {
	return firewall.Sources{Rules: o.rules, Rules6: o.rules6, Nft: o.nft, Offline: o.offline,
		Open: func(name string) (io.ReadCloser, string, error) { return openInput(app, name) }}
}

func (o *inputOpts) loadListeners(ctx context.Context, app *App) ([]scan.Listener, error) {
	if o.sockets != "" {
		var ls []scan.Listener
		err := withInput(app, o.sockets, func(r io.Reader, name string) error {
			var err error
			ls, err = scan.ParseText(r, name)
			return err
		})
		return ls, err
	}
	if o.offline {
		if o.socketsOptional {
			return nil, nil
		}
		return nil, usageErrorf("--offline needs --sockets FILE: there is no other way to know what listens")
	}
	ls, warnings, err := scan.Live(ctx, scan.Options{})
	for _, w := range warnings {
		app.warnf("%s", w)
	}
	if err != nil {
		return nil, fmt.Errorf("listing sockets: %w", err)
	}
	return ls, nil
}

// withInput opens name ("-" is stdin) and hands it to parse.
func withInput(app *App, name string, parse func(io.Reader, string) error) error {
	r, display, err := openInput(app, name)
	if err != nil {
		return err
	}
	defer r.Close()
	return parse(r, display)
}

// openInput opens name for reading ("-" is stdin) and says how messages
// name it.
func openInput(app *App, name string) (io.ReadCloser, string, error) {
	if name == "-" {
		return io.NopCloser(app.Stdin), inputName(name), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", name, unwrapPathError(err))
	}
	return f, name, nil
}

// inputName is how messages name an input file: "-" is "stdin".
func inputName(file string) string {
	if file == "-" {
		return "stdin"
	}
	return file
}

// unwrapPathError drops the *PathError prefix, which repeats the name.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
