package report

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/fwaudit/fwaudit/firewall"
)

// Prefixes is a list of address prefixes, written as their text
// ("10.0.0.0/8"): a verdict's sources, exceptions, doubtful sources and
// destinations. A list judged here keeps IPv4 prefixes as ranges of
// addresses, 8 bytes each, and is formatted only when it is written; one
// read back from JSON keeps the text it was read as. A range stands for
// the minimal list of prefixes covering it (firewall.EachPackedPrefix):
// behind a ban set of 100,000 single addresses, the rest of the world is
// 100,000 ranges but 1.2 million prefixes. Every listener open to the rest
// of the world has about 100,000 exceptions, most of them alike:
// verdictCache makes lists equal in content one list, and one that
// differs from a list made before in a few ranges a patch of it (rebase),
// so a list is shared and nothing may change it once made. A nil
// *Prefixes is no list (JSON null); an empty one is [].
type Prefixes struct {
	// v4: when every prefix is an IPv4 one, the ranges in address order,
	// each its first address<<32 | its last, in pieces that may be parts
	// of another list's; n is the number of prefixes they stand for
	v4   [][]uint64
	n    int
	text []string // otherwise
}

// newPrefixes is ps as a list; never nil.
func newPrefixes(ps []netip.Prefix) *Prefixes {
	v4 := make([]uint64, 0, len(ps))
	for _, p := range ps {
		if !p.Addr().Is4() || !p.IsValid() || p.Masked() != p {
			return &Prefixes{text: prefixStrings(ps)}
		}
		// a prefix's range stands for the prefix itself
		a := p.Addr().As4()
		lo := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
		v4 = append(v4, lo<<32|lo|(1<<(32-p.Bits())-1))
	}
	return &Prefixes{v4: [][]uint64{v4}, n: len(ps)}
}

// packedPrefixes is a list of packed IPv4 ranges (firewall.PackedLists);
// never nil.
func packedPrefixes(ranges []uint64) *Prefixes {
	n := 0
	for _, x := range ranges {
		n += firewall.PackedPrefixCount(x)
	}
	return &Prefixes{v4: [][]uint64{ranges}, n: n}
}

// textPrefixes is a list of prefixes as written; nil stays nil.
func textPrefixes(ss []string) *Prefixes {
	if ss == nil {
		return nil
	}
	return &Prefixes{text: ss}
}

// prefixStrings is each prefix's text.
func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// Len is the number of prefixes; 0 for nil.
func (p *Prefixes) Len() int {
	if p == nil {
		return 0
	}
	if p.text != nil {
		return len(p.text)
	}
	return p.n
}

// eachV4 calls f with each IPv4 prefix, packed as its address<<8 | its
// length.
func (p *Prefixes) eachV4(f func(x uint64)) {
	for _, piece := range p.v4 {
		for _, r := range piece {
			firewall.EachPackedPrefix(r, f)
		}
	}
}

// At is the text of the i-th prefix.
func (p *Prefixes) At(i int) string {
	if p.text != nil {
		return p.text[i]
	}
	for _, piece := range p.v4 {
		for _, r := range piece {
			if n := firewall.PackedPrefixCount(r); i >= n {
				i -= n
				continue
			}
			var s string
			firewall.EachPackedPrefix(r, func(x uint64) {
				if i == 0 {
					s = string(appendV4(nil, x))
				}
				i--
			})
			return s
		}
	}
	panic("report: Prefixes.At past the end")
}

// Strings is the text of every prefix, a list of its own; nil for nil.
func (p *Prefixes) Strings() []string {
	if p == nil {
		return nil
	}
	if p.text != nil {
		return slices.Clone(p.text)
	}
	out := make([]string, 0, p.n)
	var buf [18]byte
	p.eachV4(func(x uint64) { out = append(out, string(appendV4(buf[:0], x))) })
	return out
}

// ranges is a cursor over the IPv4 ranges of a list, whatever its pieces.
type ranges struct {
	pieces [][]uint64
	i, j   int
}

// next is the next range; ok is false past the last.
func (c *ranges) next() (x uint64, ok bool) {
	for c.i < len(c.pieces) {
		if c.j < len(c.pieces[c.i]) {
			c.j++
			return c.pieces[c.i][c.j-1], true
		}
		c.i, c.j = c.i+1, 0
	}
	return 0, false
}

// equal reports whether p and q hold the same prefixes in the same form.
func (p *Prefixes) equal(q *Prefixes) bool {
	if p == q {
		return true
	}
	if p == nil || q == nil || (p.text == nil) != (q.text == nil) {
		return false
	}
	if p.text != nil {
		return slices.Equal(p.text, q.text)
	}
	if p.n != q.n {
		return false
	}
	a, b := ranges{pieces: p.v4}, ranges{pieces: q.v4}
	for {
		x, okx := a.next()
		y, oky := b.next()
		if okx != oky || x != y {
			return false
		}
		if !okx {
			return true
		}
	}
}

// hash is a hash of p's content, for verdictCache.
func (p *Prefixes) hash() uint64 {
	h := uint64(14695981039346656037)
	mix := func(x uint64) {
		h ^= x
		h *= 1099511628211
		h ^= h >> 29
	}
	mix(uint64(p.n))
	for _, piece := range p.v4 {
		for _, x := range piece {
			mix(x)
		}
	}
	for _, s := range p.text {
		for i := 0; i < len(s); i++ {
			mix(uint64(s[i]))
		}
		mix(0x100)
	}
	return h
}

// rebase is l made of pieces of base where the two hold the same ranges,
// and ok true, when l is one piece and differs from base in few enough
// ranges (a sixteenth of its own) for that to be smaller.
func rebase(l *Prefixes, base []uint64) (*Prefixes, bool) {
	if l.text != nil || len(l.v4) != 1 {
		return l, false
	}
	ranges := l.v4[0]
	// a run: ranges[from:to], base[at:at+to-from] when shared
	type run struct {
		from, to, at int
		shared       bool
	}
	var runs []run
	budget := len(ranges) / 16
	i := 0
	for j := 0; j < len(ranges); j++ {
		for i < len(base) && base[i] < ranges[j] {
			i++
		}
		shared := i < len(base) && base[i] == ranges[j]
		if k := len(runs) - 1; k >= 0 && runs[k].to == j && runs[k].shared == shared && (!shared || runs[k].at+j-runs[k].from == i) {
			runs[k].to++
		} else {
			runs = append(runs, run{from: j, to: j + 1, at: i, shared: shared})
			budget -= 3 // a piece costs as much as three ranges
		}
		if shared {
			i++
		} else {
			budget--
		}
		if budget < 0 {
			return l, false
		}
	}
	var own []uint64 // the ranges base lacks, one array for every piece
	for _, r := range runs {
		if !r.shared {
			own = append(own, ranges[r.from:r.to]...)
		}
	}
	pieces := make([][]uint64, 0, len(runs))
	for _, r := range runs {
		if r.shared {
			pieces = append(pieces, base[r.at:r.at+r.to-r.from:r.at+r.to-r.from])
		} else {
			pieces = append(pieces, own[:r.to-r.from:r.to-r.from])
			own = own[r.to-r.from:]
		}
	}
	return &Prefixes{v4: pieces, n: l.n}, true
}

// decimal is the text of 0 to 255: a ban set's 100,000 prefixes are
// written for each listener open behind it.
var decimal = func() (t [256]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

// appendV4 appends a packed IPv4 prefix as text: "10.0.0.0/8".
func appendV4(b []byte, x uint64) []byte {
	b = append(b, decimal[x>>32&0xff]...)
	b = append(b, '.')
	b = append(b, decimal[x>>24&0xff]...)
	b = append(b, '.')
	b = append(b, decimal[x>>16&0xff]...)
	b = append(b, '.')
	b = append(b, decimal[x>>8&0xff]...)
	b = append(b, '/')
	return append(b, decimal[x&0xff]...)
}

// appendJSON appends p as a JSON array of strings (null for nil), as
// encoding/json writes a []string.
func (p *Prefixes) appendJSON(b []byte, escapeHTML bool) []byte {
	o := jsonOut{b: b}
	p.writeJSON(&o, escapeHTML)
	return o.b
}

// writeJSON appends p to o as appendJSON does, spilling o every 1,024
// prefixes.
func (p *Prefixes) writeJSON(o *jsonOut, escapeHTML bool) {
	switch {
	case p == nil:
		o.b = append(o.b, "null"...)
		return
	case p.text != nil:
		o.b = appendJSONStrings(o.b, p.text, escapeHTML)
		return
	}
	if o.w != nil && p.n >= bigList && p.n <= keptList {
		if o.last != p {
			o.last, o.lastText = p, p.appendV4List(o.lastText[:0], nil)
		}
		o.b = append(o.b, o.lastText...)
		o.spill()
		return
	}
	o.b = p.appendV4List(o.b, o)
}

// appendV4List appends p's IPv4 prefixes as a JSON array of strings,
// spilling o (when not nil) every 1,024 prefixes.
func (p *Prefixes) appendV4List(b []byte, o *jsonOut) []byte {
	b = append(b, '[')
	i := 0
	p.eachV4(func(x uint64) {
		if i > 0 {
			b = append(b, ',')
			if o != nil && i%1024 == 0 {
				o.b = b
				o.spill()
				b = o.b
			}
		}
		i++
		// the text of an IPv4 prefix needs no escaping
		b = append(b, '"')
		b = appendV4(b, x)
		b = append(b, '"')
	})
	return append(b, ']')
}

// MarshalJSON writes p as a list of strings.
func (p *Prefixes) MarshalJSON() ([]byte, error) {
	return p.appendJSON(nil, false), nil
}

// UnmarshalJSON reads a list of strings, kept as they are written.
func (p *Prefixes) UnmarshalJSON(b []byte) error {
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	if ss == nil {
		ss = []string{}
	}
	*p = Prefixes{text: ss}
	return nil
}

// set is the addresses of p's prefixes of one family (parseSources).
func (p *Prefixes) set(v6 bool) sourceSet {
	if p == nil {
		return sourceSet{v6: v6}
	}
	if p.text != nil {
		return parseSources(v6, p.text)
	}
	s := sourceSet{v6: v6}
	if v6 {
		return s
	}
	n := 0
	for _, piece := range p.v4 {
		n += len(piece)
	}
	s.r = make([]addrRange, 0, n)
	for _, piece := range p.v4 {
		for _, x := range piece {
			s.r = append(s.r, addrRange{u128{0, x >> 32}, u128{0, x & 0xffffffff}})
		}
	}
	return s.normal()
}

// String is p as fmt prints a []string: "[10.0.0.0/8 192.168.0.0/16]".
func (p *Prefixes) String() string {
	return fmt.Sprint(p.Strings())
}
