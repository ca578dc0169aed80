package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

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
	fw        *report.Firewall // nil with --no-firewall
	fwInfo    report.FirewallInfo
	host      firewall.Host
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
		host firewall.Host
		fw   *report.Firewall
		info report.FirewallInfo
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
			fw, info, warn, err := o.loadRules(ctx, app, host)
			fwc <- fwResult{host, fw, info, warn, err}
		}()
	} else {
		fwc <- fwResult{}
	}

	ls, err := o.loadListeners(ctx, app)
	r := <-fwc
	in.host = r.host
	if err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	for _, w := range r.warn {
		app.warnf("%s", w)
	}
	if r.fw != nil && o.readsLive() && len(in.host.Inside) > 0 && (firewall.HostFS{}).BridgeNetfilter() {
		app.warnf("br_netfilter is active (net.bridge.bridge-nf-call-iptables): packets bridged between containers pass the IP hooks again; verdicts judge routed packets only")
	}
	in.listeners, in.fw, in.fwInfo = ls, r.fw, r.info
	in.liveRules = o.readsLive()
	if app.BoundHeap {
		boundHeap(inputSize(o.sockets, o.rules, o.rules6, o.nft))
	}
	return in, nil
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

// loadRules reads each family from its file, the live host, or nowhere
// (--offline); a family that cannot be read has a nil evaluator and a reason.
// readsLive: some family's rules come from the live host. A --nft file
// holds both families, so with it nothing is read live.
func (o *inputOpts) readsLive() bool {
	return !o.offline && o.nft == "" && (o.rules == "" || o.rules6 == "")
}

func (o *inputOpts) loadRules(ctx context.Context, app *App, host firewall.Host) (*report.Firewall, report.FirewallInfo, []string, error) {
	fw := &report.Firewall{Host: host}
	var warnings []string
	var live firewall.Live
	if o.readsLive() {
		live = firewall.LoadLive(ctx, firewall.ExecRunner{})
		warnings = append(warnings, live.Warnings...)
		fw.Nft = live.Nft
	}
	if o.nft != "" {
		n, err := loadNftFile(ctx, app, o.nft)
		if err != nil {
			return nil, report.FirewallInfo{}, nil, err
		}
		fw.Nft = n
		for _, s := range n.Skipped {
			warnings = append(warnings, fmt.Sprintf("%s: table %s is not an IP family table: not evaluated", inputName(o.nft), s))
		}
	}
	var err error
	var file4, file6 fileNotes
	fw.Sets4, fw.Err4, file4, err = o.family(app, o.rules, firewall.IPv4, live.V4, live.Err4, fw.Nft)
	if err != nil {
		return nil, report.FirewallInfo{}, nil, err
	}
	fw.Sets6, fw.Err6, file6, err = o.family(app, o.rules6, firewall.IPv6, live.V6, live.Err6, fw.Nft)
	if err != nil {
		return nil, report.FirewallInfo{}, nil, err
	}
	if fw.Nft != nil {
		fw.Nft = fw.Nft.Outline() // compiled: the rules' text is no longer needed
	}
	warnings = append(append(warnings, file4.warnings...), file6.warnings...)
	warnings = append(warnings, unknownOptionWarnings(fw.Sets4)...)
	warnings = append(warnings, unknownOptionWarnings(fw.Sets6)...)
	// Native nftables tables the iptables view cannot show still filter
	// live traffic: only the live rules of a family are subject to them.
	// A restore fragment leaves policies to the host: like unseen tables,
	// they may drop what the file accepts.
	if fw.Sets4 != nil {
		h := host
		if o.rules == "" && o.readsLive() {
			fw.Unseen4 = live.Unseen4
		}
		fw.Unseen4 = append(fw.Unseen4, file4.unseen...)
		h.Unseen = fw.Unseen4
		fw.V4 = firewall.NewEvaluator(firewall.IPv4, fw.Sets4, h)
	}
	if fw.Sets6 != nil {
		h := host
		if o.rules6 == "" && o.readsLive() {
			fw.Unseen6 = live.Unseen6
		}
		fw.Unseen6 = append(fw.Unseen6, file6.unseen...)
		h.Unseen = fw.Unseen6
		fw.V6 = firewall.NewEvaluator(firewall.IPv6, fw.Sets6, h)
	}
	return fw, report.NewFirewallInfo(fw), warnings, nil
}

// fileNotes is what a --rules file leaves unsaid: warnings for stderr, and
// reasons a verdict that accepts someone is only conditional.
type fileNotes struct {
	warnings []string
	unseen   []string
}

// inputPolicy: a built-in chain ("filter INPUT") whose policy a packet for
// a local socket meets.
func inputPolicy(chain string) bool {
	return strings.HasSuffix(chain, " INPUT") || strings.HasSuffix(chain, " PREROUTING")
}

// notesOf says what a parsed --rules file does not say: nothing at all (an
// empty file: every port open, which may not be what was meant), or the
// policies of a restore fragment.
func notesOf(rs *firewall.Ruleset, info firewall.SaveInfo) fileNotes {
	var n fileNotes
	for _, u := range info.Unshown {
		n.warnings = append(n.warnings, fmt.Sprintf("%s %s: its rules are not in the file; verdicts that accept someone are conditional", rs.Source, u))
		n.unseen = append(n.unseen, fmt.Sprintf("%s %s", rs.Source, u))
	}
	if len(rs.Tables) == 0 && len(info.Unshown) == 0 {
		n.warnings = append(n.warnings, fmt.Sprintf("%s holds no rules (no *table section): read as a host without %s rules, where every port is open", rs.Source, rs.Family))
		return n
	}
	var input []string
	for _, c := range info.Undeclared {
		if inputPolicy(c) {
			input = append(input, c)
		}
	}
	if len(input) > 0 {
		n.warnings = append(n.warnings, fmt.Sprintf("%s is a restore fragment: it sets no policy for %s, which stays as the host has it; verdicts that accept someone are conditional",
			rs.Source, strings.Join(input, ", ")))
		n.unseen = append(n.unseen, fmt.Sprintf("%s is a restore fragment: the policy of %s is not in it", rs.Source, strings.Join(input, ", ")))
	}
	return n
}

func (o *inputOpts) family(app *App, file string, fam firewall.Family, live []*firewall.Ruleset, liveErr error, nft *firewall.NftRuleset) ([]*firewall.Ruleset, string, fileNotes, error) {
	flag := map[firewall.Family]string{firewall.IPv4: "--rules", firewall.IPv6: "--rules6"}[fam]
	var native []*firewall.Ruleset
	if o.nft != "" {
		native = []*firewall.Ruleset{nft.Family(fam)}
	}
	switch {
	case file == "" && o.nft != "":
		return native, "", fileNotes{}, nil
	case file != "":
		var rs *firewall.Ruleset
		var info firewall.SaveInfo
		err := withInput(app, file, func(r io.Reader, name string) error {
			var err error
			rs, info, err = firewall.ParseSaveInfo(r, name, fam)
			return err
		})
		if err != nil {
			return nil, "", fileNotes{}, err
		}
		return append([]*firewall.Ruleset{rs}, native...), "", notesOf(rs, info), nil
	case o.offline:
		return nil, fmt.Sprintf("%s rules not provided (--offline without %s)", fam, flag), fileNotes{}, nil
	case liveErr != nil:
		return nil, liveErr.Error(), fileNotes{}, nil
	case live == nil:
		// Read, and nothing there: an empty ruleset accepts everything.
		return []*firewall.Ruleset{{Family: fam, Source: "live (no tables loaded)"}}, "", fileNotes{}, nil
	}
	return live, "", fileNotes{}, nil
}

// unknownOptionWarnings names the rules holding options the evaluator does
// not understand (verdicts that depend on them are conditional), the first
// few by line and then a count.
func unknownOptionWarnings(sets []*firewall.Ruleset) []string {
	const most = 3
	var out []string
	for _, rs := range sets {
		n := 0
		for _, t := range rs.Tables {
			for _, c := range t.Chains {
				for _, r := range c.Rules {
					if len(r.Unknown) == 0 {
						continue
					}
					if r.Part > 1 {
						continue // one nft rule split per set element: said once
					}
					if n < most {
						where := fmt.Sprintf("%s line %d", rs.Source, r.Line)
						if r.Native {
							where = r.Where()
						}
						out = append(out, fmt.Sprintf("%s: not understood: %s (verdicts that depend on this rule are conditional)",
							where, printableText(strings.Join(r.Unknown, " "))))
					}
					n++
				}
			}
		}
		if n > most {
			out = append(out, fmt.Sprintf("%s: %d more rules with options not understood", rs.Source, n-most))
		}
	}
	return out
}

// printableText is s, or s quoted when it holds a character a terminal
// would act on (an escape sequence in a rules file).
func printableText(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) { // RuneError: a byte that is not UTF-8
			return strconv.Quote(s)
		}
	}
	return s
}

// loadNftFile reads --nft FILE ("-" is stdin): libnftables JSON when it
// starts with "{", else nft's own language.
func loadNftFile(ctx context.Context, app *App, file string) (*firewall.NftRuleset, error) {
	var b []byte
	name := inputName(file)
	err := withInput(app, file, func(r io.Reader, _ string) error {
		var err error
		if b, err = io.ReadAll(r); err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		return firewall.ParseNftJSON(bytes.NewReader(b), name)
	}
	return firewall.LoadNftText(ctx, firewall.ExecRunner{}, b, name)
}

// withInput opens name ("-" is stdin) and hands it to parse.
func withInput(app *App, name string, parse func(io.Reader, string) error) error {
	if name == "-" {
		return parse(app.Stdin, inputName(name))
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, unwrapPathError(err))
	}
	defer f.Close()
	return parse(f, name)
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
