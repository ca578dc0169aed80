package suggest

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// Options are the user's wishes on top of what the scan found.
type Options struct {
	Allow    []Spec         // --allow: open these (even sensitive ones), optionally only from their sources
	Deny     []Spec         // --deny: never open these
	SSHFrom  []netip.Prefix // --ssh-from: SSH only from these sources (nil: from anywhere)
	NoPing   bool           // --no-ping: no ICMP/ICMPv6 echo-request accept
	LogDrops bool           // --log-drops: a rate-limited LOG before the policy drops
	Persist  bool           // --persist: the script also saves to /etc/iptables/rules.v{4,6}
	// Current is the firewall loaded today: the suggestion admits no
	// source to any listener, in any family, that it does not admit,
	// unless --allow or --ssh-from names it. Nil builds from the listeners
	// alone, as on a host without rules (--ignore-current).
	Current *firewall.Loaded
}

// Policy is the hardened ruleset, independent of its rendering. Every
// renderer draws on the same Rules in the same order.
type Policy struct {
	SSH      []Rule // SSH accepts: before the INVALID drop
	Rules    []Rule // every other accept, sorted by port, proto, family, address
	Notes    []string
	Ping     bool
	LogDrops bool
	Persist  bool

	// Forward restricts published ports (Docker's) where they are
	// forwarded, sorted like Rules; see docker.go.
	Forward []Forward

	// replaces are the admin's own nftables tables the nft rendering
	// deletes in its transaction, on a host managed with native nft
	// (manager.go): table inet fwaudit takes their place.
	replaces []TableRef
	// zone is firewalld's default zone, which the firewalld rendering
	// changes ("" when firewalld's rules are not loaded); zoneIfaces the
	// host's interfaces it holds (bound to it, or bound to no zone)
	zone       string
	zoneIfaces []string

	decisions []decision               // per listener and family, for Changes
	noPing    map[firewall.Family]bool // echo-request dropped today in that family: not accepted
	docker    map[firewall.Family]dockerKind
	published []scan.Listener // published ports no socket receives, decided like listeners
}

// Rule accepts NEW connections to one port in one family.
type Rule struct {
	Family  firewall.Family
	Proto   string         // "tcp" or "udp"
	Port    uint16         //
	Dst     netip.Addr     // specific bind: only to this address; invalid for any
	In      string         // only arriving on this interface (a bound device, or today's -i); "" for any
	Sources []netip.Prefix // only from these (of Family); nil for anywhere
	Except  []netip.Prefix // from anywhere but these (Sources nil): today's blocklist, dropped first
	// SPorts: only from these source ports (today's rules admit the
	// sources from these alone); nil for any
	SPorts  []firewall.PortRange
	Service string // catalog name, "" when unknown
	Process string // sanitized process name, "" when unknown
	Review  bool   // unknown service: opened, but the admin should look
	Reason  string // why the rule exists, for --diff
}

// decision is what the policy does for one listener in one family, and why.
type decision struct {
	l        scan.Listener
	fam      firewall.Family
	why      string // why the suggestion admits what it does ("" when it keeps today's)
	explicit bool   // --allow or --ssh-from named it: it may be wider than today
}

// OptionError is Build's refusal of options that contradict each other
// or fwaudit's promises (a usage error for the CLI).
type OptionError struct{ msg string }

func (e *OptionError) Error() string { return e.msg }

func optionErrorf(format string, a ...any) error {
	return &OptionError{msg: fmt.Sprintf(format, a...)}
}

// Warning is for the user (stderr), never part of a rendered ruleset.
type Warning struct {
	Msg  string
	Hint string // may be ""
}

// String is the message and, on its own line, the hint, as the CLI prints
// them after "warning: ".
func (w Warning) String() string {
	if w.Hint == "" {
		return w.Msg
	}
	return w.Msg + "\nhint: " + w.Hint
}

// label names the rule's service for comments and echo lines.
func (r Rule) label() string {
	switch {
	case r.Service != "":
		return r.Service
	case r.Process != "":
		return r.Process
	}
	return fmt.Sprintf("%s/%d", r.Proto, r.Port)
}

// Comment is the rule's -m comment / nft comment text (not yet escaped).
func (r Rule) Comment() string {
	var c string
	switch {
	case r.Review && r.Process != "":
		c = fmt.Sprintf("review: unknown service %s/%d (%s)", r.Proto, r.Port, r.Process)
	case r.Review:
		c = fmt.Sprintf("review: unknown service %s/%d", r.Proto, r.Port)
	case r.Process != "" && r.Process != r.Service:
		c = fmt.Sprintf("%s (%s)", r.Service, r.Process)
	default:
		c = r.Service
	}
	return c
}

// Build turns the listeners and options into a policy. It fails on
// contradictory options, and when the policy would admit more than
// opts.Current does where no flag asked for it (checked with the firewall
// package's evaluator on the rendered rules); everything else it cannot do
// well is a warning.
func Build(listeners []scan.Listener, opts Options) (*Policy, []Warning, error) {
	b := &builder{opts: opts, p: &Policy{Ping: !opts.NoPing, LogDrops: opts.LogDrops, Persist: opts.Persist,
		replaces: replacedTables(opts.Current)}}
	b.p.zone, b.p.zoneIfaces = currentZone(opts.Current)
	if err := b.check(); err != nil {
		return nil, nil, err
	}
	for _, sp := range opts.Allow {
		b.warnEveryone(sp)
	}
	ls := slices.Clone(listeners)
	slices.SortStableFunc(ls, cmpListener)
	if extra := b.dockerSetup(ls); len(extra) > 0 {
		ls = append(ls, extra...)
		slices.SortStableFunc(ls, cmpListener)
	}
	used := make([]bool, len(opts.Allow))
	sshFound := false
	for _, l := range ls {
		if l.Exposure == scan.ExposureLocal || !l.Address.IsValid() || l.Client { // a client socket serves nothing
			continue
		}
		ssh := isSSH(l) && !b.isPublished(l)
		if ssh {
			sshFound = true
		}
		allows := b.allowsFor(l, used)
		if d, ok := b.denied(l); ok {
			if ssh {
				return nil, nil, optionErrorf("--deny %s would close ssh on port %d, which fwaudit always keeps reachable; use --ssh-from to restrict it", d.Raw, l.Port)
			}
			b.note(fmt.Sprintf("# %s on %s/%d is not opened: --deny %s", nameOf(l), l.Proto, l.Port, d.Raw))
			for _, fam := range familiesOf(l) {
				b.decide(l, fam, "--deny "+d.Raw, true)
				if b.pubs != nil {
					b.forwardFor(l, fam, nil) // a published port: closed where it is forwarded
				}
			}
			continue
		}
		if ssh && len(opts.SSHFrom) > 0 {
			for _, a := range allows {
				if a.Sources == nil {
					return nil, nil, optionErrorf("--allow %s opens ssh on port %d to everyone and --ssh-from restricts it: give one of them (or --allow %s=CIDR)", a.Raw, l.Port, a.Raw)
				}
			}
		}
		reason := fmt.Sprintf("%s listens on %s", listenerWho(l), netip.AddrPortFrom(l.Address, l.Port))
		if len(allows) > 0 {
			reason += " (--allow " + allows[0].Raw + ")"
		}
		b.listener(l, ssh, allows, reason)
	}
	if !sshFound {
		b.warn(Warning{Msg: "sshd was not found listening; keeping ssh open on port 22",
			Hint: "if SSH runs on another port (or fwaudit could not see its process), open it with --allow PORT/tcp before loading the ruleset"})
		l := scan.Listener{Proto: "tcp", Family: "ipv6", DualStack: true, Address: netip.IPv6Unspecified(),
			Port: 22, Service: "ssh", Exposure: scan.ExposurePublic}
		b.listener(l, true, nil, "sshd not found: ssh kept open on port 22")
	}
	// An --allow that names nothing listening still opens what it names:
	// the admin asked for it (a service about to be started).
	for i, sp := range opts.Allow {
		if used[i] {
			continue
		}
		type pp struct {
			proto string
			port  uint16
		}
		targets := []pp{{sp.Proto, sp.Port}}
		if sp.Proto == "" {
			targets = []pp{{"tcp", sp.Port}}
		}
		if sp.Service != "" {
			targets = nil
			for _, s := range scan.Catalog() {
				if s.Name == sp.Service {
					targets = append(targets, pp{s.Proto, s.Port})
				}
			}
		}
		for _, t := range targets {
			b.warn(Warning{Msg: fmt.Sprintf("--allow %s: nothing listens on %s/%d beyond loopback; opening it anyway", sp.Raw, t.proto, t.port)})
		}
		for _, t := range targets {
			proto := t.proto
			for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
				r := Rule{Family: fam, Proto: proto, Port: t.port, Service: sp.Service,
					Reason: "--allow " + sp.Raw + " (nothing listens yet)"}
				if r.Service == "" {
					r.Service = fmt.Sprintf("%s/%d", proto, t.port)
				}
				r.Process = "--allow"
				if sp.Sources != nil {
					r.Sources = ofFamily(sp.Sources, fam)
					if len(r.Sources) == 0 {
						continue
					}
				}
				b.add(r, sp.Service == "ssh")
			}
		}
	}
	if b.refusal != nil {
		return nil, nil, b.refusal
	}
	b.ping()
	slices.SortStableFunc(b.p.SSH, cmpRule)
	slices.SortStableFunc(b.p.Rules, cmpRule)
	slices.SortStableFunc(b.p.Forward, func(x, y Forward) int {
		return cmp.Or(cmp.Compare(x.Port, y.Port), cmp.Compare(x.Proto, y.Proto), cmp.Compare(x.Family, y.Family), x.Dst.Compare(y.Dst))
	})
	if err := b.verify(); err != nil {
		return nil, nil, err
	}
	return b.p, b.warnings, nil
}

// ping keeps echo-request unanswered in a family where the current rules
// drop it (asked from DefaultSource, as an outsider would).
func (b *builder) ping() {
	cur := b.opts.Current
	if !b.p.Ping || cur == nil {
		return
	}
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		ev := cur.Evaluator(fam, "")
		if ev == nil {
			continue
		}
		proto, echo := "1", uint16(8)
		if fam == firewall.IPv6 {
			proto, echo = "58", 128
		}
		if d := ev.Decide(firewall.Packet{Proto: proto, DPort: echo}); d.Verdict == firewall.DecideDrop {
			if b.p.noPing == nil {
				b.p.noPing = map[firewall.Family]bool{}
			}
			b.p.noPing[fam] = true
			b.warn(Warning{Msg: fmt.Sprintf("ping (echo-request) is not answered over %s today (%s): the suggestion keeps it so", fam, d.Rule)})
		}
	}
}

// listener adds the rules for one listener in every family it receives.
func (b *builder) listener(l scan.Listener, ssh bool, allows []Spec, reason string) {
	for _, fam := range familiesOf(l) {
		rc, why, explicit := b.reachFor(l, fam, ssh, allows)
		b.decide(l, fam, why, explicit)
		if b.pubs != nil {
			b.forwardFor(l, fam, rc)
		}
		if rc == nil || b.isPublished(l) {
			continue // a published port without a socket is reached through FORWARD only
		}
		parts := []*reach{rc}
		if rc.each != nil {
			parts = rc.each
		}
		for _, rc := range parts {
			b.rulesFor(l, fam, rc, ssh, reason)
		}
	}
}

// rulesFor adds the rules that admit rc to l over fam.
func (b *builder) rulesFor(l scan.Listener, fam firewall.Family, rc *reach, ssh bool, reason string) {
	ins := []string{""}
	switch {
	case l.Device != "" && l.Device != "lo" && safeIfaceName(l.Device):
		// SO_BINDTODEVICE: the socket only hears what arrives there
		ins = []string{l.Device}
	case len(rc.ifaces) > 0:
		ins = nil
		for _, in := range rc.ifaces {
			if safeIfaceName(in) {
				ins = append(ins, in)
			} else {
				b.note(fmt.Sprintf("# %s on %s/%d is not opened on interface %q for %s: the name cannot be written safely", nameOf(l), l.Proto, l.Port, in, fam))
			}
		}
	}
	dsts := []netip.Addr{{}}
	if len(rc.dsts) > 0 {
		// today's rules admit it at these addresses only
		dsts = rc.dsts
	}
	for _, in := range ins {
		for _, dst := range dsts {
			r := Rule{Family: fam, Proto: l.Proto, Port: l.Port, Service: l.Service, In: in,
				Sources: rc.sources, Except: rc.except, Dst: dst, SPorts: rc.sports,
				Process: sanitize(l.Process), Review: l.Service == "" && !ssh, Reason: reason}
			if ssh && r.Service == "" {
				r.Service = "ssh"
			}
			if l.Exposure == scan.ExposureSpecific {
				r.Dst = l.Address.Unmap()
			}
			b.add(r, ssh)
		}
	}
}

func (b *builder) decide(l scan.Listener, fam firewall.Family, why string, explicit bool) {
	b.p.decisions = append(b.p.decisions, decision{l: l, fam: fam, why: why, explicit: explicit})
}

type builder struct {
	opts     Options
	p        *Policy
	warnings []Warning
	noted    map[string]bool
	pubs     map[firewall.Family][]publish // Docker's published ports, per family (docker.go)
	refusal  error                         // the first reason to refuse the whole suggestion
}

// isPublished: l stands for a published port no socket receives.
func (b *builder) isPublished(l scan.Listener) bool {
	return slices.ContainsFunc(b.p.published, func(o scan.Listener) bool {
		return o.Proto == l.Proto && o.Family == l.Family && o.Address == l.Address && o.Port == l.Port && !l.DualStack && l.PID == 0 && l.Process == ""
	})
}

func (b *builder) check() error {
	for _, a := range b.opts.Allow {
		if a.Service == "ssh" && a.Sources == nil && len(b.opts.SSHFrom) > 0 {
			return optionErrorf("--allow %s opens ssh to everyone and --ssh-from restricts it: give one of them (or --allow ssh=CIDR)", a.Raw)
		}
	}
	for _, d := range b.opts.Deny {
		if d.Sources != nil {
			return optionErrorf("--deny %s: --deny takes no sources", d.Raw)
		}
		for _, a := range b.opts.Allow {
			if a.Port == d.Port && (a.Proto == "" || d.Proto == "" || a.Proto == d.Proto) {
				return optionErrorf("--allow %s and --deny %s name the same port", a.Raw, d.Raw)
			}
		}
	}
	return nil
}

func (b *builder) warn(w Warning) {
	if !slices.Contains(b.warnings, w) {
		b.warnings = append(b.warnings, w)
	}
}

func (b *builder) note(n string) {
	if b.noted == nil {
		b.noted = map[string]bool{}
	}
	if !b.noted[n] {
		b.noted[n] = true
		b.p.Notes = append(b.p.Notes, n)
	}
}

// add appends r unless an equal or wider rule is already there: a rule
// with the same place (interface, destination) and no blocklist merges its
// sources into the other, and a wildcard bind covers a specific bind of the
// same port in the same family that admits exactly the same sources.
// Rules that admit differently stay apart: every renderer drops all of a
// port's blocklists before its accepts, which is never wider than either.
func (b *builder) add(r Rule, ssh bool) {
	list := &b.p.Rules
	if ssh {
		list = &b.p.SSH
	}
	kept := (*list)[:0]
	for _, o := range *list {
		same := o.Family == r.Family && o.Proto == r.Proto && o.Port == r.Port && slices.Equal(o.SPorts, r.SPorts)
		alike := slices.Equal(o.Sources, r.Sources) && slices.Equal(o.Except, r.Except) && (o.Sources == nil) == (r.Sources == nil)
		switch {
		case same && o.In == r.In && o.Dst == r.Dst && (alike || o.Except == nil && r.Except == nil):
			o.Sources = mergeSources(o.Sources, r.Sources)
			r.Port = 0 // merged
		case same && alike && (o.In == "" || o.In == r.In) && !o.Dst.IsValid():
			r.Port = 0 // the wildcard rule already there covers it
		case same && alike && (r.In == "" || r.In == o.In) && !r.Dst.IsValid():
			continue // the wildcard rule being added covers it
		}
		kept = append(kept, o)
	}
	*list = kept
	if r.Port != 0 {
		*list = append(*list, r)
	}
}

func (b *builder) allowsFor(l scan.Listener, used []bool) []Spec {
	var out []Spec
	for i, sp := range b.opts.Allow {
		if sp.matches(l) {
			used[i] = true
			out = append(out, sp)
		}
	}
	return out
}

func (b *builder) denied(l scan.Listener) (Spec, bool) {
	for _, sp := range b.opts.Deny {
		if sp.matches(l) {
			return sp, true
		}
	}
	return Spec{}, false
}

// sourcesOf unions the specs' sources; any is true when one spec opens to
// everyone.
func sourcesOf(specs []Spec) (srcs []netip.Prefix, any bool) {
	if len(specs) == 0 {
		return nil, true
	}
	for _, sp := range specs {
		if sp.Sources == nil {
			return nil, true
		}
		srcs = append(srcs, sp.Sources...)
	}
	return srcs, false
}

// mergeSources unions two source lists where nil means anywhere.
func mergeSources(a, b []netip.Prefix) []netip.Prefix {
	if a == nil || b == nil {
		return nil
	}
	out := slices.Clone(a)
	for _, p := range b {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func ofFamily(ps []netip.Prefix, fam firewall.Family) []netip.Prefix {
	out := []netip.Prefix{}
	for _, p := range ps {
		if p.Addr().Is4() == (fam == firewall.IPv4) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	return out
}

// familiesOf says which families reach a listener: a dual-stack wildcard
// both, an IPv4-mapped bind only IPv4.
func familiesOf(l scan.Listener) []firewall.Family {
	switch {
	case l.Family == "ipv4" || l.Address.Is4() || l.Address.Is4In6():
		return []firewall.Family{firewall.IPv4}
	case l.DualStack:
		return []firewall.Family{firewall.IPv4, firewall.IPv6}
	}
	return []firewall.Family{firewall.IPv6}
}

func isSSH(l scan.Listener) bool {
	return l.Service == "ssh" || l.Process == "sshd" || slices.ContainsFunc(l.Processes, func(p scan.Process) bool { return p.Name == "sshd" })
}

// nameOf names a listener for comments: service, else process, else port.
func nameOf(l scan.Listener) string {
	if l.Service != "" {
		return l.Service
	}
	if p := sanitize(l.Process); p != "" {
		return p
	}
	return fmt.Sprintf("%s/%d", l.Proto, l.Port)
}

// specName is what to write after --allow to name l.
func specName(l scan.Listener) string {
	if l.Service != "" {
		if s, ok := scan.LookupService(l.Service); ok && s.Port == l.Port {
			return l.Service
		}
	}
	return fmt.Sprintf("%d/%s", l.Port, l.Proto)
}

func listenerWho(l scan.Listener) string {
	if p := sanitize(l.Process); p != "" {
		return p
	}
	if l.Service != "" {
		return l.Service
	}
	return "a process"
}

func cmpListener(a, b scan.Listener) int {
	return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Proto, b.Proto),
		cmp.Compare(a.Family, b.Family), a.Address.Compare(b.Address))
}

func cmpRule(a, b Rule) int {
	return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Proto, b.Proto),
		cmp.Compare(a.Family, b.Family), a.Dst.Compare(b.Dst), cmp.Compare(a.In, b.In))
}

// maxName caps a process name in comments and messages (the kernel's comm
// is 15 bytes; saved ss/netstat output may carry longer ones).
const maxName = 64

// sanitize makes a process name safe to embed anywhere: control
// characters and invalid UTF-8 are dropped, the rest kept as is (quoting is
// each renderer's job), and the length capped to maxName bytes.
func sanitize(s string) string {
	return limitBytes(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "")), maxName)
}

// safeIfaceName accepts the interface names that need no quoting in any
// output format; a device bound socket with another name gets a rule for
// every interface (wider, never narrower).
func safeIfaceName(n string) bool {
	if n == "" || len(n) > 15 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@", c)) {
			return false
		}
	}
	return true
}

// sportNotes names the rules a format that cannot test the source port
// beside the destination port (ufw's and firewalld's zone rules) leaves
// out: today's rules admit them only from some source ports, and without
// that test the rule would admit every source port.
func sportNotes(p *Policy, format string) []string {
	var out []string
	for _, r := range append(slices.Clone(p.SSH), p.Rules...) {
		if r.SPorts != nil {
			out = append(out, fmt.Sprintf("# %s/%d over %s is admitted today only from source ports %s, which this %s script does not write: not opened",
				r.Proto, r.Port, r.Family, portList(r.SPorts, ":"), format))
		}
	}
	return slices.Compact(out)
}
