package suggest

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
)

// step is one thing the ruleset does, in both families at once: the
// iptables renderers flatten one family's rules, the script echoes the
// step and runs both. Drawing every format from one list keeps them equal.
type step struct {
	echo   string     // what the script says (" * " is added by the script)
	v4, v6 [][]string // iptables arguments, starting with "-A"
	rule   *Rule      // the policy rule behind the step, if any
}

// icmpv6Needed are the ICMPv6 types IPv6 does not work without: errors
// destination-unreachable, packet-too-big, time-exceeded and
// parameter-problem (RFC 4443) and neighbour discovery router/neighbour
// solicitation and advertisement and redirect (RFC 4861, 133-137).
// They come before the INVALID drop so that neighbour discovery never
// depends on how conntrack classifies it (the kernel tests pass with them
// on either side of it on Linux 6.x; the order costs nothing).
var icmpv6Needed = []int{1, 2, 3, 4, 133, 134, 135, 136, 137}

const logPrefix = "fwaudit drop: "

// inputChain is the chain the steps' rules are appended to, printed in
// the rendered rules ("-A INPUT ...") and read back by the proofs.
var inputChain = firewall.IptablesChain("input")

// steps lists the policy's INPUT rules in order.
func (p *Policy) steps() []step {
	var out []step
	out = append(out, step{echo: "allowing loopback traffic",
		v4: [][]string{{"-A", inputChain, "-i", "lo", "-j", "ACCEPT"}},
		v6: [][]string{{"-A", inputChain, "-i", "lo", "-j", "ACCEPT"}}})
	out = append(out, step{echo: "dropping loopback addresses arriving from outside",
		v4: [][]string{{"-A", inputChain, "-s", "127.0.0.0/8", "!", "-i", "lo", "-j", "DROP"}},
		v6: [][]string{{"-A", inputChain, "-s", "::1/128", "!", "-i", "lo", "-j", "DROP"}}})
	out = append(out, step{echo: "allowing established and related connections",
		v4: [][]string{{"-A", inputChain, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}},
		v6: [][]string{{"-A", inputChain, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"}}})
	if st, ok := blocklistStep(append(slices.Clone(p.SSH), p.Rules...)); ok {
		out = append(out, st)
	}
	out = append(out, groupSteps(p.SSH)...)
	nd := step{echo: "allowing the ICMPv6 errors (types 1-4) and neighbour discovery (133-137) IPv6 needs"}
	for _, t := range icmpv6Needed {
		c := "icmpv6 error"
		if t >= 133 {
			c = "neighbour discovery"
		}
		nd.v6 = append(nd.v6, []string{"-A", inputChain, "-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", strconv.Itoa(t), "-m", "comment", "--comment", c, "-j", "ACCEPT"})
	}
	out = append(out, nd)
	out = append(out, step{echo: "dropping invalid packets",
		v4: [][]string{{"-A", inputChain, "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"}},
		v6: [][]string{{"-A", inputChain, "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"}}})
	if p.Ping {
		st := step{echo: "allowing ping"}
		if !p.noPing[firewall.IPv4] {
			st.v4 = [][]string{{"-A", inputChain, "-p", "icmp", "-m", "icmp", "--icmp-type", "8", "-m", "comment", "--comment", "ping", "-j", "ACCEPT"}}
		}
		if !p.noPing[firewall.IPv6] {
			st.v6 = [][]string{{"-A", inputChain, "-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", "128", "-m", "comment", "--comment", "ping", "-j", "ACCEPT"}}
		}
		switch {
		case st.v4 == nil && st.v6 == nil:
		case st.v4 == nil:
			st.echo += " (IPv6 only)"
			out = append(out, st)
		case st.v6 == nil:
			st.echo += " (IPv4 only)"
			out = append(out, st)
		default:
			out = append(out, st)
		}
	}
	out = append(out, groupSteps(p.Rules)...)
	if p.LogDrops {
		log := []string{"-A", inputChain, "-m", "limit", "--limit", "5/min", "-j", "LOG", "--log-prefix", logPrefix}
		out = append(out, step{echo: "logging dropped packets (at most 5 a minute)", v4: [][]string{log}, v6: [][]string{log}})
	}
	return out
}

// groupSteps makes one step per port and protocol, holding the rules of
// both families.
func groupSteps(rules []Rule) []step {
	var out []step
	for i := 0; i < len(rules); {
		j := i
		for j < len(rules) && rules[j].Port == rules[i].Port && rules[j].Proto == rules[i].Proto {
			j++
		}
		st := step{echo: echoFor(rules[i:j]), rule: &rules[i]}
		for _, r := range rules[i:j] {
			if r.Family == firewall.IPv4 {
				st.v4 = append(st.v4, r.args()...)
			} else {
				st.v6 = append(st.v6, r.args()...)
			}
		}
		out = append(out, st)
		i = j
	}
	return out
}

// blockComment marks the drops that carry today's blocklists over.
const blockComment = "kept out by the current rules"

// maxMultiport is the most ports one -m multiport --dports takes (the
// kernel's XT_MULTI_PORTS; iptables says "too many ports specified").
const maxMultiport = 15

// blockKey is where one blocklisted source is dropped: for which family,
// protocol, destination and interface; the ports are collected.
type blockKey struct {
	fam   firewall.Family
	proto string
	dst   netip.Addr
	in    string
	src   netip.Prefix
}

// blocklist collects every rule's Except by place and source, with the
// ports each is dropped for (sorted), in a fixed order.
func blocklist(rules []Rule) ([]blockKey, map[blockKey][]uint16) {
	ports := map[blockKey][]uint16{}
	var keys []blockKey
	for _, r := range rules {
		for _, e := range r.Except {
			k := blockKey{r.Family, r.Proto, r.Dst, r.In, e}
			if _, ok := ports[k]; !ok {
				keys = append(keys, k)
			}
			if !slices.Contains(ports[k], r.Port) {
				ports[k] = append(ports[k], r.Port)
			}
		}
	}
	for _, k := range keys {
		slices.Sort(ports[k])
	}
	slices.SortFunc(keys, func(a, b blockKey) int {
		return cmp.Or(cmp.Compare(a.fam, b.fam), a.src.Addr().Compare(b.src.Addr()), cmp.Compare(a.src.Bits(), b.src.Bits()),
			cmp.Compare(a.proto, b.proto), a.dst.Compare(b.dst), cmp.Compare(a.in, b.in))
	})
	return keys, ports
}

// blocklistStep drops, before any accept, the sources today's rules keep
// out of ports the policy opens to everyone else: one rule per source and
// place, its ports in -m multiport lists of at most 15.
func blocklistStep(rules []Rule) (step, bool) {
	keys, ports := blocklist(rules)
	if len(keys) == 0 {
		return step{}, false
	}
	st := step{echo: "dropping the sources the current rules keep out"}
	for _, k := range keys {
		ps := ports[k]
		for i := 0; i < len(ps); i += maxMultiport {
			chunk := ps[i:min(i+maxMultiport, len(ps))]
			a := []string{"-A", inputChain, "-s", k.src.String()}
			if k.dst.IsValid() {
				a = append(a, "-d", netip.PrefixFrom(k.dst, k.dst.BitLen()).String())
			}
			if k.in != "" {
				a = append(a, "-i", k.in)
			}
			a = append(a, "-p", k.proto)
			if len(chunk) == 1 {
				a = append(a, "-m", k.proto, "--dport", strconv.Itoa(int(chunk[0])))
			} else {
				list := make([]string, len(chunk))
				for j, p := range chunk {
					list[j] = strconv.Itoa(int(p))
				}
				a = append(a, "-m", "multiport", "--dports", strings.Join(list, ","))
			}
			a = append(a, "-m", "comment", "--comment", blockComment, "-j", "DROP")
			if k.fam == firewall.IPv4 {
				st.v4 = append(st.v4, a)
			} else {
				st.v6 = append(st.v6, a)
			}
		}
	}
	return st, true
}

// args renders a rule as iptables arguments, one rule per source, in the
// order iptables-save prints options (so a save after a restore matches).
func (r Rule) args() [][]string {
	srcs := []string{""}
	if r.Sources != nil {
		srcs = srcs[:0]
		for _, s := range r.Sources {
			srcs = append(srcs, s.String())
		}
	}
	var out [][]string
	for _, s := range srcs {
		for _, sports := range multiportChunks(r.SPorts) {
			a := []string{"-A", inputChain}
			if s != "" {
				a = append(a, "-s", s)
			}
			if r.Dst.IsValid() {
				a = append(a, "-d", netip.PrefixFrom(r.Dst, r.Dst.BitLen()).String())
			}
			if r.In != "" {
				a = append(a, "-i", r.In)
			}
			a = append(a, "-p", r.Proto, "-m", r.Proto)
			if len(sports) == 1 {
				a = append(a, "--sport", portRangeText(sports[0], ":"))
			}
			a = append(a, "--dport", strconv.Itoa(int(r.Port)))
			if len(sports) > 1 {
				a = append(a, "-m", "multiport", "--sports", portList(sports, ":"))
			}
			a = append(a, "-m", "comment", "--comment", limitBytes(r.Comment(), maxIptComment), "-j", "ACCEPT")
			out = append(out, a)
		}
	}
	return out
}

// multiportChunks splits source ports into lists -m multiport takes (at
// most 15 ports, a range counting as two); nil stays one chunk (any port).
func multiportChunks(rs []firewall.PortRange) [][]firewall.PortRange {
	if len(rs) == 0 {
		return [][]firewall.PortRange{nil}
	}
	var out [][]firewall.PortRange
	var cur []firewall.PortRange
	n := 0
	for _, r := range rs {
		w := 1
		if r.Lo != r.Hi {
			w = 2
		}
		if n+w > 15 {
			out, cur, n = append(out, cur), nil, 0
		}
		cur, n = append(cur, r), n+w
	}
	return append(out, cur)
}

// echoFor says what a group of rules (one port and protocol) allows.
func echoFor(rules []Rule) string {
	r := rules[0]
	var b strings.Builder
	if r.Review {
		fmt.Fprintf(&b, "allowing %s port %d (unknown service", r.Proto, r.Port)
		if r.Process != "" {
			fmt.Fprintf(&b, " %s", r.Process)
		}
		b.WriteString(": review)")
	} else {
		fmt.Fprintf(&b, "allowing %s on port %d", r.label(), r.Port)
		if r.Proto != "tcp" {
			b.WriteString("/" + r.Proto)
		}
	}
	var dsts, srcs, ins []string
	fams := map[firewall.Family]bool{}
	except := false
	for _, x := range rules {
		fams[x.Family] = true
		except = except || len(x.Except) > 0
		if x.In != "" {
			ins = appendNew(ins, x.In)
		}
		if x.Dst.IsValid() {
			dsts = appendNew(dsts, x.Dst.String())
		}
		for _, s := range x.Sources {
			srcs = appendNew(srcs, s.String())
		}
	}
	if len(dsts) > 0 {
		b.WriteString(" on " + strings.Join(dsts, ", "))
	}
	if len(ins) > 0 {
		b.WriteString(" arriving on " + strings.Join(ins, ", "))
	}
	if len(srcs) > 0 {
		b.WriteString(" from " + strings.Join(srcs, ", "))
	}
	if except {
		b.WriteString(", but for the sources the current rules keep out")
	}
	if len(fams) == 1 {
		if fams[firewall.IPv4] {
			b.WriteString(" (IPv4 only)")
		} else {
			b.WriteString(" (IPv6 only)")
		}
	}
	return b.String()
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// portRangeText is one range of ports, its ends joined by sep (":" for
// iptables and ufw, "-" for nft).
func portRangeText(r firewall.PortRange, sep string) string {
	if r.Lo == r.Hi {
		return strconv.Itoa(int(r.Lo))
	}
	return strconv.Itoa(int(r.Lo)) + sep + strconv.Itoa(int(r.Hi))
}

// portList is ranges as a comma-separated list.
func portList(rs []firewall.PortRange, sep string) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = portRangeText(r, sep)
	}
	return strings.Join(s, ",")
}
