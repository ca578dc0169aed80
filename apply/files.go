package apply

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
	"github.com/fwaudit/fwaudit/suggest"
)

// File is a reviewed ruleset to load (fwaudit apply FILE...).
type File struct {
	Name string
	Data []byte
}

// PrepareFiles plans loading reviewed iptables-restore files, one per
// family at most, after the proofs: no session in sessions is cut and no
// listener is reachable from more sources or interfaces than today (there
// is no --allow here: a file that widens is refused).
//
// An nft file (recognised by its first statement) is loaded alone, in one
// `nft -f` transaction for both families; readNft reads what it defines
// (firewall.LoadNftText).
func PrepareFiles(files []File, listeners []scan.Listener, cur *firewall.Loaded, sessions []suggest.Session, persist bool, readNft func([]byte, string) (*firewall.NftRuleset, error)) (*Plan, error) {
	if len(files) == 1 && isNftFile(files[0]) {
		return prepareNftFile(files[0], listeners, cur, sessions, persist, readNft)
	}
	plan := &Plan{Format: "restore", Persist: persist, Sessions: sessions}
	after := map[firewall.Family][]*firewall.Ruleset{}
	byFam := map[firewall.Family]File{}
	for _, f := range files {
		fam, err := restoreFamily(f)
		if err != nil {
			return nil, err
		}
		if other, ok := byFam[fam]; ok {
			return nil, fmt.Errorf("%s and %s are both %s rulesets: give one file per family", other.Name, f.Name, fam)
		}
		byFam[fam] = f
	}
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		f, ok := byFam[fam]
		if !ok {
			continue
		}
		if err := backupable(cur, fam); err != nil {
			return nil, err
		}
		today := cur.V4
		if fam == firewall.IPv6 {
			today = cur.V6
		}
		rs, err := firewall.ParseSave(bytes.NewReader(f.Data), f.Name, fam)
		if err != nil {
			return nil, err
		}
		after[fam] = suggest.AfterRestore(today.Sets, rs)
		plan.Loads = append(plan.Loads, restoreLoad(fam, today.Sets, f.Data, false))
	}
	if err := plan.checkManagers(func(firewall.Family) bool { return false }, cur); err != nil {
		return nil, err
	}
	changes, err := suggest.ProveLoaded(listeners, sessions, cur, after)
	if err != nil {
		return nil, refusal(err)
	}
	plan.Changes = changes
	return plan, nil
}

// restoreFamily recognises an iptables-restore file and its family from
// its content: the family whose parser alone accepts it (addresses), else
// the family its ICMP matches or fwaudit's header name. An nft file is
// named as such: apply loads only restore files.
func restoreFamily(f File) (firewall.Family, error) {
	first := firstStatement(f)
	switch {
	case first == "":
		return "", fmt.Errorf("%s: empty: no ruleset", f.Name)
	case nftStatement(first):
		return "", fmt.Errorf("%s is an nft file: give it alone (one nft -f transaction loads both families)", f.Name)
	case !strings.HasPrefix(first, "*"):
		return "", fmt.Errorf("%s: not an iptables-restore file (first line %q; want a table such as *filter)", f.Name, first)
	}
	_, err4 := firewall.ParseSave(bytes.NewReader(f.Data), f.Name, firewall.IPv4)
	_, err6 := firewall.ParseSave(bytes.NewReader(f.Data), f.Name, firewall.IPv6)
	switch {
	case err4 != nil && err6 != nil:
		return "", err4
	case err6 != nil:
		return firewall.IPv4, nil
	case err4 != nil:
		return firewall.IPv6, nil
	}
	s := string(f.Data)
	v6 := strings.Contains(s, "ipv6-icmp") || strings.Contains(s, "icmpv6") || strings.Contains(s, "for ip6tables-restore")
	v4 := strings.Contains(s, "-p icmp ") || strings.Contains(s, "--icmp-type") || strings.Contains(s, "for iptables-restore")
	switch {
	case v6 && !v4:
		return firewall.IPv6, nil
	case v4 && !v6:
		return firewall.IPv4, nil
	}
	return "", fmt.Errorf("%s: cannot tell whether it is for iptables-restore or ip6tables-restore (no address or ICMP match says)", f.Name)
}

// firstStatement is f's first line that is not blank or a comment.
func firstStatement(f File) string {
	sc := bufio.NewScanner(bytes.NewReader(f.Data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

// nftStatement: line starts a statement of nft's language, not of
// iptables-restore's.
func nftStatement(line string) bool {
	for _, p := range []string{"table ", "flush ", "add ", "define ", "include ", "delete ", "destroy "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func isNftFile(f File) bool { return nftStatement(firstStatement(f)) }

// prepareNftFile plans one nft -f of f. What is loaded after it is judged
// as nft leaves it: a table the file deletes (or every table nf_tables
// holds, after "flush ruleset") is gone, the tables the file defines are
// as it defines them, everything else stays. A table loaded today that
// the file adds to without deleting or flushing it first would merge
// with what is there: that is refused, as fwaudit cannot prove it.
func prepareNftFile(f File, listeners []scan.Listener, cur *firewall.Loaded, sessions []suggest.Session, persist bool, readNft func([]byte, string) (*firewall.NftRuleset, error)) (*Plan, error) {
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		if err := backupable(cur, fam); err != nil {
			return nil, err
		}
	}
	flushAll, deleted := nftRemovals(f.Data)
	if flushAll {
		return nil, &Refusal{Reason: fmt.Sprintf("%s flushes the whole ruleset, iptables-nft's tables and other tools' included, which fwaudit cannot roll back table by table; delete the tables it replaces instead", f.Name)}
	}
	// nft refuses to delete a table that does not exist: the file is read
	// in an empty namespace, so each table it deletes is declared first
	var text bytes.Buffer
	for _, t := range deleted {
		text.WriteString("table " + t + " {}\n")
	}
	text.Write(f.Data)
	if readNft == nil {
		return nil, fmt.Errorf("%s is an nft file, and nft files cannot be read here", f.Name)
	}
	n, err := readNft(text.Bytes(), f.Name)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Format: "nft", Persist: persist, Sessions: sessions}
	after := map[firewall.Family][]*firewall.Ruleset{}
	for _, t := range []struct {
		fam   firewall.Family
		today []*firewall.Ruleset
	}{{firewall.IPv4, cur.V4.Sets}, {firewall.IPv6, cur.V6.Sets}} {
		ours := n.Family(t.fam)
		var sets []*firewall.Ruleset
		for _, rs := range t.today {
			nrs := &firewall.Ruleset{Family: rs.Family, Source: rs.Source}
			for _, tb := range rs.Tables {
				name := tb.NftFamily + " " + tb.Name
				gone := flushAll && (tb.NftFamily != "" || !strings.Contains(rs.Source, "legacy")) ||
					tb.NftFamily != "" && slices.Contains(deleted, name)
				if gone {
					continue
				}
				if tb.NftFamily != "" && ours != nil && ours.Table(tb.Name) != nil && sameFamilyTable(ours, tb) {
					return nil, &Refusal{Reason: fmt.Sprintf("%s adds to table %s, which is loaded today, without deleting or flushing it first: what nft makes of the two together is not proved; delete the table first in the file", f.Name, name)}
				}
				nrs.Tables = append(nrs.Tables, tb)
			}
			if len(nrs.Tables) > 0 || len(rs.Tables) == 0 {
				sets = append(sets, nrs)
			}
		}
		if ours != nil {
			ours.Source = f.Name
			sets = append(sets, ours)
		}
		after[t.fam] = sets
	}
	if err := plan.checkManagers(func(firewall.Family) bool { return false }, cur); err != nil {
		return nil, err
	}
	if persist && iptablesNft(cur) && !flushAll {
		return nil, &Refusal{Reason: "--persist with an nft file writes the whole ruleset to nftables.conf, which cannot hold the iptables-nft tables loaded here; persist without fwaudit"}
	}
	changes, err := suggest.ProveLoaded(listeners, sessions, cur, after)
	if err != nil {
		return nil, refusal(err)
	}
	plan.Changes = changes
	plan.Loads = []Load{{Name: "rules.nft", Cmd: "nft", Args: []string{"-f"}, Data: f.Data}}
	return plan, nil
}

// sameFamilyTable: ours holds a table of tb's nft family and name.
func sameFamilyTable(ours *firewall.Ruleset, tb *firewall.Table) bool {
	for _, t := range ours.Tables {
		if t.NftFamily == tb.NftFamily && t.Name == tb.Name {
			return true
		}
	}
	return false
}

// nftRemovals reads what an nft file removes before it adds: "flush
// ruleset", and the tables of "delete table FAMILY NAME" (or destroy),
// as "FAMILY NAME". "flush table" is not a removal: the table's chains
// and their policies stay, so a file that flushes a loaded table and
// adds to it is refused as one that adds to it.
func nftRemovals(data []byte) (flushAll bool, tables []string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(sc.Text()), ";"))
		switch {
		case len(f) == 2 && f[0] == "flush" && f[1] == "ruleset":
			flushAll = true
		case len(f) >= 3 && (f[0] == "delete" || f[0] == "destroy") && f[1] == "table":
			fam, name := "ip", f[2]
			if len(f) >= 4 {
				fam, name = f[2], f[3]
			}
			if !slices.Contains(tables, fam+" "+name) {
				tables = append(tables, fam+" "+name)
			}
		}
	}
	return flushAll, tables
}

// nftTablesNamed lists, as "FAMILY NAME", every table an nft file
// declares, deletes or destroys at its top level, and table inet fwaudit
// (what a suggestion loads), each once.
func nftTablesNamed(data []byte) []string {
	out := []string{"inet fwaudit"}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			continue // inside a table
		}
		f := strings.Fields(strings.NewReplacer("{", " ", "}", " ", ";", " ").Replace(line))
		if len(f) >= 2 && (f[0] == "delete" || f[0] == "destroy") {
			f = f[1:]
		}
		if len(f) < 2 || f[0] != "table" {
			continue
		}
		fam, name := "ip", f[1]
		if len(f) >= 3 {
			fam, name = f[1], f[2]
		}
		if !slices.Contains(out, fam+" "+name) {
			out = append(out, fam+" "+name)
		}
	}
	return out
}
