package report

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Exposure is who can reach one listening socket in one family: the
// sources the firewall certainly accepts, those it may accept depending
// on runtime state (Doubt, with Reasons), and the verdict word. A
// dual-stack socket has two, one per family. diff, fleet --baseline and
// the human formats all read this one notion.
//
// From a family's verdict: open admits everyone but its except list;
// restricted admits its sources (everyone when it lists none: the limit
// is the interfaces), and either may admit its doubtful sources;
// conditional may admit its sources; unknown may admit anyone; blocked
// and not-applicable admit no one.
type Exposure struct {
	Proto      string
	Port       uint16
	Address    string
	Family     string // "ipv4" or "ipv6": the family of the traffic
	Service    string
	Verdict    string
	Sure       sourceSet // certainly accepted
	Doubt      sourceSet // may be accepted, not certainly (disjoint from Sure)
	Interfaces []string  // accepted only on these (none: on every interface)
	Reasons    []string  // why Doubt is in doubt
	// Each: who is certainly accepted on each outside interface, when the
	// verdict says it per interface (FamilyVerdict.ByInterface); Sure is
	// then who gets in on some interface
	Each []IfaceExposure
}

// IfaceExposure is who is certainly accepted on one interface ("" offline:
// any interface the rules do not name).
type IfaceExposure struct {
	Iface string
	Sure  sourceSet
}

// ExposureKey names a socket's family: host is implied by the report.
type ExposureKey struct {
	Proto, Family, Address string
	Port                   uint16
}

func (e *Exposure) key() ExposureKey {
	return ExposureKey{Proto: e.Proto, Family: e.Family, Address: e.Address, Port: e.Port}
}

// NewExposure is what one family's verdict says of who can reach it.
func NewExposure(family string, fv *FamilyVerdict) Exposure {
	v6 := family == "ipv6"
	e := Exposure{Family: family, Sure: sourceSet{v6: v6}, Doubt: sourceSet{v6: v6}}
	if fv == nil {
		return e
	}
	e.Verdict = fv.Verdict
	e.Interfaces = append([]string{}, fv.Interfaces...)
	e.Reasons = append([]string{}, fv.Reasons...)
	switch fv.Verdict {
	case "open":
		e.Sure = fullSources(v6).minus(fv.Except.set(v6))
	case "restricted":
		if fv.Sources.Len() == 0 {
			e.Sure = fullSources(v6)
		} else {
			e.Sure = fv.Sources.set(v6)
		}
		e.Sure = e.Sure.minus(fv.Except.set(v6))
	case "conditional":
		e.Doubt = fv.Sources.set(v6)
	}
	switch fv.Verdict {
	case "open", "restricted":
		// the sources a runtime match may admit beside the certain ones
		e.Doubt = fv.Doubtful.set(v6).minus(e.Sure)
	case "unknown":
		e.Doubt = fullSources(v6)
	}
	for i := range fv.ByInterface {
		x := &fv.ByInterface[i]
		e.Each = append(e.Each, IfaceExposure{Iface: x.Interface, Sure: NewExposure(family, &x.FamilyVerdict).Sure})
	}
	return e
}

// SocketExposures is a socket's exposure per family it receives: IPv4
// then IPv6. A socket whose rules were not read (--no-firewall) is "not
// evaluated" in the families it receives, with no sources.
func SocketExposures(s Socket) []Exposure {
	var v4, v6 *FamilyVerdict
	if s.Firewall != nil {
		v4, v6 = s.Firewall.IPv4, s.Firewall.IPv6
	} else {
		// the rules were not read: the families the socket receives
		none := &FamilyVerdict{Verdict: "not evaluated"}
		if s.Family == "ipv4" || s.DualStack {
			v4 = none
		}
		if s.Family == "ipv6" {
			v6 = none
		}
	}
	var out []Exposure
	for _, f := range []struct {
		name string
		fv   *FamilyVerdict
	}{{"ipv4", v4}, {"ipv6", v6}} {
		if f.fv == nil {
			continue
		}
		e := NewExposure(f.name, f.fv)
		e.Proto, e.Port, e.Address, e.Service = s.Proto, s.Port, s.Address, s.Service
		out = append(out, e)
	}
	return out
}

// Exposures is every server socket's exposure in r, by key. Sockets that
// share a key (one port held by several processes) are merged: the union
// of what each admits, the most permissive verdict.
func Exposures(r *Report) map[ExposureKey]Exposure {
	out := map[ExposureKey]Exposure{}
	for _, s := range r.Sockets {
		if s.Client {
			continue
		}
		for _, e := range SocketExposures(s) {
			k := e.key()
			if old, ok := out[k]; ok {
				e = old.merge(e)
			}
			out[k] = e
		}
	}
	return out
}

func (e Exposure) merge(o Exposure) Exposure {
	before := e
	if rank[o.Verdict] > rank[e.Verdict] {
		e.Verdict = o.Verdict
	}
	if e.Service == "" {
		e.Service = o.Service
	}
	// no interfaces on an accepting side means every interface
	everyE := len(e.Interfaces) == 0 && !e.Sure.isEmpty()
	everyO := len(o.Interfaces) == 0 && !o.Sure.isEmpty()
	e.Sure = e.Sure.union(o.Sure)
	e.Doubt = e.Doubt.union(o.Doubt).minus(e.Sure)
	if everyE || everyO {
		e.Interfaces = nil
	} else {
		e.Interfaces = unionStrings(e.Interfaces, o.Interfaces)
	}
	e.Reasons = unionStrings(e.Reasons, o.Reasons)
	e.Each = mergeEach(before, o)
	return e
}

// mergeEach is the per-interface answers of two merged exposures: on each
// interface either lists, the union of what each admits there; nil when
// neither lists any.
func mergeEach(a, b Exposure) []IfaceExposure {
	var names []string
	for _, x := range append(append([]IfaceExposure{}, a.Each...), b.Each...) {
		if !slices.Contains(names, x.Iface) {
			names = append(names, x.Iface)
		}
	}
	var out []IfaceExposure
	for _, n := range names {
		out = append(out, IfaceExposure{Iface: n, Sure: a.sureOn(n).union(b.sureOn(n))})
	}
	return out
}

// sureOn is who is certainly accepted on interface name ("" offline: any
// the rules do not name).
func (e Exposure) sureOn(name string) sourceSet {
	if len(e.Each) > 0 {
		other := sourceSet{v6: e.Sure.v6}
		for _, x := range e.Each {
			if x.Iface == name {
				return x.Sure
			}
			if x.Iface == "" {
				other = x.Sure
			}
		}
		return other
	}
	if len(e.Interfaces) == 0 || slices.Contains(e.Interfaces, name) {
		return e.Sure
	}
	return sourceSet{v6: e.Sure.v6}
}

func unionStrings(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Who says in words who can reach the socket in this family: the sources
// ("10.20.0.0/16"), "everyone", "everyone except …", "no one", with the
// interfaces and, after "perhaps", the sources in doubt with their
// reasons. Lists longer than max prefixes are cut and counted ("+12
// more"); max 0 lists all (--wide).
func (e Exposure) Who(max int) string {
	var parts []string
	sure := e.Sure.describe(max)
	if len(e.Each) > 0 {
		sure = e.eachWho(max)
	}
	if sure != "" {
		if len(e.Interfaces) > 0 {
			sure += " on " + strings.Join(e.Interfaces, ",")
		}
		parts = append(parts, sure)
	}
	if !e.Doubt.isEmpty() {
		may := "perhaps " + e.Doubt.describe(max)
		if len(e.Reasons) > 0 {
			may += " (" + strings.Join(e.Reasons, "; ") + ")"
		}
		parts = append(parts, may)
	}
	if len(parts) == 0 {
		none := "no one"
		if len(e.Reasons) > 0 {
			none += " (" + strings.Join(e.Reasons, "; ") + ")"
		}
		return none
	}
	return strings.Join(parts, "; ")
}

// eachWho is who is certainly accepted on each interface, interfaces with
// the same answer together (perInterfaceWords).
func (e Exposure) eachWho(max int) string {
	names := make([]string, len(e.Each))
	whos := make([]string, len(e.Each))
	for i, x := range e.Each {
		names[i], whos[i] = x.Iface, x.Sure.describe(max)
		if whos[i] == "" {
			whos[i] = "no one"
		}
	}
	return perInterfaceWords(names, whos, func(n []string) string { return strings.Join(n, ",") })
}

// Line is the family's verdict and who can reach it, as the human formats
// show it: "ipv4 restricted: 10.20.0.0/16".
func (e Exposure) Line(max int) string {
	return e.Family + " " + e.Verdict + ": " + e.Who(max)
}

// Counted reports whether Who(max) cuts a list short.
func (e Exposure) Counted(max int) bool {
	return max > 0 && (e.Sure.listed() > max || e.Doubt.listed() > max)
}

// listed is how many prefixes describe lists: the set's, or those of
// what it lacks when it holds more than half of the family.
func (s sourceSet) listed() int {
	if s.isEmpty() {
		return 0
	}
	if s.fraction() > 0.5 {
		return len(fullSources(s.v6).minus(s).prefixes())
	}
	return len(s.prefixes())
}

// WhoList is who can reach a socket in one family, for the HTML page: one
// of Everyone (with the prefixes Except) or Sources, and the same for
// those in Doubt.
type WhoList struct {
	Family, Verdict string
	Everyone        bool
	Except, Sources []string
	Interfaces      []string
	// Each: who is certainly accepted on each interface, in words
	// (Exposure.Each), in place of the above
	Each          string
	DoubtEveryone bool
	DoubtExcept   []string
	Doubt         []string
	Reasons       []string
}

// List is e as a WhoList.
func (e Exposure) List() WhoList {
	w := WhoList{Family: e.Family, Verdict: e.Verdict, Interfaces: e.Interfaces, Reasons: e.Reasons}
	w.Everyone, w.Except, w.Sources = e.Sure.parts()
	if len(e.Each) > 0 {
		w.Each = e.eachWho(0)
	}
	w.DoubtEveryone, w.DoubtExcept, w.Doubt = e.Doubt.parts()
	return w
}

// parts is describe's choice as data: everyone but except, or the sources.
func (s sourceSet) parts() (everyone bool, except, sources []string) {
	if s.isEmpty() {
		return false, nil, nil
	}
	if s.fraction() > 0.5 {
		return true, fullSources(s.v6).minus(s).prefixes(), nil
	}
	return false, nil, s.prefixes()
}

// describe is "" for the empty set, "everyone", "everyone except …" for
// more than half of the family, else the prefixes.
func (s sourceSet) describe(max int) string {
	if s.isEmpty() {
		return ""
	}
	full := fullSources(s.v6)
	if s.fraction() > 0.5 {
		rest := full.minus(s)
		if rest.isEmpty() {
			return "everyone"
		}
		return "everyone except " + listCut(rest.prefixes(), max)
	}
	return listCut(s.prefixes(), max)
}

// listCut joins up to max items and counts the rest; max 0 joins all.
func listCut(items []string, max int) string {
	if max <= 0 || len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + ", +" + commas(len(items)-max) + " more"
}

// commas writes n with thousands separators: 1,005.
func commas(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// doubtParts says in parts who an open or restricted family verdict admits
// only maybe (its Doubtful sources): rest, when that is more than half of
// the family and everyone its certain part does not admit ("everyone
// else"); else everyone but the prefixes in list, or (not everyone) the
// prefixes in list.
func doubtParts(fv *FamilyVerdict) (rest, everyone bool, list []string) {
	if fv.Doubtful.Len() == 0 {
		return false, false, nil
	}
	fam := "ipv4"
	if strings.Contains(fv.Doubtful.At(0), ":") {
		fam = "ipv6"
	}
	e := NewExposure(fam, fv)
	if e.Doubt.fraction() > 0.5 && fullSources(e.Sure.v6).minus(e.Sure.union(e.Doubt)).isEmpty() {
		return true, false, nil
	}
	everyone, except, sources := e.Doubt.parts()
	if everyone {
		return false, true, except
	}
	return false, false, sources
}

// doubtWho names the sources an open or restricted verdict admits only
// maybe ("everyone else", "everyone except ...", or the sources), each
// list written by list (what says whether it holds ranges or sources);
// "" when nothing is in doubt.
func doubtWho(v *FamilyVerdict, list func(items []string, what string) string) string {
	if v.Doubtful.Len() == 0 {
		return ""
	}
	switch rest, everyone, items := doubtParts(v); {
	case rest:
		return "everyone else"
	case everyone && len(items) == 0:
		return "everyone"
	case everyone:
		return "everyone except " + list(items, "ranges")
	default:
		return list(items, "sources")
	}
}

// certainlyExcept is the except list of an open or restricted family
// verdict without its doubtful sources: the ranges certainly kept out.
func certainlyExcept(fv *FamilyVerdict) []string {
	if fv.Doubtful.Len() == 0 || fv.Except.Len() == 0 {
		return fv.Except.Strings()
	}
	v6 := strings.Contains(fv.Except.At(0), ":")
	return fv.Except.set(v6).minus(fv.Doubtful.set(v6)).prefixes()
}
