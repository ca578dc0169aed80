package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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
	skipNative := false
	if p, ok := r.(nftProber); ok {
		if tables, err := p.NftTables(); err == nil {
			skipNft[IPv4], skipNft[IPv6], skipNative = true, true, len(tables) == 0
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
	var w4, w6, wn []string
	var native []nativeTable
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.V4, l.Err4 = loadFamily(ctx, r, IPv4, skipNft[IPv4], &w4) }()
	go func() { defer wg.Done(); l.V6, l.Err6 = loadFamily(ctx, r, IPv6, skipNft[IPv6], &w6) }()
	if !skipNative {
		wg.Add(1)
		go func() { defer wg.Done(); native = nativeTables(ctx, r, &wn) }()
	}
	wg.Wait()
	if errors.Is(l.Err4, ErrPermission) && errors.Is(l.Err6, ErrPermission) {
		// one cause, one warning: not root
		w4, w6, wn = []string{"cannot read the firewall rules without root privileges: verdicts are unknown (run fwaudit as root)"}, nil, nil
		native = nil
	}
	l.Warnings = append(append(append(l.Warnings, w4...), w6...), wn...)
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
func loadFamily(ctx context.Context, r Runner, fam Family, skipNft bool, warnings *[]string) ([]*Ruleset, error) {
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
	return ParseSave(bytes.NewReader(out), cmd, fam)
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

// nativeTables lists nftables tables with a base chain on the way in that
// iptables-nft did not create. iptables-nft names its base chains like the
// iptables built-ins (INPUT, PREROUTING) in tables ip/ip6 filter, nat,
// mangle, raw and security; anything else (family inet or netdev, other
// table names, lower-case "input" chains) was written with nft.
type nativeTable struct{ family, reason string }

func nativeTables(ctx context.Context, r Runner, warnings *[]string) []nativeTable {
	out, err := r.Run(ctx, "nft", "-j", "list", "ruleset")
	if err != nil {
		if !errors.Is(err, ErrNotInstalled) {
			*warnings = append(*warnings, fmt.Sprintf("cannot list nftables ruleset: %v", err))
			return []nativeTable{{"inet", "nftables ruleset not readable"}}
		}
		return nil
	}
	names, err := parseNftTables(out)
	if err != nil {
		*warnings = append(*warnings, fmt.Sprintf("cannot read nft -j output: %v", err))
		return []nativeTable{{"inet", "nftables ruleset not readable"}}
	}
	var unseen []nativeTable
	for _, n := range names {
		fam, _, _ := strings.Cut(n, " ")
		unseen = append(unseen, nativeTable{fam, "native nftables table " + n + " not evaluated"})
	}
	if len(unseen) > 0 {
		*warnings = append(*warnings, fmt.Sprintf("%d native nftables table(s) filter incoming traffic and are not evaluated; verdicts that accept are conditional", len(unseen)))
	}
	return unseen
}

// parseNftTables reads `nft -j list ruleset` and returns "family name" of
// each non-iptables table with a base chain on the prerouting, input or
// ingress hook that has rules or a drop policy.
func parseNftTables(data []byte) ([]string, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	type chainKey struct{ family, table, name string }
	type chainInfo struct {
		hook, policy string
	}
	chains := map[chainKey]chainInfo{}
	rules := map[chainKey]int{}
	for _, obj := range doc.Nftables {
		if raw, ok := obj["chain"]; ok {
			var c struct {
				Family, Table, Name, Hook, Policy string
			}
			if json.Unmarshal(raw, &c) == nil {
				chains[chainKey{c.Family, c.Table, c.Name}] = chainInfo{c.Hook, c.Policy}
			}
		}
		if raw, ok := obj["rule"]; ok {
			var rl struct{ Family, Table, Chain string }
			if json.Unmarshal(raw, &rl) == nil {
				rules[chainKey{rl.Family, rl.Table, rl.Chain}]++
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for k, c := range chains {
		if c.hook != "input" && c.hook != "prerouting" && c.hook != "ingress" {
			continue
		}
		if (k.family == "ip" || k.family == "ip6") && iptablesTables[k.table] && isBuiltin(k.table, k.name) {
			continue // iptables-nft's own chain (INPUT, PREROUTING): read via iptables-nft-save
		}
		if rules[k] == 0 && c.policy != "drop" {
			continue // an empty accept chain filters nothing
		}
		name := k.family + " " + k.table
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}
