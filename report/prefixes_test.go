package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
)

// TestPrefixesAsStrings: a judged list says, writes and stands for what
// the text of its prefixes does (the form FamilyVerdict held before).
func TestPrefixesAsStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		var ps []netip.Prefix
		v6 := i%3 == 0
		for range r.IntN(20) {
			var a netip.Addr
			if v6 {
				a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(r.IntN(4)), byte(r.IntN(256))})
			} else {
				a = netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
			}
			ps = append(ps, netip.PrefixFrom(a, r.IntN(a.BitLen()+1)))
		}
		l, text := newPrefixes(ps), prefixStrings(ps)
		if got := l.Strings(); !slices.Equal(got, text) || l.Len() != len(text) {
			t.Fatalf("%v: Strings %q, Len %d, want %q", ps, got, l.Len(), text)
		}
		for k := range text {
			if l.At(k) != text[k] {
				t.Fatalf("%v: At(%d) %q, want %q", ps, k, l.At(k), text[k])
			}
		}
		want, err := json.Marshal(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.appendJSON(nil, true); !bytes.Equal(got, want) {
			t.Fatalf("%v: JSON %s, want %s", ps, got, want)
		}
		var back Prefixes
		if err := json.Unmarshal(want, &back); err != nil || !slices.Equal(back.Strings(), text) {
			t.Fatalf("%s read back as %q (%v)", want, back.Strings(), err)
		}
		if got, want := l.set(v6), parseSources(v6, text); !slices.Equal(got.r, want.r) {
			t.Fatalf("%v: set %v, parsed %v", ps, got.r, want.r)
		}
	}
}

// TestVerdictCacheSharesEqualLists: long lists equal in content, made
// apart, are one list once judged through one cache, and the sockets are
// written byte for byte as when nothing is shared; a list that differs in
// one prefix is its own.
func TestVerdictCacheSharesEqualLists(t *testing.T) {
	ban := func(last byte) []netip.Prefix {
		ps := make([]netip.Prefix, 0, bigList+10)
		for i := range bigList + 10 {
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), last}), 32))
		}
		return ps
	}
	results := []firewall.Result{
		{Verdict: firewall.Open, Except: ban(1)},
		{Verdict: firewall.Open, Except: ban(1)}, // equal, made apart
		{Verdict: firewall.Open, Except: ban(2)},
		{Verdict: firewall.Restricted, Sources: ban(1), ByInterface: []firewall.IfaceResult{
			{Iface: "eth0", Result: firewall.Result{Verdict: firewall.Open, Except: ban(2)}},
		}},
	}
	results[2].Except[7] = netip.MustParsePrefix("10.0.7.0/24") // one prefix differs
	var c verdictCache
	var shared, alone []*FamilyVerdict
	for _, r := range results {
		shared = append(shared, c.newFamilyVerdict(r))
		alone = append(alone, NewFamilyVerdict(r))
	}
	if shared[0].Except != shared[1].Except {
		t.Errorf("equal except lists made apart are two lists")
	}
	if shared[0].Except == shared[2].Except || slices.Equal(shared[0].Except.Strings(), shared[2].Except.Strings()) {
		t.Errorf("a list that differs in one prefix is shared with the first, or reads as it")
	}
	if shared[3].Sources != shared[0].Except {
		t.Errorf("equal lists in different fields are two lists")
	}
	if alone[0].Except == alone[1].Except {
		t.Errorf("NewFamilyVerdict shares lists between calls")
	}
	for i := range results {
		s, a := &Socket{Firewall: &SocketFirewall{IPv4: shared[i]}}, &Socket{Firewall: &SocketFirewall{IPv4: alone[i]}}
		got, want := appendSocketJSON(nil, s, false), appendSocketJSON(nil, a, false)
		if !bytes.Equal(got, want) {
			t.Errorf("result %d: shared lists write\n%.300s\nalone\n%.300s", i, got, want)
		}
		if enc := encodingJSON(t, a, false); !bytes.Equal(want, enc) {
			t.Errorf("result %d: written %.300s\nencoding/json %.300s", i, want, enc)
		}
	}
	// the lines writer spills a long list as it goes: the same bytes
	socks := make([]Socket, len(shared))
	var want bytes.Buffer
	for i := range shared {
		socks[i] = Socket{Firewall: &SocketFirewall{IPv4: shared[i], IPv6: alone[i]}}
		if i > 0 {
			want.WriteByte(',')
		}
		want.WriteString("\n    ")
		want.Write(encodingJSON(t, &socks[i], true))
	}
	want.WriteString("\n  ")
	var got bytes.Buffer
	bw := newTestWriter(&got)
	if err := writeSocketLines(bw, socks, true); err != nil || bw.Flush() != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("lines written differ from encoding/json's (%d bytes, want %d)", got.Len(), want.Len())
	}
}

// TestRebaseKeepsTheList: a list made a patch of another (rebase) says,
// writes, hashes and stands for what it did whole, and is a patch only
// when it differs from its base in few ranges; on random lists of ranges
// with random edits (ranges dropped, added, merged with the next).
func TestRebaseKeepsTheList(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	patched := 0
	for i := range 300 {
		var base []uint64
		var at uint64
		for range 200 + r.IntN(2000) {
			at += 2 + uint64(r.IntN(1<<16))
			end := at + uint64(r.IntN(300))
			if end > 0xffffffff {
				break
			}
			base = append(base, at<<32|end)
			at = end
		}
		edits := r.IntN(1 + len(base)/[]int{4, 40, 400}[i%3])
		l := slices.Clone(base)
		for range edits {
			if len(l) < 3 {
				break
			}
			k := r.IntN(len(l) - 1)
			switch r.IntN(3) {
			case 0: // dropped
				l = slices.Delete(l, k, k+1)
			case 1: // merged with the next
				l[k] = l[k]&^0xffffffff | l[k+1]&0xffffffff
				l = slices.Delete(l, k+1, k+2)
			case 2: // shorter by one address, or a range of its own after
				if lo, hi := l[k]>>32, l[k]&0xffffffff; hi > lo {
					l[k] = lo<<32 | (hi - 1)
				} else if next := l[k+1] >> 32; next-hi > 3 {
					l = slices.Insert(l, k+1, (hi+2)<<32|(hi+2))
				}
			}
		}
		whole := packedPrefixes(slices.Clone(l))
		got, ok := rebase(packedPrefixes(l), base)
		if !ok {
			if len(got.v4) != 1 {
				t.Fatalf("a list not patched is in %d pieces", len(got.v4))
			}
			continue
		}
		patched++
		if !got.equal(whole) || !whole.equal(got) || got.hash() != whole.hash() || got.Len() != whole.Len() {
			t.Fatalf("list %d (%d edits): the patch is not the list it was made from", i, edits)
		}
		if !slices.Equal(got.Strings(), whole.Strings()) || !bytes.Equal(got.appendJSON(nil, false), whole.appendJSON(nil, false)) {
			t.Fatalf("list %d (%d edits): the patch says or writes other prefixes", i, edits)
		}
		if a, b := got.set(false), whole.set(false); !slices.Equal(a.r, b.r) {
			t.Fatalf("list %d: the patch stands for other addresses", i)
		}
		if k := whole.Len() / 2; got.At(k) != whole.At(k) {
			t.Fatalf("list %d: At(%d) %q, want %q", i, k, got.At(k), whole.At(k))
		}
		own := 0
		for _, piece := range got.v4 {
			if k, found := slices.BinarySearch(base, piece[0]); !found || &base[k] != &piece[0] {
				own += len(piece) // not a part of base
			}
		}
		if own+3*len(got.v4) > len(l)/16+3 {
			t.Fatalf("list %d: a patch of %d pieces and %d ranges of its own, of %d", i, len(got.v4), own, len(l))
		}
	}
	if patched < 100 || patched > 250 {
		t.Errorf("%d of 300 lists patched: the edits are not what the test means", patched)
	}
}
