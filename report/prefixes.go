package report

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// Prefixes is a list of address prefixes, written as their text
// ("10.0.0.0/8"): a verdict's sources, exceptions, doubtful sources and
// destinations. A list judged here keeps IPv4 prefixes packed in 8 bytes
// each and is formatted only when it is written; one read back from JSON
// keeps the text it was read as. Behind a ban set of 100,000 addresses
// every listener open to the rest of the world has about 100,000
// exceptions, most of them alike: verdictCache makes lists equal in
// content one list, so a list is shared and nothing may change it once
// made. A nil *Prefixes is no list (JSON null); an empty one is [].
type Prefixes struct {
	v4   []uint64 // address<<8 | bits, when every prefix is an IPv4 one
	text []string // otherwise
}

// newPrefixes is ps as a list; never nil.
func newPrefixes(ps []netip.Prefix) *Prefixes {
	v4 := make([]uint64, 0, len(ps))
	for _, p := range ps {
		if !p.Addr().Is4() || !p.IsValid() {
			return &Prefixes{text: prefixStrings(ps)}
		}
		a := p.Addr().As4()
		v4 = append(v4, (uint64(a[0])<<24|uint64(a[1])<<16|uint64(a[2])<<8|uint64(a[3]))<<8|uint64(p.Bits()))
	}
	return &Prefixes{v4: v4}
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
	return len(p.v4)
}

// At is the text of the i-th prefix.
func (p *Prefixes) At(i int) string {
	if p.text != nil {
		return p.text[i]
	}
	return string(appendV4(nil, p.v4[i]))
}

// Strings is the text of every prefix, a list of its own; nil for nil.
func (p *Prefixes) Strings() []string {
	if p == nil {
		return nil
	}
	if p.text != nil {
		return slices.Clone(p.text)
	}
	out := make([]string, len(p.v4))
	var buf [18]byte
	for i, x := range p.v4 {
		out[i] = string(appendV4(buf[:0], x))
	}
	return out
}

// equal reports whether p and q hold the same prefixes in the same form.
func (p *Prefixes) equal(q *Prefixes) bool {
	if p == q {
		return true
	}
	if p == nil || q == nil || (p.text == nil) != (q.text == nil) {
		return false
	}
	return slices.Equal(p.v4, q.v4) && slices.Equal(p.text, q.text)
}

// hash is a hash of p's content, for verdictCache.
func (p *Prefixes) hash() uint64 {
	h := uint64(14695981039346656037)
	mix := func(x uint64) {
		h ^= x
		h *= 1099511628211
		h ^= h >> 29
	}
	mix(uint64(len(p.v4)))
	for _, x := range p.v4 {
		mix(x)
	}
	for _, s := range p.text {
		for i := 0; i < len(s); i++ {
			mix(uint64(s[i]))
		}
		mix(0x100)
	}
	return h
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
	if o.w != nil && len(p.v4) >= bigList && len(p.v4) <= keptList {
		if o.last != p {
			o.last, o.lastText = p, appendV4List(o.lastText[:0], p.v4, nil)
		}
		o.b = append(o.b, o.lastText...)
		o.spill()
		return
	}
	o.b = appendV4List(o.b, p.v4, o)
}

// appendV4List appends packed IPv4 prefixes as a JSON array of strings,
// spilling o (when not nil) every 1,024 prefixes.
func appendV4List(b []byte, v4 []uint64, o *jsonOut) []byte {
	b = append(b, '[')
	for i, x := range v4 {
		if i > 0 {
			b = append(b, ',')
			if o != nil && i%1024 == 0 {
				o.b = b
				o.spill()
				b = o.b
			}
		}
		// the text of an IPv4 prefix needs no escaping
		b = append(b, '"')
		b = appendV4(b, x)
		b = append(b, '"')
	}
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
	s.r = make([]addrRange, 0, len(p.v4))
	for _, x := range p.v4 {
		bits := int(x & 0xff)
		lo := u128{0, x >> 8 &^ ones(32-bits).lo}
		s.r = append(s.r, addrRange{lo, lo.or(ones(32 - bits))})
	}
	return s.normal()
}

// String is p as fmt prints a []string: "[10.0.0.0/8 192.168.0.0/16]".
func (p *Prefixes) String() string {
	return fmt.Sprint(p.Strings())
}
