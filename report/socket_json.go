package report

import (
	"bufio"
	"strconv"
	"unicode/utf8"
)

// appendSocketJSON appends s as one compact JSON object, byte for byte what
// encoding/json writes for a Socket (its field order, omitempty, null for a
// nil slice or pointer, and its string escaping), without reflection: on a
// host with 20,000 listeners, encoding/json's walk of the struct tags cost
// as much as judging the sockets. TestSocketJSONMatchesEncodingJSON and
// FuzzSocketJSON hold the two together; a field added to Socket,
// SocketFirewall, FamilyVerdict or Process must be added here too (the
// test fills every field, and fails on one this function leaves out).
func appendSocketJSON(b []byte, s *Socket, escapeHTML bool) []byte {
	o := jsonOut{b: b}
	o.socket(s, escapeHTML)
	return o.b
}

// jsonOut is where a socket's JSON is appended: b, written out to w
// (when set) as a long list of prefixes passes spillSize bytes, so that
// a socket behind a ban set (a list of 1.2 million sources, nine lists of
// 100,000 exceptions) is not held whole.
type jsonOut struct {
	b []byte
	w *bufio.Writer
	// last is the last long list written (to w) and lastText its text:
	// the answer over every interface and each interface's own most
	// often share one list, written again as it is
	last     *Prefixes
	lastText []byte
}

// keptList is the longest list whose text jsonOut keeps (about 4 MB).
const keptList = 1 << 18

const spillSize = 64 << 10

// spill writes b out once it holds spillSize bytes, when w is set.
func (o *jsonOut) spill() {
	if o.w != nil && len(o.b) >= spillSize {
		o.w.Write(o.b) // an error stays with w, and its next Write returns it
		o.b = o.b[:0]
	}
}

func (o *jsonOut) socket(s *Socket, escapeHTML bool) {
	b := o.b
	b = append(b, `{"proto":`...)
	b = appendJSONString(b, s.Proto, escapeHTML)
	b = append(b, `,"family":`...)
	b = appendJSONString(b, s.Family, escapeHTML)
	b = append(b, `,"dual_stack":`...)
	b = strconv.AppendBool(b, s.DualStack)
	b = append(b, `,"address":`...)
	b = appendJSONString(b, s.Address, escapeHTML)
	b = append(b, `,"port":`...)
	b = strconv.AppendUint(b, uint64(s.Port), 10)
	if s.Device != "" {
		b = append(b, `,"device":`...)
		b = appendJSONString(b, s.Device, escapeHTML)
	}
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(s.PID), 10)
	b = append(b, `,"process":`...)
	b = appendJSONString(b, s.Process, escapeHTML)
	if len(s.Processes) > 0 {
		b = append(b, `,"processes":[`...)
		for i, p := range s.Processes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"pid":`...)
			b = strconv.AppendInt(b, int64(p.PID), 10)
			b = append(b, `,"name":`...)
			b = appendJSONString(b, p.Name, escapeHTML)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"service":`...)
	b = appendJSONString(b, s.Service, escapeHTML)
	if s.ServiceBy != "" {
		b = append(b, `,"service_by":`...)
		b = appendJSONString(b, s.ServiceBy, escapeHTML)
	}
	b = append(b, `,"exposure":`...)
	b = appendJSONString(b, s.Exposure, escapeHTML)
	if s.Client {
		b = append(b, `,"client":true`...)
	}
	if len(s.ForwardsTo) > 0 {
		b = append(b, `,"forwards_to":`...)
		b = appendJSONStrings(b, s.ForwardsTo, escapeHTML)
	}
	if s.Published {
		b = append(b, `,"published":true`...)
	}
	b = append(b, `,"firewall":`...)
	if f := s.Firewall; f == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"verdict":`...)
		b = appendJSONString(b, f.Verdict, escapeHTML)
		b = append(b, `,"ipv4":`...)
		o.b = b
		o.familyVerdict(f.IPv4, escapeHTML)
		b = append(o.b, `,"ipv6":`...)
		o.b = b
		o.familyVerdict(f.IPv6, escapeHTML)
		b = append(o.b, '}')
	}
	o.b = append(b, '}')
}

func (o *jsonOut) familyVerdict(v *FamilyVerdict, escapeHTML bool) {
	if v == nil {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = append(o.b, '{')
	o.familyVerdictFields(v, escapeHTML)
	o.b = append(o.b, '}')
}

// familyVerdictFields appends v's fields, without braces.
func (o *jsonOut) familyVerdictFields(v *FamilyVerdict, escapeHTML bool) {
	b := o.b
	b = append(b, `"verdict":`...)
	b = appendJSONString(b, v.Verdict, escapeHTML)
	b = append(b, `,"sources":`...)
	o.b = b
	v.Sources.writeJSON(o, escapeHTML)
	b = o.b
	b = append(b, `,"except":`...)
	o.b = b
	v.Except.writeJSON(o, escapeHTML)
	b = o.b
	b = append(b, `,"interfaces":`...)
	b = appendJSONStrings(b, v.Interfaces, escapeHTML)
	if v.Doubtful != nil {
		b = append(b, `,"doubtful":`...)
		o.b = b
		v.Doubtful.writeJSON(o, escapeHTML)
		b = o.b
	}
	b = append(b, `,"reasons":`...)
	b = appendJSONStrings(b, v.Reasons, escapeHTML)
	b = append(b, `,"rule":`...)
	b = appendJSONString(b, v.Rule, escapeHTML)
	if v.Destinations != nil {
		b = append(b, `,"destinations":`...)
		o.b = b
		v.Destinations.writeJSON(o, escapeHTML)
		b = o.b
	}
	if v.Origin != "" {
		b = append(b, `,"origin":`...)
		b = appendJSONString(b, v.Origin, escapeHTML)
	}
	if len(v.ByInterface) > 0 {
		b = append(b, `,"by_interface":[`...)
		for i := range v.ByInterface {
			if i > 0 {
				b = append(b, ',')
			}
			x := &v.ByInterface[i]
			b = append(b, `{"interface":`...)
			b = appendJSONString(b, x.Interface, escapeHTML)
			b = append(b, ',')
			o.b = b
			o.familyVerdictFields(&x.FamilyVerdict, escapeHTML)
			b = append(o.b, '}')
		}
		b = append(b, ']')
	}
	o.b = b
}

// appendJSONStrings appends a list of strings; nil is null, as in
// encoding/json.
func appendJSONStrings(b []byte, ss []string, escapeHTML bool) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s, escapeHTML)
	}
	return append(b, ']')
}

// jsonPlain marks the ASCII bytes written as they are in a JSON string
// whatever escapeHTML says: printable, not '"' or '\\', not one of <>&.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does: the short escapes for
// '"', '\\', \b, \f, \n, \r and \t, \u00XX for other control bytes (and for
// <, > and & with escapeHTML), \ufffd for each byte of invalid UTF-8, and
// \u2028 and \u2029 escaped.
func appendJSONString(b []byte, s string, escapeHTML bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] || (!escapeHTML && (c == '<' || c == '>' || c == '&')) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
