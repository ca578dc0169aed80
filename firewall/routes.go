package firewall

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ParseProcRoutes reads /proc/net/route (IPv4: Iface, Destination,
// Gateway, Flags, ..., Mask, in little-endian hex).
func ParseProcRoutes(r io.Reader) ([]Route, error) {
	var out []Route
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			if len(f) > 0 && f[0] == "Iface" {
				continue
			}
		}
		if len(f) < 8 {
			continue
		}
		dst, err1 := hexLE32(f[1])
		mask, err2 := hexLE32(f[7])
		flags, err3 := strconv.ParseUint(f[3], 16, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("/proc/net/route: bad line %q", sc.Text())
		}
		if flags&0x1 == 0 { // RTF_UP
			continue
		}
		bits := maskBits(mask)
		if bits < 0 {
			continue
		}
		iface := f[0]
		if flags&0x200 != 0 { // RTF_REJECT
			iface = ""
		}
		out = append(out, Route{netip.PrefixFrom(dst, bits).Masked(), iface})
	}
	return out, sc.Err()
}

func hexLE32(s string) (netip.Addr, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return netip.Addr{}, fmt.Errorf("bad hex address %q", s)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(b))
	return netip.AddrFrom4(a), nil
}

// ParseProcIPv6Routes reads /proc/net/ipv6_route (destination, prefix
// length, source, source length, next hop, metric, refcount, use, flags,
// device). Only the main table is listed there.
func ParseProcIPv6Routes(r io.Reader) ([]Route, error) {
	var out []Route
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		b, err := hex.DecodeString(f[0])
		plen, err2 := strconv.ParseUint(f[1], 16, 8)
		flags, err3 := strconv.ParseUint(f[8], 16, 32)
		if err != nil || len(b) != 16 || err2 != nil || err3 != nil || plen > 128 {
			return nil, fmt.Errorf("/proc/net/ipv6_route: bad line %q", sc.Text())
		}
		if flags&0x1 == 0 || flags&0x80000000 != 0 {
			continue // down, or a local address (the evaluator knows those)
		}
		iface := f[9]
		if flags&0x200 != 0 {
			iface = "" // unreachable, blackhole, prohibit (shown on lo)
		}
		out = append(out, Route{netip.PrefixFrom(netip.AddrFrom16([16]byte(b)), int(plen)).Masked(), iface})
	}
	return out, sc.Err()
}

// routeTable answers reverse-path checks from the host's routes.
type routeTable struct {
	byIface map[string]addrSet // sources whose best route leaves by the interface
	any     addrSet            // sources with a route that sends somewhere
}

// newRouteTable resolves routes by longest prefix; the host's own
// addresses are local routes (out by lo, never by an outside interface).
func newRouteTable(fam Family, routes []Route, local addrSet) *routeTable {
	rs := slices.Clone(routes)
	slices.SortStableFunc(rs, func(a, b Route) int { return b.Prefix.Bits() - a.Prefix.Bits() })
	t := &routeTable{byIface: map[string]addrSet{}, any: emptySet(fam)}
	covered := local
	for _, r := range rs {
		if r.Prefix.Addr().Is4() != (fam == IPv4) {
			continue
		}
		part := prefixSet(fam, r.Prefix).subtract(covered)
		covered = covered.union(part)
		if r.Iface == "" || part.isEmpty() {
			continue
		}
		s, ok := t.byIface[r.Iface]
		if !ok {
			s = emptySet(fam)
		}
		t.byIface[r.Iface] = s.union(part)
		t.any = t.any.union(part)
	}
	return t
}

// rpfMatch is the set of sources arriving on iface for which check c
// holds as the rule asks; known is false when that depends on routes not
// known (rt nil). A packet on lo passes every reverse-path check: the
// kernel skips the lookup for looped-back packets, xt_rpfilter (iptables
// -m rpfilter) matching any packet of type PACKET_LOOPBACK or arriving on
// an IFF_LOOPBACK device as passing (rpfilter_is_loopback in
// net/ipv4/netfilter/ipt_rpfilter.c and net/ipv6/netfilter/ip6t_rpfilter.c),
// and nft's fib expression answering such a packet's lookup with its own
// input interface (nft_fib_is_loopback in include/net/netfilter/nft_fib.h),
// so that "fib saddr . iif oif missing" never holds for it.
func rpfMatch(c *rpf, rt *routeTable, iface string, fam Family) (set addrSet, known bool) {
	if iface == "lo" {
		if c.failing {
			return emptySet(fam), true
		}
		return fullSet(fam), true
	}
	if rt == nil {
		return addrSet{}, false
	}
	return rt.matching(c, iface, fam), true
}

// matching is the set of sources arriving on iface for which the check
// holds as the rule asks (passing, or with failing, failing).
func (t *routeTable) matching(c *rpf, iface string, fam Family) addrSet {
	pass := t.any
	if !c.loose {
		pass = t.byIface[iface]
		if pass.fam == "" {
			pass = emptySet(fam)
		}
	}
	if c.failing {
		return pass.complement()
	}
	return pass
}
