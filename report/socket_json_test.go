package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
)

// encodingJSON is what encoding/json writes for s, without the newline.
func encodingJSON(t testing.TB, s *Socket, escapeHTML bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// jsonTrickyStrings are strings whose escaping differs between writers:
// HTML characters, control bytes, invalid UTF-8, U+2028/U+2029, DEL.
var jsonTrickyStrings = []string{
	"", "tcp", "::ffff:10.0.0.1", "a<b>&c", `quote"back\slash`, "\b\f\n\r\t", "\x00\x01\x1f\x7f",
	"bad\xffutf8\xc3", "line\u2028para\u2029", "naïve ☃ 𝄞", "\xe2\x80", "nginx: worker", "' /",
}

// fill sets every field of v (a struct, found by reflection, so that a
// field added later is filled too) from r: strings from
// jsonTrickyStrings or random bytes, slices nil, empty or filled, pointers
// nil or set.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	if v.Type() == reflect.TypeFor[*Prefixes]() {
		v.Set(reflect.ValueOf(randomPrefixes(r)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if r.IntN(3) == 0 {
			b := make([]byte, r.IntN(12))
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			v.SetString(string(b))
		} else {
			v.SetString(jsonTrickyStrings[r.IntN(len(jsonTrickyStrings))])
		}
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(r.Int64N(1<<22) - 1<<20)
	case reflect.Uint16, reflect.Uint, reflect.Uint32:
		v.SetUint(r.Uint64N(1 << 16))
	case reflect.Slice:
		switch r.IntN(3) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + r.IntN(3)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Pointer:
		if depth < 4 && r.IntN(4) != 0 {
			p := reflect.New(v.Type().Elem())
			fill(r, p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				continue // not written to JSON
			}
			fill(r, v.Field(i), depth+1)
		}
	default:
		panic("fill: no case for " + v.Type().String())
	}
}

// randomPrefixes is nil, an empty list, or a list of a few prefixes,
// either as text (tricky or random strings) or judged (IPv4 or IPv6).
func randomPrefixes(r *rand.Rand) *Prefixes {
	switch r.IntN(5) {
	case 0:
		return nil
	case 1:
		return newPrefixes(nil)
	case 2:
		ss := make([]string, 1+r.IntN(3))
		for i := range ss {
			fill(r, reflect.ValueOf(&ss[i]).Elem(), 0)
		}
		return textPrefixes(ss)
	}
	ps := make([]netip.Prefix, 1+r.IntN(4))
	for i := range ps {
		var a netip.Addr
		if r.IntN(4) == 0 {
			var b [16]byte
			for k := range b {
				b[k] = byte(r.IntN(256))
			}
			a = netip.AddrFrom16(b)
		} else {
			a = netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		}
		ps[i] = netip.PrefixFrom(a, r.IntN(a.BitLen()+1))
	}
	return newPrefixes(ps)
}

func TestSocketJSONMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// every field is set in some socket and left zero in another
	set := map[string]bool{}
	for i := range 5000 {
		var s Socket
		fill(r, reflect.ValueOf(&s).Elem(), 0)
		for k := range reflect.TypeOf(s).NumField() {
			if !reflect.ValueOf(s).Field(k).IsZero() {
				set[reflect.TypeOf(s).Field(k).Name] = true
			}
		}
		for _, html := range []bool{true, false} {
			got := appendSocketJSON(nil, &s, html)
			if want := encodingJSON(t, &s, html); !bytes.Equal(got, want) {
				t.Fatalf("socket %d (escapeHTML %v):\n got %s\nwant %s", i, html, got, want)
			}
		}
	}
	if n := reflect.TypeOf(Socket{}).NumField(); len(set) != n {
		t.Errorf("only %d of Socket's %d fields were ever set: %v", len(set), n, set)
	}
}

// TestWriteSocketLines: the lines writer around appendSocketJSON, against
// encoding/json's output of the same sockets.
func TestWriteSocketLines(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7} {
		socks := make([]Socket, n)
		var want bytes.Buffer
		for i := range socks {
			fill(r, reflect.ValueOf(&socks[i]).Elem(), 0)
			if i > 0 {
				want.WriteByte(',')
			}
			want.WriteString("\n    ")
			want.Write(encodingJSON(t, &socks[i], true))
		}
		if n > 0 {
			want.WriteString("\n  ")
		}
		var got bytes.Buffer
		bw := newTestWriter(&got)
		if err := writeSocketLines(bw, socks, true); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%d sockets:\n got %q\nwant %q", n, got.Bytes(), want.Bytes())
		}
	}
}

func FuzzSocketJSON(f *testing.F) {
	for _, s := range jsonTrickyStrings {
		f.Add(s, s, uint16(22), true)
	}
	f.Fuzz(func(t *testing.T, a, b string, port uint16, flag bool) {
		s := Socket{
			Proto: a, Family: b, DualStack: flag, Address: a + b, Port: port, Device: b,
			PID: int(port) - 100, Process: a, Service: b, ServiceBy: a, Exposure: b, Client: flag,
			ForwardsTo: []string{a, b}, Published: !flag,
			Processes: []Process{{PID: int(port), Name: b}},
			Firewall: &SocketFirewall{Verdict: a, IPv4: &FamilyVerdict{
				Verdict: b, Sources: textPrefixes([]string{a}), Except: textPrefixes([]string{}), Reasons: []string{b, a},
				Rule: a, Destinations: textPrefixes([]string{b}), Origin: a,
			}},
		}
		for _, html := range []bool{true, false} {
			if got, want := appendSocketJSON(nil, &s, html), encodingJSON(t, &s, html); !bytes.Equal(got, want) {
				t.Fatalf("escapeHTML %v:\n got %s\nwant %s", html, got, want)
			}
		}
	})
}

func newTestWriter(w *bytes.Buffer) *bufio.Writer { return bufio.NewWriterSize(w, 16) }
