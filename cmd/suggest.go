package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
	"github.com/fwaudit/fwaudit/suggest"
)

// exitDiffTrouble is suggest --diff's exit code for any error, as diff(1)
// exits 2 on trouble (1 means "something would change").
const exitDiffTrouble = 2

type suggestOptions struct {
	app     *App
	in      inputOpts
	format  string
	policy  policyFlags
	persist bool
	force   bool
	diff    bool
	ignore  bool

	formatGiven bool // --format was given (--diff then loads only that format)
}

func newSuggestCmd(app *App, runF func(context.Context, *suggestOptions) error) *cobra.Command {
	opts := &suggestOptions{app: app}
	c := &cobra.Command{
		Use:   "suggest",
		Short: "Write a hardened ruleset for what runs on this host",
		Long: `Write a hardened firewall for the listeners found: default DROP for INPUT
and FORWARD, loopback and established traffic accepted, one commented accept
per public listener, SSH always kept reachable, ICMP echo and the ICMPv6
types IPv6 needs. Sensitive services (databases, caches, admin interfaces)
are not opened to everyone unless --allow names them.

Never wider than today: for every listener, source, family and input
interface, the ruleset admits at most what the current rules admit, as
fwaudit's evaluator judges them. Blocklists and source or interface
restrictions are carried over (per interface where they differ), ports
blocked today stay blocked, a port admitted today only under runtime
conditions (rate limits, recent lists, ipsets) is kept closed, and a
sensitive service reachable today from some sources only stays so. ssh stays
reachable from wherever it is reachable now; when it is admitted only under
runtime conditions (a port knock, ufw limit), suggest refuses (exit 2) until
--ssh-from or --allow ssh=CIDR says who may connect. Only --allow and
--ssh-from may open more; --ignore-current builds from the listeners alone,
as on a host without rules. When a family's rules cannot be read (not root,
--offline without --rules/--rules6), only ssh is opened in it.

Only the ruleset goes to stdout. On stderr: warnings, and per port what
loading the ruleset changes ("tcp/25: open → blocked (nothing listens)").
Before printing, the ruleset is checked with fwaudit's own evaluator against
the current SSH session ($SSH_CONNECTION) and every established sshd
connection: if it would cut one, suggest refuses unless --force is given.

--diff prints, instead of the ruleset, what loading it would change: every
chain policy, and who may connect to each listener and to the ports nothing
listens on, per family, before and after. Without --format it compares
loading both restore files (iptables and ip6tables); --format iptables or
ip6tables only that family, nft the table added beside today's rules, script
both families.

--ssh-from with CIDRs of one family only restricts ssh in that family; in
the other, ssh stays reachable as the current rules allow (a warning says
so). --allow SERVICE without =CIDR opens it to everyone (a warning says so).

Formats: iptables (iptables-restore, /etc/iptables/rules.v4), ip6tables
(rules.v6), nft (one nft -f file, table inet fwaudit), script (a bash
script of iptables commands, safe to run twice), ufw (a script of ufw
commands for a host ufw manages: it adds the suggestion's rules, sets
incoming and routed to deny, and deletes every other ufw rule), firewalld
(firewall-cmd --permanent commands for the default zone: its services,
ports and rich rules replaced by the suggestion's, then a reload).

Without --format the format follows what manages the rules loaded today
(stderr says which): ufw commands where ufw's chains are loaded, an nft
file where the rules are native nftables tables (it replaces the admin's
filter tables in its transaction, and says so), firewall-cmd commands
where firewalld's rules are loaded, otherwise iptables.

Exit codes: 0 the ruleset was written; 1 error (a refusal included);
2 usage error. With --diff, as diff(1): 0 nothing would change, 1 something
would, 2 usage error or any other error.`,
		Example: `  sudo fwaudit suggest > rules.v4 && sudo iptables-restore --test rules.v4
  sudo fwaudit suggest --format ip6tables > rules.v6
  sudo fwaudit suggest --format nft > fwaudit.nft && sudo nft -c -f fwaudit.nft
  sudo fwaudit suggest --allow postgresql=10.0.0.0/8 --ssh-from 203.0.113.0/24
  sudo fwaudit suggest --format script --persist > fwall-rules
  sudo fwaudit suggest --diff           # what would change, port by port
  sudo fwaudit suggest --format ufw > harden-ufw.sh && sudo sh harden-ufw.sh
  fwaudit suggest --offline --sockets ss.txt --rules rules.v4 --rules6 rules.v6
  fwaudit suggest --offline --sockets ss.txt --ignore-current --deny 8080/tcp`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(opts.format, "format", suggest.Formats); err != nil {
				return err
			}
			opts.formatGiven = c.Flags().Changed("output")
			if runF != nil {
				return runF(c.Context(), opts)
			}
			err := suggestRun(c.Context(), opts)
			var ee *exitErr
			if opts.diff && err != nil && !errors.As(err, &ee) {
				// as diff(1): 1 is "differences", trouble is 2
				err = &exitErr{code: exitDiffTrouble, err: err, notUsage: true}
			}
			return err
		},
	}
	f := c.Flags()
	bindOutput(c, &opts.format, suggest.Formats[0], suggest.Formats)
	opts.policy.bind(c, "open `SPEC`, even a sensitive one: PORT, PORT/PROTO, PROTO/PORT or SERVICE, with =CIDR,... to limit the sources (repeatable)",
		"keep `SPEC` closed: PORT, PORT/PROTO, PROTO/PORT or SERVICE (repeatable)")
	f.BoolVar(&opts.persist, "persist", false, "script format: also save to /etc/iptables/rules.v4 and rules.v6")
	f.BoolVar(&opts.force, "force", false, "print the ruleset even if it would cut a current SSH session")
	f.BoolVar(&opts.diff, "diff", false, "print what loading the ruleset would change, per port and policy, instead of the ruleset (exit 1 when something would)")
	f.BoolVar(&opts.ignore, "ignore-current", false, "build from the listeners alone, without keeping the current rules' restrictions (may admit more than they do)")
	opts.in.bind(c, false)
	return c
}

func suggestRun(ctx context.Context, opts *suggestOptions) error {
	so, err := opts.policy.options()
	if err != nil {
		return err
	}
	so.Persist = opts.persist
	if opts.persist && opts.format != "script" {
		return usageErrorf("--persist goes with --format script")
	}
	in, err := opts.in.load(ctx, opts.app, true)
	if err != nil {
		return err
	}
	if opts.diff && in.fw.V4.Sets == nil && in.fw.V6.Sets == nil {
		return fmt.Errorf("--diff needs the current rules: %s; %s", in.fw.V4.Why, in.fw.V6.Why)
	}
	p, err := opts.build(in, so)
	if err != nil {
		return err
	}
	if err := checkLockout(ctx, opts, p, in.listeners, in.fw); err != nil {
		return err
	}
	if opts.diff {
		return writeSuggestDiff(opts, p, in)
	}
	return writeSuggestion(opts, p, in)
}

// buildPolicy builds the policy for listeners, saying its warnings on
// stderr; a bad option is a usage error.
func buildPolicy(app *App, listeners []scan.Listener, so suggest.Options) (*suggest.Policy, error) {
	p, warnings, err := suggest.Build(listeners, so)
	var oe *suggest.OptionError
	if errors.As(err, &oe) {
		return nil, usageErrorf("%v", err)
	}
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		app.warnf("%s", w)
	}
	return p, nil
}

// build builds the policy for in's listeners, in the format of the rules
// loaded today when --format was not given, and says on stderr what the
// admin should look at.
func (opts *suggestOptions) build(in *inputs, so suggest.Options) (*suggest.Policy, error) {
	app := opts.app
	if !opts.formatGiven {
		pickFormat(app, opts, in.fw)
	}
	if !opts.ignore {
		so.Current = in.fw
	}
	p, err := buildPolicy(app, in.listeners, so)
	if err != nil {
		return nil, err
	}
	for _, w := range reviewWarnings(p) {
		app.warnf("%s", w)
	}
	var current []*firewall.Ruleset
	current = append(current, in.fw.V4.Sets...)
	current = append(current, in.fw.V6.Sets...)
	if opts.format != "ufw" { // ufw commands replace only ufw's own rules
		for _, w := range suggest.ForeignChains(current) {
			app.warnf("%s", w)
		}
	}
	return p, nil
}

// writeSuggestDiff writes what loading p would change (--diff); exit 1
// when something would.
func writeSuggestDiff(opts *suggestOptions, p *suggest.Policy, in *inputs) error {
	var buf bytes.Buffer
	format := ""
	if opts.formatGiven {
		format = opts.format
	}
	changes, err := suggest.Changes(p, in.listeners, in.fw, format)
	if err != nil {
		return err
	}
	n := 0
	for _, c := range changes {
		fmt.Fprintf(&buf, "%s %s\n", c.Family, c)
		if c.Changed {
			n++
		}
	}
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		if !suggest.Touches(format, fam) {
			fmt.Fprintf(&buf, "%s: not changed: --format %s loads no %s rules\n", fam, format, fam)
		}
	}
	switch n {
	case 0:
		buf.WriteString("no changes\n")
	case 1:
		buf.WriteString("1 change\n")
	default:
		fmt.Fprintf(&buf, "%d changes\n", n)
	}
	if _, err := opts.app.Stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if n > 0 {
		return &exitErr{code: exitError}
	}
	return nil
}

// writeSuggestion writes p in its format, and on stderr what loading it
// changes against the current rules and what stays loaded beside it.
func writeSuggestion(opts *suggestOptions, p *suggest.Policy, in *inputs) error {
	app := opts.app
	var buf bytes.Buffer
	if err := suggest.Render(&buf, p, opts.format); err != nil {
		return err
	}
	if in.fw.V4.Sets != nil || in.fw.V6.Sets != nil {
		changes, err := suggest.Changes(p, in.listeners, in.fw, opts.format)
		if err != nil {
			return err
		}
		printChanges(app, changes)
		beside, err := suggest.Beside(p, in.listeners, in.fw, opts.format)
		if err != nil {
			return err
		}
		for _, w := range beside {
			app.warnf("%s", w)
		}
	}
	// Written in one piece: a failure above leaves stdout empty.
	_, err := app.Stdout.Write(buf.Bytes())
	return err
}

// pickFormat sets the format from what manages the host's rules when
// --format was not given, and says so on stderr: rules in another
// language than the manager's are undone by its next reload.
func pickFormat(app *App, opts *suggestOptions, cur *firewall.Loaded) {
	m := suggest.DetectManager(cur)
	switch m.Name {
	case "ufw":
		app.notef("writing ufw commands: %s; --format iptables for raw rules (ufw's next reload discards them)", m.Why)
	case "nft":
		app.notef("writing an nft file: %s; loading it replaces your filter tables with table inet fwaudit in one transaction (the file's header names them); --format iptables for iptables rules", m.Why)
	case "firewalld":
		app.notef("writing firewall-cmd commands: %s; --format iptables for raw rules (firewalld's next reload discards them)", m.Why)
	default:
		return
	}
	opts.format = m.Format
	opts.formatGiven = true // --diff compares this format alone
}

// reviewWarnings says on stderr what the ruleset's comments say inside
// the file: a listener of no known service is opened to everyone, and the
// admin should look at it. One warning per port, its families together.
func reviewWarnings(p *suggest.Policy) []string {
	type port struct {
		proto string
		port  uint16
	}
	fams := map[port][]string{}
	procs := map[port]string{}
	var order []port
	for _, r := range p.Rules {
		if !r.Review || len(r.Sources) > 0 {
			continue
		}
		k := port{r.Proto, r.Port}
		if _, ok := fams[k]; !ok {
			order = append(order, k)
		}
		fams[k] = append(fams[k], familyLabel(r.Family))
		if r.Process != "" {
			procs[k] = r.Process
		}
	}
	var out []string
	for _, k := range order {
		what := "a program fwaudit does not know"
		if procs[k] != "" {
			what = procs[k] + ", " + what
		}
		out = append(out, fmt.Sprintf("%s/%d (%s) is opened to everyone over %s: review it (its rule's comment says \"review\"); --allow %s/%d=CIDR limits the sources",
			k.proto, k.port, what, strings.Join(fams[k], " and "), k.proto, k.port))
	}
	return out
}

func familyLabel(f firewall.Family) string {
	if f == firewall.IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// printChanges writes, on stderr, per port what loading the ruleset
// changes; a port alike in both families is written once.
func printChanges(app *App, changes []suggest.Change) {
	var ports []suggest.Change
	fams := map[firewall.Family]bool{}
	for _, c := range changes {
		if !strings.HasPrefix(c.What, "policy ") {
			ports = append(ports, c)
			fams[c.Family] = true
		}
	}
	if len(ports) == 0 {
		return
	}
	alike := func(a, b suggest.Change) bool {
		return a.What == b.What && a.Before == b.Before && a.After == b.After && a.Why == b.Why && a.Changed == b.Changed
	}
	done := make([]bool, len(ports))
	fmt.Fprintln(app.Stderr, "changes against the current rules, per port:")
	for i, c := range ports {
		if done[i] {
			continue
		}
		line := c.String()
		if len(fams) > 1 {
			twin := -1
			for j := i + 1; j < len(ports); j++ {
				if !done[j] && ports[j].Family != c.Family && ports[j].What == c.What {
					twin = j
					break
				}
			}
			if twin >= 0 && alike(c, ports[twin]) {
				done[twin] = true
			} else {
				c.What += " (" + string(c.Family) + ")"
				line = c.String()
			}
		}
		fmt.Fprintf(app.Stderr, "  %s\n", line)
	}
}

// checkLockout refuses a policy that would cut the current SSH session or
// an established sshd connection, unless --force.
func checkLockout(ctx context.Context, opts *suggestOptions, p *suggest.Policy, ls []scan.Listener, cur *firewall.Loaded) error {
	sessions, err := sshSessions(ctx, opts.app, !opts.in.offline, ls)
	if err != nil {
		return err
	}
	format := opts.format
	if opts.diff && !opts.formatGiven {
		format = ""
	}
	err = suggest.CheckLockout(p, sessions, cur, format)
	if err == nil {
		return nil
	}
	if opts.force {
		opts.app.warnf("%v (continuing: --force)", strings.TrimSuffix(strings.TrimPrefix(err.Error(), "refusing: "), "; add it or pass --force"))
		return nil
	}
	return err
}

// policyFlags are the wishes suggest and apply both take.
type policyFlags struct {
	allow, deny, sshFrom []string
	noPing, logDrops     bool
}

// bind adds the flags to c, with each command's words for --allow and
// --deny.
func (p *policyFlags) bind(c *cobra.Command, allowHelp, denyHelp string) {
	f := c.Flags()
	f.StringArrayVar(&p.allow, "allow", nil, allowHelp)
	f.StringArrayVar(&p.deny, "deny", nil, denyHelp)
	completeSpecs(c, "allow", "deny")
	f.StringSliceVar(&p.sshFrom, "ssh-from", nil, "accept SSH only from these `CIDR`s (comma-separated, repeatable)")
	f.BoolVar(&p.noPing, "no-ping", false, "do not accept ICMP echo-request")
	f.BoolVar(&p.logDrops, "log-drops", false, "log dropped packets (rate-limited) before the final drop")
}

// options parses the flags into the policy's options (usage errors).
func (p *policyFlags) options() (suggest.Options, error) {
	so := suggest.Options{NoPing: p.noPing, LogDrops: p.logDrops}
	for _, s := range p.allow {
		sp, err := suggest.ParseSpec(s)
		if err != nil {
			return so, usageErrorf("--allow: %v", err)
		}
		so.Allow = append(so.Allow, sp)
	}
	for _, s := range p.deny {
		sp, err := suggest.ParseSpec(s)
		if err != nil {
			return so, usageErrorf("--deny: %v", err)
		}
		if len(sp.Sources) > 0 {
			return so, usageErrorf("--deny %q: takes no sources", s)
		}
		so.Deny = append(so.Deny, sp)
	}
	for _, s := range p.sshFrom {
		p, err := suggest.ParsePrefix(s)
		if err != nil {
			return so, usageErrorf("--ssh-from: %v", err)
		}
		so.SSHFrom = append(so.SSHFrom, p)
	}
	return so, nil
}

// sshSessions are the SSH sessions a ruleset must keep: $SSH_CONNECTION
// and, when live, every established sshd connection.
func sshSessions(ctx context.Context, app *App, live bool, ls []scan.Listener) ([]suggest.Session, error) {
	var conns []scan.Conn
	if live {
		var err error
		if conns, err = scan.Established(ctx); err != nil {
			app.warnf("cannot list established connections to protect SSH sessions: %v", err)
		}
	}
	return suggest.Sessions(app.Getenv("SSH_CONNECTION"), conns, ls)
}
