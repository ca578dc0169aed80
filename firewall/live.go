package firewall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Live is what could be read of the live host's rules.
type Live struct {
	V4, V6     []*Ruleset // one per backend holding rules (legacy, nft)
	Err4, Err6 error      // why a family could not be read (nil when read)
	Warnings   []string
	// Unseen names native nftables tables that filter incoming traffic and
	// that the evaluator cannot see ("native nftables table inet filter
	// not evaluated"). Unseen4 and Unseen6 are the ones that see each
	// family (inet and netdev tables see both): pass them on as Host.Unseen
	// of the IPv4 and IPv6 evaluators.
	Unseen, Unseen4, Unseen6 []string
	// Nft is every nf_tables table as `nft -j list ruleset` printed it
	// (nil when it could not be read); its native tables are already in
	// V4 and V6.
	Nft *NftRuleset
}

// LoadLive reads the live rules of both families through r: the
// iptables-legacy and iptables-nft views (both apply to every packet when
// both hold rules), falling back to plain iptables-save, and lists native
// nftables tables the iptables view cannot show.
func LoadLive(ctx context.Context, r Runner) Live {
	// Every read is a separate command of a few milliseconds, so they run
	// side by side; warnings are merged in a fixed order afterwards.
	// When the kernel says which nf_tables tables exist, commands that could
	// only print nothing are not run at all.
	skipNft := map[Family]bool{}
	skipNative, kernelHasTables := false, false
	var kernelTables []NftTable // nil: not known
	if p, ok := r.(nftProber); ok {
		if tables, err := p.NftTables(); err == nil {
			kernelTables = tables
			skipNft[IPv4], skipNft[IPv6], skipNative = true, true, len(tables) == 0
			kernelHasTables = len(tables) > 0
			for _, t := range tables {
				switch t.Family {
				case "ip":
					skipNft[IPv4] = false
				case "ip6":
					skipNft[IPv6] = false
				}
			}
		}
	}
	var l Live
	var w4, w6, wn, u4, u6 []string
	var native []nativeTable
	var nft *NftRuleset
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.V4, l.Err4 = loadFamily(ctx, r, IPv4, skipNft[IPv4], &w4, &u4) }()
	go func() { defer wg.Done(); l.V6, l.Err6 = loadFamily(ctx, r, IPv6, skipNft[IPv6], &w6, &u6) }()
	if !skipNative {
		wg.Add(1)
		go func() { defer wg.Done(); nft, native = nativeRules(ctx, r, kernelHasTables, &wn) }()
	}
	wg.Wait()
	if errors.Is(l.Err4, ErrPermission) && errors.Is(l.Err6, ErrPermission) {
		// one cause, one warning: not root
		w4, w6, wn = []string{"cannot read the firewall rules without root privileges: verdicts are unknown (run fwaudit as root)"}, nil, nil
		native, nft = nil, nil
	}
	if nft != nil {
		l.addNative(nft, &w4, &w6)
	} else if len(native) == 1 && native[0].family == "inet" && kernelTables != nil {
		// nft could not list them: name only the families whose tables
		// nothing else read (iptables-nft-save reads its own tables)
		native = unreadTables(kernelTables, native[0].reason, l.V4 != nil && hasSource(l.V4, "iptables-nft"), l.V6 != nil && hasSource(l.V6, "ip6tables-nft"))
	}
	l.annotateUfw(r)
	l.Warnings = append(append(append(l.Warnings, w4...), w6...), wn...)
	l.Unseen, l.Unseen4, l.Unseen6 = append(append(l.Unseen, u4...), u6...), append(l.Unseen4, u4...), append(l.Unseen6, u6...)
	for _, t := range native {
		l.Unseen = append(l.Unseen, t.reason)
		if t.family != "ip6" {
			l.Unseen4 = append(l.Unseen4, t.reason)
		}
		if t.family != "ip" {
			l.Unseen6 = append(l.Unseen6, t.reason)
		}
	}
	return l
}

// addNative adds the native nftables tables to each family's rulesets.
// Tables iptables-nft made are left to iptables-nft-save where it could
// read the family; where it could not (it fails on tables holding native
// expressions, "meta sreg key not supported"), nft's view of them is
// used instead and the family is still judged.
func (l *Live) addNative(nft *NftRuleset, w4, w6 *[]string) {
	l.Nft = nft
	for _, f := range []struct {
		fam      Family
		nftFam   string
		sets     *[]*Ruleset
		err      *error
		warnings *[]string
	}{{IPv4, "ip", &l.V4, &l.Err4, w4}, {IPv6, "ip6", &l.V6, &l.Err6, w6}} {
		viaSave := false
		for _, rs := range *f.sets {
			viaSave = viaSave || !strings.HasSuffix(rs.Source, "-legacy")
		}
		if *f.err != nil {
			*f.warnings = []string{fmt.Sprintf("cannot read %s rules with iptables (%v): reading every table with nft instead", f.fam, *f.err)}
			*f.err = nil
		}
		unshown := map[string]bool{}
		for _, rs := range *f.sets {
			for _, t := range rs.unshown {
				unshown[t] = true
			}
		}
		n := nft.Without(func(family, table string) bool {
			return viaSave && family == f.nftFam && nft.iptablesManaged(family, table) && !unshown[table]
		})
		rs := n.Family(f.fam)
		if !isEmptyRuleset(rs) {
			*f.sets = append(*f.sets, rs)
		}
	}
}

// legacyProber is implemented by runners that can tell, without running
// iptables-legacy-save, whether any legacy table exists in this network
// namespace. ExecRunner reads /proc/net/ip_tables_names (ip6_tables_names),
// the list iptables-legacy-save itself starts from; other runners always
// run the command.
type legacyProber interface {
	LegacyTables(fam Family) (present, known bool)
}

// nftProber is implemented by runners that can list the nf_tables tables
// without running a command (ExecRunner asks the kernel over netlink).
type nftProber interface {
	NftTables() ([]NftTable, error)
}

// loadFamily reads one family's rules from each backend that may hold some.
// skipNft: nf_tables has no table of this family, so iptables-nft-save
// could only print nothing. With neither backend present the family has
// no rules at all: nil, nil.
//
// When iptables-legacy-save fails while iptables-nft-save is read, the
// legacy tables may hold rules nobody sees: they are named in unseen, so
// verdicts that accept someone are conditional.
func loadFamily(ctx context.Context, r Runner, fam Family, skipNft bool, warnings, unseen *[]string) ([]*Ruleset, error) {
	prefix := "iptables"
	if fam == IPv6 {
		prefix = "ip6tables"
	}
	var backends []string
	if !skipNft {
		backends = append(backends, "nft")
	}
	backends = append(backends, "legacy")
	if p, ok := r.(legacyProber); ok {
		if present, known := p.LegacyTables(fam); known && !present {
			backends = backends[:len(backends)-1]
		}
	}
	if len(backends) == 0 {
		return nil, nil
	}
	type read struct {
		rs  *Ruleset
		err error
	}
	reads := make([]read, len(backends))
	var wg sync.WaitGroup
	for i, backend := range backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := runSave(ctx, r, prefix+"-"+backend+"-save", fam)
			if err == nil {
				rs.Source = prefix + "-" + backend
			}
			reads[i] = read{rs, err}
		}()
	}
	wg.Wait()

	var sets []*Ruleset
	var errs []error
	var emptyLegacy *Ruleset
	for i, backend := range backends {
		rs, err := reads[i].rs, reads[i].err
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if backend == "legacy" && isEmptyRuleset(rs) {
			emptyLegacy = rs // legacy modules loaded but unused
			continue
		}
		sets = append(sets, rs)
	}
	if len(sets) > 0 || emptyLegacy != nil {
		for i, backend := range backends {
			// (a failed iptables-nft-save is made up for by nft's own view
			// of its tables, see addNative; legacy tables have no other)
			if err := reads[i].err; backend == "legacy" && err != nil && !errors.Is(err, ErrNotInstalled) {
				*warnings = append(*warnings, fmt.Sprintf("cannot read %s-%s rules: %v: %s verdicts that accept someone are conditional", prefix, backend, err, fam))
				*unseen = append(*unseen, fmt.Sprintf("%s-%s rules not read (%v)", prefix, backend, err))
			}
		}
	}
	if len(sets) > 0 {
		return sets, nil
	}
	if emptyLegacy != nil {
		return []*Ruleset{emptyLegacy}, nil // read fine: no rules at all
	}
	if len(errs) == len(backends) && allNotInstalled(errs) {
		// an iptables without the -nft/-legacy names
		rs, err := runSave(ctx, r, prefix+"-save", fam)
		if err == nil {
			rs.Source = prefix
			return []*Ruleset{rs}, nil
		}
		errs = []error{err}
	}
	err := familyError(prefix, errs)
	*warnings = append(*warnings, fmt.Sprintf("cannot read %s rules: %v", fam, err))
	return nil, err
}

func allNotInstalled(errs []error) bool {
	for _, e := range errs {
		if !errors.Is(e, ErrNotInstalled) {
			return false
		}
	}
	return true
}

// familyError picks the most useful reason: permission before the rest.
func familyError(prefix string, errs []error) error {
	for _, e := range errs {
		if errors.Is(e, ErrPermission) {
			return fmt.Errorf("%s-save: %w (run as root)", prefix, ErrPermission)
		}
	}
	if allNotInstalled(errs) {
		return fmt.Errorf("%s-save: %w", prefix, ErrNotInstalled)
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return fmt.Errorf("%s-save: no output", prefix)
}

func runSave(ctx context.Context, r Runner, cmd string, fam Family) (*Ruleset, error) {
	out, err := r.Run(ctx, cmd)
	if err != nil {
		return nil, err
	}
	rs, info, err := ParseSaveInfo(bytes.NewReader(out), cmd, fam)
	if err != nil {
		return nil, err
	}
	for _, u := range info.Unshown {
		// "# Table `filter' is incompatible, use 'nft' tool.": its rules
		// are not in the dump; nft's view of the table is used instead
		if _, rest, ok := strings.Cut(u, "`"); ok {
			if name, _, ok := strings.Cut(rest, "'"); ok {
				rs.unshown = append(rs.unshown, name)
			}
		}
	}
	return rs, nil
}

// isEmptyRuleset: no rules and every policy ACCEPT, so it filters nothing.
func isEmptyRuleset(rs *Ruleset) bool {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if len(c.Rules) > 0 || (c.Policy != "" && c.Policy != "ACCEPT") {
				return false
			}
		}
	}
	return true
}

// iptablesTables are the tables iptables-nft creates in families ip and ip6.
var iptablesTables = map[string]bool{"filter": true, "nat": true, "mangle": true, "raw": true, "security": true}

// iptablesManaged: a table iptables-nft made (ip/ip6, an iptables table
// name, and only base chains named like iptables' built-ins). Its rules
// are read with iptables-nft-save, whose compat (xt) matches are exact;
// nft shows them only as opaque "xt" expressions.
func (n *NftRuleset) iptablesManaged(family, table string) bool {
	if (family != "ip" && family != "ip6") || !iptablesTables[table] {
		return false
	}
	for _, t := range n.tables {
		if t.family != family || t.name != table {
			continue
		}
		for _, c := range t.chains {
			if c.base && !isBuiltin(table, c.name) {
				return false // a native chain in a table of that name (Tailscale's ip filter)
			}
		}
	}
	return true
}

// nativeTable is filtering the evaluator cannot see, with the reason.
type nativeTable struct{ family, reason string }

// unreadTables are the families of tables nft could not list that no other
// reading covers: an iptables-named table of family ip (ip6) is read by
// iptables-nft-save when that worked (read4, read6); arp tables filter no
// IP packet; every other table may filter both families (inet, netdev,
// bridge) or its own.
func unreadTables(tables []NftTable, reason string, read4, read6 bool) []nativeTable {
	var v4, v6 bool
	for _, t := range tables {
		switch {
		case t.Family == "arp":
		case t.Family == "ip":
			v4 = v4 || !(read4 && iptablesTables[t.Name])
		case t.Family == "ip6":
			v6 = v6 || !(read6 && iptablesTables[t.Name])
		default:
			v4, v6 = true, true
		}
	}
	switch {
	case v4 && v6:
		return []nativeTable{{"inet", reason}}
	case v4:
		return []nativeTable{{"ip", reason}}
	case v6:
		return []nativeTable{{"ip6", reason}}
	}
	return nil
}

func hasSource(sets []*Ruleset, src string) bool {
	for _, rs := range sets {
		if rs != nil && rs.Source == src {
			return true
		}
	}
	return false
}

// nativeRules reads every nf_tables table with `nft -j list ruleset`. A
// failure is a warning and a reason: the tables the kernel lists still
// filter, so accepting verdicts become conditional.
func nativeRules(ctx context.Context, r Runner, kernelHasTables bool, warnings *[]string) (*NftRuleset, []nativeTable) {
	out, err := r.Run(ctx, "nft", "-j", "list", "ruleset")
	if err == nil {
		var n *NftRuleset
		if n, err = ParseNftJSON(bytes.NewReader(out), "nft -j list ruleset"); err == nil {
			n.Source = "nft"
			// nft before 1.0.7 leaves an ingress chain's device out of
			// its JSON; its text says it
			for _, c := range n.unboundIngress() {
				if text, err := r.Run(ctx, "nft", "list", "chain", c[0], c[1], c[2]); err == nil {
					if devs, ok := parseChainDevices(string(text)); ok {
						n.setDevices(c[0], c[1], c[2], devs)
					}
				}
			}
			return n, nil
		}
	}
	if errors.Is(err, ErrNotInstalled) {
		if !kernelHasTables {
			return nil, nil // nothing says there is any table
		}
		*warnings = append(*warnings, "the kernel holds nftables tables but nft is not installed: verdicts that accept are conditional (install nftables)")
	} else {
		*warnings = append(*warnings, fmt.Sprintf("cannot list nftables ruleset: %v", err))
	}
	return nil, []nativeTable{{"inet", "nftables ruleset not readable"}}
}
