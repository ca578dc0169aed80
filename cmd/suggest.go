package cmd

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
	"github.com/fwaudit/fwaudit/suggest"
)

type suggestOptions struct {
	app      *App
	in       inputOpts
	format   string
	allow    []string
	deny     []string
	sshFrom  []string
	noPing   bool
	logDrops bool
	persist  bool
	force    bool
	diff     bool
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
stay closed unless --allow names them.

Only the ruleset goes to stdout; warnings go to stderr. Before printing, the
ruleset is checked with fwaudit's own evaluator against the current SSH
session ($SSH_CONNECTION) and every established sshd connection: if it would
cut one, suggest refuses (exit 1) unless --force is given.

Formats: iptables (iptables-restore, /etc/iptables/rules.v4), ip6tables
(rules.v6), nft (one nft -f file, table inet fwaudit), script (a bash
script of iptables commands, safe to run twice).`,
		Example: `  sudo fwaudit suggest > rules.v4 && sudo iptables-restore --test rules.v4
  sudo fwaudit suggest --format ip6tables > rules.v6
  sudo fwaudit suggest --format nft > fwaudit.nft && sudo nft -c -f fwaudit.nft
  sudo fwaudit suggest --allow postgresql=10.0.0.0/8 --ssh-from 203.0.113.0/24
  sudo fwaudit suggest --format script --persist > fwall-rules
  sudo fwaudit suggest --diff           # what would change, rule by rule
  fwaudit suggest --offline --sockets ss.txt --deny 8080/tcp`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if !slices.Contains(suggest.Formats, opts.format) {
				return usageErrorf("unknown format %q (want %s)", opts.format, strings.Join(suggest.Formats, ", "))
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return suggestRun(c.Context(), opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.format, "format", "iptables", "output format: "+strings.Join(suggest.Formats, ", "))
	f.StringArrayVar(&opts.allow, "allow", nil, "open PORT[/PROTO]|SERVICE[=CIDR,...], even a sensitive one (repeatable)")
	f.StringArrayVar(&opts.deny, "deny", nil, "keep PORT[/PROTO]|SERVICE closed (repeatable)")
	f.StringSliceVar(&opts.sshFrom, "ssh-from", nil, "accept SSH only from these CIDRs (comma-separated)")
	f.BoolVar(&opts.noPing, "no-ping", false, "do not accept ICMP echo-request")
	f.BoolVar(&opts.logDrops, "log-drops", false, "log dropped packets (rate-limited) before the final drop")
	f.BoolVar(&opts.persist, "persist", false, "script format: also save to /etc/iptables/rules.v4 and rules.v6")
	f.BoolVar(&opts.force, "force", false, "print the ruleset even if it would cut a current SSH session")
	f.BoolVar(&opts.diff, "diff", false, "print what would change against the current rules instead of the ruleset")
	opts.in.bind(c, false)
	return c
}

func suggestRun(ctx context.Context, opts *suggestOptions) error {
	app := opts.app
	var so suggest.Options
	for _, s := range opts.allow {
		sp, err := suggest.ParseSpec(s)
		if err != nil {
			return usageErrorf("--allow: %v", err)
		}
		so.Allow = append(so.Allow, sp)
	}
	for _, s := range opts.deny {
		sp, err := suggest.ParseSpec(s)
		if err != nil {
			return usageErrorf("--deny: %v", err)
		}
		if len(sp.Sources) > 0 {
			return usageErrorf("--deny %q: takes no sources", s)
		}
		so.Deny = append(so.Deny, sp)
	}
	for _, s := range opts.sshFrom {
		p, err := suggest.ParsePrefix(s)
		if err != nil {
			return usageErrorf("--ssh-from: %v", err)
		}
		so.SSHFrom = append(so.SSHFrom, p)
	}
	so.NoPing, so.LogDrops, so.Persist = opts.noPing, opts.logDrops, opts.persist
	if opts.persist && opts.format != "script" {
		return usageErrorf("--persist goes with --format script")
	}

	// Current rules only matter for the foreign-chain warning and --diff;
	// failing to read them is not fatal.
	in, err := opts.in.load(ctx, app, true)
	if err != nil {
		return err
	}
	p, warnings, err := suggest.Build(in.listeners, so)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		app.warnf("%s", w)
	}

	var current []*firewall.Ruleset
	current = append(current, in.fw.Sets4...)
	current = append(current, in.fw.Sets6...)
	for _, w := range suggest.ForeignChains(current) {
		app.warnf("%s", w)
	}

	if err := checkLockout(ctx, opts, p, in.listeners); err != nil {
		return err
	}

	var buf bytes.Buffer
	if opts.diff {
		if in.fw.Sets4 == nil && in.fw.Sets6 == nil {
			return fmt.Errorf("--diff needs the current rules: %s; %s", in.fw.Err4, in.fw.Err6)
		}
		for _, line := range suggest.Diff(current, p) {
			fmt.Fprintln(&buf, line)
		}
	} else if err := suggest.Render(&buf, p, opts.format); err != nil {
		return err
	}
	// Written in one piece: a failure above leaves stdout empty.
	_, err = app.Stdout.Write(buf.Bytes())
	return err
}

// checkLockout refuses a policy that would cut the current SSH session or
// an established sshd connection, unless --force.
func checkLockout(ctx context.Context, opts *suggestOptions, p *suggest.Policy, ls []scan.Listener) error {
	var conns []scan.Conn
	if !opts.in.offline {
		var err error
		if conns, err = scan.Established(ctx); err != nil {
			opts.app.warnf("cannot list established connections to protect SSH sessions: %v", err)
		}
	}
	sessions, err := suggest.Sessions(opts.app.Getenv("SSH_CONNECTION"), conns, ls)
	if err != nil {
		return err
	}
	err = suggest.CheckLockout(p, sessions)
	if err == nil {
		return nil
	}
	if opts.force {
		opts.app.warnf("%v (continuing: --force)", strings.TrimSuffix(strings.TrimPrefix(err.Error(), "refusing: "), "; add it or pass --force"))
		return nil
	}
	return err
}
