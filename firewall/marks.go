package firewall

import (
	"fmt"
	"strconv"
	"strings"
)

// Packet marks. A packet from outside arrives with mark 0; only rules set
// one (iptables -j MARK, nft "meta mark set"). The evaluator follows the
// marks the rules set, so that a mark set in prerouting and matched in
// input, or later in the same chain, is judged exactly. A mark set by an
// expression it cannot follow (restored from the connection, copied from
// another field) makes the matches that read it runtime-dependent
// (conditional where it matters).

// markOp changes a mark: new = (old & and) ^ xor.
type markOp struct {
	and, xor uint32
	unknown  bool // an expression the evaluator does not follow
}

func (o markOp) apply(m uint32) uint32 { return m&o.and ^ o.xor }

// markMatch holds when (mark & mask) == val, or not with neg.
type markMatch struct {
	mask, val uint32
	neg       bool
}

func (m markMatch) test(mark uint32) bool { return (mark&m.mask == m.val) != m.neg }

// markWhy is the reason given where a mark match cannot be decided.
const markWhy = "packet mark set by an expression not followed (from the connection or another field)"

func parseMarkValue(s string) (uint32, uint32, error) {
	v, m, hasMask := strings.Cut(s, "/")
	val, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("bad mark %q", s)
	}
	mask := uint64(0xffffffff)
	if hasMask {
		if mask, err = strconv.ParseUint(m, 0, 32); err != nil {
			return 0, 0, fmt.Errorf("bad mark %q", s)
		}
	}
	return uint32(val), uint32(mask), nil
}

// iptablesMarkOp reads -j MARK's options (iptables-extensions MARK).
func iptablesMarkOp(args map[string]string) *markOp {
	for opt, v := range args {
		val, mask, err := parseMarkValue(v)
		if err != nil {
			return &markOp{unknown: true}
		}
		switch opt {
		case "--set-xmark":
			return &markOp{and: ^mask, xor: val}
		case "--set-mark":
			return &markOp{and: ^mask, xor: val & mask}
		case "--or-mark":
			return &markOp{and: ^val, xor: val}
		case "--and-mark":
			return &markOp{and: val}
		case "--xor-mark":
			return &markOp{and: 0xffffffff, xor: val}
		}
	}
	return &markOp{unknown: true}
}

// nftMarkOp reads the value of "meta mark set VALUE": a number, or the
// mark itself or-ed, and-ed or xor-ed with one.
func nftMarkOp(v any) *markOp {
	if n, ok := jInt(v); ok {
		return &markOp{xor: uint32(n)}
	}
	if op, args, ok := jOne(v); ok {
		l := jList(args)
		if n, isNum := jInt(func() any {
			if len(l) == 2 {
				return l[1]
			}
			return nil
		}()); len(l) == 2 && isNum && isMetaMark(l[0]) {
			m := uint32(n)
			switch op {
			case "|":
				return &markOp{and: ^m, xor: m}
			case "&":
				return &markOp{and: m}
			case "^":
				return &markOp{and: 0xffffffff, xor: m}
			}
		}
	}
	return &markOp{unknown: true}
}

func isMetaMark(v any) bool {
	return jField(jObj(v)["meta"], "key") == "mark"
}
