package suggest

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// On a Docker host the suggestion must not replace the filter table:
// Docker's chains (filter DOCKER, DOCKER-FORWARD, DOCKER-USER, nat
// DOCKER) carry every container's traffic, and Docker writes them once,
// at start. It rewrites INPUT and DOCKER-USER only (iptables-restore
// --noflush), or, in nft, adds a forward chain that runs before Docker's
// and only drops. A published port reaches its container through nat
// PREROUTING and FORWARD, never INPUT, so the ports the policy closes or
// restricts are matched there by the port the client connected to, before
// the DNAT (conntrack's original tuple).

// dockerKind is how Docker filters forwarded traffic in one family
// (firewall.DockerFiltering).
type dockerKind = firewall.DockerFiltering

const (
	noDocker     = firewall.NoDocker
	dockerUser   = firewall.DockerUser   // FORWARD reaches DOCKER-USER
	dockerChains = firewall.DockerChains // Docker's chains, but nothing jumps to DOCKER-USER
	dockerNft    = firewall.DockerNft    // Docker's nftables backend
)

// dockerUserChain is Docker's chain for the administrator's rules;
// printed in the rendered rules and warnings.
const dockerUserChain = firewall.DockerUserChain

// dockerLayout finds Docker in today's rules of fam.
func dockerLayout(cur *firewall.Loaded, fam firewall.Family) dockerKind {
	if !cur.Known(fam) {
		return noDocker
	}
	return firewall.DockerFilteringOf(cur.Of(fam).Sets)
}

// publish is one port a nat DNAT forwards to another host (a container):
// a Docker published port, or any port forward.
type publish struct {
	fam   firewall.Family
	proto string
	addr  netip.Addr // the host address it is published on; unspecified for all
	port  uint16
	to    netip.AddrPort
}

// maxPublishRange bounds the ports taken from one DNAT rule with a range.
const maxPublishRange = 64

// publishes lists the ports today's rules of fam forward to other hosts.
func publishes(cur *firewall.Loaded, fam firewall.Family) []publish {
	ev := cur.Evaluator(fam, "")
	if ev == nil {
		return nil
	}
	var out []publish
	for _, fd := range ev.PortForwards() {
		r := fd.Rule
		if (fd.Proto != "tcp" && fd.Proto != "udp") || len(r.DPorts()) != 1 {
			continue
		}
		for p := int(fd.Ports.Lo); p <= int(fd.Ports.Hi) && p-int(fd.Ports.Lo) < maxPublishRange; p++ {
			pb := publish{fam, fd.Proto, fd.Addr, uint16(p), fd.Target(uint16(p))}
			if !slices.Contains(out, pb) {
				out = append(out, pb)
			}
		}
	}
	return out
}

// receives reports whether listener l gets what is published on p.
func (p publish) receives(l scan.Listener) bool {
	if l.Proto != p.proto || l.Port != p.port || !slices.Contains(familiesOf(l), p.fam) {
		return false
	}
	a := l.Address.Unmap()
	return a.IsUnspecified() || p.addr.IsUnspecified() || a == p.addr
}

// publishedListeners makes a listener for every published port no socket
// receives (Docker 28 and later without the userland proxy), bound where
// the port is published, so the policy decides it as any other. Ports
// published on loopback are left out: nothing outside reaches them.
func publishedListeners(pubs []publish, ls []scan.Listener) []scan.Listener {
	var out []scan.Listener
	for _, p := range pubs {
		if p.addr.IsLoopback() || slices.ContainsFunc(ls, p.receives) || slices.ContainsFunc(out, p.receives) {
			continue
		}
		exp := scan.ExposurePublic
		if !p.addr.IsUnspecified() {
			exp = scan.ExposureSpecific
		}
		l := scan.Listener{Proto: p.proto, Family: string(p.fam), Address: p.addr, Port: p.port, Exposure: exp}
		if svc, ok := scan.Identify(p.proto, p.port, ""); ok {
			l.Service, l.ServiceBy = svc.Name, scan.ServiceByPort
		}
		out = append(out, l)
	}
	return out
}

// Forward is what the suggestion lets through to one published port in
// one family, matched by the port (and host address) the client connected
// to, before the DNAT. Ports kept open to everyone have none.
type Forward struct {
	Family  firewall.Family
	Proto   string
	Port    uint16         // the host port
	Dst     netip.Addr     // published on this host address only; invalid for all
	To      netip.AddrPort // the container side
	Sources []netip.Prefix // only from these; nil: from anywhere but Except (or nobody when Closed)
	Except  []netip.Prefix // dropped
	Ifaces  []string       // only arriving on these (nil: any)
	Closed  bool           // from nobody
	Service string
}

// fwdLine is one rule of a Forward: from where, and whether it passes
// (on to Docker's own rules) or is dropped.
type fwdLine struct {
	src  netip.Prefix // invalid: any
	in   string
	pass bool
}

// lines lists the Forward's rules in order: its blocklist, the sources
// (and interfaces) it admits, then a drop of the rest.
func (f Forward) lines() []fwdLine {
	var out []fwdLine
	for _, e := range f.Except {
		out = append(out, fwdLine{src: e})
	}
	if f.Closed {
		return append(out, fwdLine{})
	}
	if f.Sources == nil && len(f.Ifaces) == 0 {
		return out
	}
	srcs := []netip.Prefix{{}}
	if f.Sources != nil {
		srcs = f.Sources
	}
	ins := []string{""}
	if len(f.Ifaces) > 0 {
		ins = f.Ifaces
	}
	for _, s := range srcs {
		for _, in := range ins {
			out = append(out, fwdLine{src: s, in: in, pass: true})
		}
	}
	return append(out, fwdLine{})
}

// comment is the Forward's rule comment.
func (f Forward) comment() string {
	name := f.Service
	if name == "" {
		name = fmt.Sprintf("%s/%d", f.Proto, f.Port)
	}
	return fmt.Sprintf("%s published to %s", name, f.To)
}

// args renders the Forward as iptables rules appended to chain, passing
// with target pass (RETURN in DOCKER-USER, ACCEPT in a base chain), in the
// order iptables-save prints the options.
func (f Forward) args(chain, pass string) [][]string {
	var out [][]string
	for _, ln := range f.lines() {
		a := []string{"-A", chain}
		if ln.src.IsValid() {
			a = append(a, "-s", ln.src.String())
		}
		if ln.in != "" {
			a = append(a, "-i", ln.in)
		}
		a = append(a, "-p", f.Proto, "-m", "conntrack", "--ctstate", "NEW")
		if f.Dst.IsValid() {
			a = append(a, "--ctorigdst", f.Dst.String())
		}
		a = append(a, "--ctorigdstport", strconv.Itoa(int(f.Port)),
			"-m", "comment", "--comment", limitBytes(f.comment(), maxIptComment))
		if ln.pass {
			a = append(a, "-j", pass)
		} else {
			a = append(a, "-j", "DROP")
		}
		out = append(out, a)
	}
	return out
}

// nft renders the Forward as rules of an inet base chain that runs before
// Docker's: accept ends only that chain, so a passed packet still meets
// Docker's rules; drop is final.
func (f Forward) nft() []string {
	ip := "ip"
	if f.Family == firewall.IPv6 {
		ip = "ip6"
	}
	var out []string
	for _, ln := range f.lines() {
		var parts []string
		if ln.src.IsValid() {
			parts = append(parts, ip+" saddr "+ln.src.String())
		} else {
			parts = append(parts, "meta nfproto "+map[firewall.Family]string{firewall.IPv4: "ipv4", firewall.IPv6: "ipv6"}[f.Family])
		}
		if ln.in != "" {
			parts = append(parts, "iifname "+nftQuote(ln.in))
		}
		parts = append(parts, "meta l4proto "+f.Proto, "ct state new", fmt.Sprintf("ct original proto-dst %d", f.Port))
		if f.Dst.IsValid() {
			parts = append(parts, "ct original "+ip+" daddr "+f.Dst.String())
		}
		verdict := "drop"
		if ln.pass {
			verdict = "accept"
		}
		parts = append(parts, verdict+" comment "+nftQuote(limitBytes(f.comment(), maxNftComment)))
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// forwardFor records what the policy lets through to the ports published
// to l in fam: nothing to add when it keeps them open to everyone.
func (b *builder) forwardFor(l scan.Listener, fam firewall.Family, rc *reach) {
	for _, p := range b.pubs[fam] {
		if !p.receives(l) || p.addr.IsLoopback() {
			continue
		}
		f := Forward{Family: fam, Proto: p.proto, Port: p.port, To: p.to, Service: l.Service}
		if !p.addr.IsUnspecified() {
			f.Dst = p.addr
		}
		switch {
		case rc == nil:
			f.Closed = true
		case rc.sources == nil && len(rc.except) == 0 && len(rc.ifaces) == 0:
			continue // open to everyone: Docker's own rules do that
		default:
			f.Sources, f.Except, f.Ifaces = rc.sources, rc.except, rc.ifaces
		}
		if f.Sources != nil && len(f.Sources) == 0 {
			f.Sources, f.Closed = nil, true
		}
		if !slices.ContainsFunc(b.p.Forward, func(o Forward) bool {
			return o.Family == f.Family && o.Proto == f.Proto && o.Port == f.Port && o.Dst == f.Dst
		}) {
			b.p.Forward = append(b.p.Forward, f)
		}
	}
}

// dockerSetup finds Docker in the current rules: its layout per family,
// the ports it publishes, and a listener for each published port no
// socket receives. It warns about what the suggestion leaves to Docker.
func (b *builder) dockerSetup(ls []scan.Listener) []scan.Listener {
	cur := b.opts.Current
	if cur == nil {
		return nil
	}
	var extra []scan.Listener
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		kind := dockerLayout(cur, fam)
		if kind == noDocker {
			continue
		}
		if b.p.docker == nil {
			b.p.docker = map[firewall.Family]dockerKind{}
			b.pubs = map[firewall.Family][]publish{}
		}
		b.p.docker[fam] = kind
		b.pubs[fam] = publishes(cur, fam)
		extra = append(extra, publishedListeners(b.pubs[fam], append(slices.Clone(ls), extra...))...)
		switch kind {
		case dockerUser:
			b.warn(Warning{Msg: fmt.Sprintf("Docker's chains are loaded (%s): the %s output rewrites only INPUT and DOCKER-USER and leaves FORWARD, Docker's chains and nat as they are", fam, restoreName(fam)),
				Hint: fmt.Sprintf("load it with %s --noflush (without --noflush it would wipe Docker's chains)", restoreName(fam))})
			if n := userRules(cur, fam); n > 0 {
				b.warn(Warning{Msg: fmt.Sprintf("DOCKER-USER holds %d rules today (%s); the suggestion replaces them with its own for the published ports", n, fam)})
			}
		case dockerChains, dockerNft:
			why := "nothing jumps to DOCKER-USER"
			if kind == dockerNft {
				why = "Docker uses its nftables backend (table " + map[firewall.Family]string{firewall.IPv4: "ip", firewall.IPv6: "ip6"}[fam] + " docker-bridges)"
			}
			b.warn(Warning{Msg: fmt.Sprintf("Docker filters forwarded %s traffic and %s: the %s output rewrites only INPUT and cannot close or restrict published ports there", fam, why, restoreName(fam)),
				Hint: "load it with " + restoreName(fam) + " --noflush; to close published ports, use --format nft (a forward chain before Docker's)"})
		}
	}
	slices.SortStableFunc(extra, cmpListener)
	b.p.published = extra
	return extra
}

// userRules counts today's DOCKER-USER rules other than Docker's own
// closing RETURN.
func userRules(cur *firewall.Loaded, fam firewall.Family) int {
	return firewall.DockerUserRules(cur.Of(fam).Sets)
}

func restoreName(fam firewall.Family) string {
	if fam == firewall.IPv6 {
		return "ip6tables-restore"
	}
	return "iptables-restore"
}

// noflush reports whether fam's restore output is for --noflush (Docker's
// chains stay).
func (p *Policy) noflush(fam firewall.Family) bool { return p.docker[fam] != noDocker }

// onDocker reports whether Docker was found in either family.
func (p *Policy) onDocker() bool { return len(p.docker) > 0 }

// dockerUserSteps lists the DOCKER-USER rules of the families where
// FORWARD reaches it: replies first, the published ports' rules, and
// Docker's closing RETURN.
func (p *Policy) dockerUserSteps() []step {
	var out []step
	head := step{echo: "letting replies to containers through DOCKER-USER"}
	tail := step{echo: "handing everything else to Docker's own rules"}
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		if p.docker[fam] != dockerUser {
			continue
		}
		h := [][]string{{"-A", dockerUserChain, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"}}
		t := [][]string{{"-A", dockerUserChain, "-j", "RETURN"}}
		if fam == firewall.IPv4 {
			head.v4, tail.v4 = h, t
		} else {
			head.v6, tail.v6 = h, t
		}
	}
	if head.v4 == nil && head.v6 == nil {
		return nil
	}
	out = append(out, head)
	for i := 0; i < len(p.Forward); {
		j := i
		for j < len(p.Forward) && p.Forward[j].Port == p.Forward[i].Port && p.Forward[j].Proto == p.Forward[i].Proto {
			j++
		}
		st := step{echo: forwardEcho(p.Forward[i:j])}
		for _, f := range p.Forward[i:j] {
			if p.docker[f.Family] != dockerUser {
				continue
			}
			if f.Family == firewall.IPv4 {
				st.v4 = append(st.v4, f.args(dockerUserChain, "RETURN")...)
			} else {
				st.v6 = append(st.v6, f.args(dockerUserChain, "RETURN")...)
			}
		}
		if st.v4 != nil || st.v6 != nil {
			out = append(out, st)
		}
		i = j
	}
	return append(out, tail)
}

// forwardEcho says what a group of Forwards (one port) does.
func forwardEcho(fs []Forward) string {
	f := fs[0]
	name := f.Service
	if name == "" {
		name = fmt.Sprintf("%s/%d", f.Proto, f.Port)
	}
	port := strconv.Itoa(int(f.Port))
	if f.Proto != "tcp" {
		port += "/" + f.Proto
	}
	if f.Closed {
		return fmt.Sprintf("closing published port %s (%s)", port, name)
	}
	var srcs []string
	for _, x := range fs {
		for _, s := range x.Sources {
			srcs = appendNew(srcs, s.String())
		}
	}
	if len(srcs) == 0 {
		return fmt.Sprintf("restricting published port %s (%s)", port, name)
	}
	return fmt.Sprintf("restricting published port %s (%s) to %s", port, name, strings.Join(srcs, ", "))
}
