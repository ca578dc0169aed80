package apply

import (
	"bufio"
	"bytes"
	"fmt"
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
func PrepareFiles(files []File, listeners []scan.Listener, cur *suggest.Current, sessions []suggest.Session, persist bool) (*Plan, error) {
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
		today := cur.V4
		if fam == firewall.IPv6 {
			today = cur.V6
		}
		if today.Sets == nil {
			return nil, &Refusal{Reason: fmt.Sprintf("the current %s rules cannot be read (%s): there would be no backup to roll back to", fam, today.Why)}
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
	first := ""
	sc := bufio.NewScanner(bytes.NewReader(f.Data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			first = l
			break
		}
	}
	switch {
	case first == "":
		return "", fmt.Errorf("%s: empty: no ruleset", f.Name)
	case strings.HasPrefix(first, "table ") || strings.HasPrefix(first, "flush ") || strings.HasPrefix(first, "add ") ||
		strings.HasPrefix(first, "define ") || strings.HasPrefix(first, "include ") || strings.HasPrefix(first, "delete "):
		return "", fmt.Errorf("%s is an nft file: apply FILE loads iptables-restore files only (fwaudit apply --format nft loads the suggestion as nft)", f.Name)
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
