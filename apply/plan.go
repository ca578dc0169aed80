package apply

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
	"github.com/fwaudit/fwaudit/suggest"
)

// Formats are how a plan loads the rules: both restore files
// (iptables-restore and ip6tables-restore), or one nft -f transaction
// (table inet fwaudit beside today's tables).
var Formats = []string{"restore", "nft"}

// Input is what Prepare plans from: the policy suggest built (with
// Current, so it is proved never wider than today), the listeners it was
// built for, today's rules and the SSH sessions to keep.
type Input struct {
	Policy    *suggest.Policy
	Listeners []scan.Listener
	Current   *firewall.Loaded
	Sessions  []suggest.Session
	Format    string // one of Formats; "" chooses (chooseFormat)
	Persist   bool
}

// Plan is what Run does: the files it loads, in order, and what loading
// them changes.
type Plan struct {
	Format  string
	Loads   []Load
	Changes []suggest.Change
	Notes   []string // what the plan keeps of other tools' rules
	Persist bool
	// Sessions are checked again on the rules read back once loaded
	// (checkLoaded).
	Sessions []suggest.Session
}

// Load is one atomic load: Cmd Args FILE, FILE holding Data.
type Load struct {
	Family firewall.Family // "" for nft: both families in one transaction
	Name   string          // the file's name in the backup directory
	Cmd    string          // "iptables-nft-restore", "nft"
	Args   []string        // before the file: "--noflush", "-f"
	Save   string          // the command that dumps what Cmd loads into ("iptables-nft-save"); "" for nft
	Data   []byte
}

// Refusal is Prepare's no: a proof failed or another tool manages the
// rules. Nothing was changed.
type Refusal struct{ Reason string }

func (e *Refusal) Error() string { return "refusing: " + e.Reason }

// Prepare plans loading in.Policy and refuses, before anything changes,
// what must not be loaded: a ruleset that would cut one of in.Sessions
// (judged on what is loaded once the rendering is, beside what stays),
// a family whose rules cannot be read (there would be no backup), and a
// host whose rules another manager would discard or that the load would
// wipe.
func Prepare(in Input) (*Plan, error) {
	cur := in.Current
	for _, fam := range []firewall.Family{firewall.IPv4, firewall.IPv6} {
		if err := backupable(cur, fam); err != nil {
			return nil, err
		}
	}
	format := in.Format
	if format == "" {
		format = chooseFormat(cur)
	}
	plan := &Plan{Format: format, Persist: in.Persist, Sessions: in.Sessions}
	if err := plan.checkManagers(in.Policy.Noflush, cur); err != nil {
		return nil, err
	}
	proofFormat := "" // both restore files, as suggest judges them
	if format == "nft" {
		proofFormat = "nft"
	}
	if err := suggest.CheckLockout(in.Policy, in.Sessions, cur, proofFormat); err != nil {
		return nil, refusal(err)
	}
	changes, err := suggest.Changes(in.Policy, in.Listeners, cur, proofFormat)
	if err != nil {
		return nil, err
	}
	plan.Changes = changes
	if format == "nft" {
		if in.Persist && iptablesNft(cur) {
			return nil, &Refusal{Reason: "--persist with the nft format writes the whole ruleset to nftables.conf, which cannot hold the iptables-nft tables loaded here; apply the restore format, or persist without fwaudit"}
		}
		var buf bytes.Buffer
		if err := suggest.Render(&buf, in.Policy, "nft"); err != nil {
			return nil, err
		}
		plan.Loads = []Load{{Name: "fwaudit.nft", Cmd: "nft", Args: []string{"-f"}, Data: buf.Bytes()}}
		return plan, nil
	}
	for _, f := range []struct {
		fam    firewall.Family
		sets   []*firewall.Ruleset
		format string
	}{{firewall.IPv4, cur.V4.Sets, "iptables"}, {firewall.IPv6, cur.V6.Sets, "ip6tables"}} {
		var buf bytes.Buffer
		if err := suggest.Render(&buf, in.Policy, f.format); err != nil {
			return nil, err
		}
		plan.Loads = append(plan.Loads, restoreLoad(f.fam, f.sets, buf.Bytes(), in.Policy.Noflush(f.fam)))
	}
	return plan, nil
}

// backupable refuses a family whose current rules cannot be read: there
// would be no backup to roll back to.
func backupable(cur *firewall.Loaded, fam firewall.Family) error {
	today := cur.V4
	if fam == firewall.IPv6 {
		today = cur.V6
	}
	if today.Sets == nil {
		return &Refusal{Reason: fmt.Sprintf("the current %s rules cannot be read (%s): there would be no backup to roll back to", fam, today.Why)}
	}
	return nil
}

// refusal turns a proof's failure into a Refusal.
func refusal(err error) error {
	var le *suggest.LockoutError
	var we *suggest.WiderError
	switch {
	case errors.As(err, &le):
		return &Refusal{Reason: fmt.Sprintf("the ruleset would cut the SSH session from %s to port %d (%s): %s",
			le.Session.Client.Addr(), le.Session.Server.Port(), le.Session.From, le.Why)}
	case errors.As(err, &we):
		return &Refusal{Reason: we.Error()}
	}
	return err
}

// restoreLoad loads data in fam with the restore command of the backend
// the proofs judged it in (RestoreSource).
func restoreLoad(fam firewall.Family, today []*firewall.Ruleset, data []byte, noflush bool) Load {
	prefix, name := suggest.RestoreSource(today), "rules.v4"
	if fam == firewall.IPv6 {
		name = "rules.v6"
	}
	if !restoreTools[prefix] {
		// no tables loaded: the system's default backend
		prefix = "iptables"
		if fam == firewall.IPv6 {
			prefix = "ip6tables"
		}
	}
	l := Load{Family: fam, Name: name, Cmd: prefix + "-restore", Save: prefix + "-save", Data: data}
	if noflush {
		l.Args = []string{"--noflush"}
	}
	return l
}

// restoreTools are the iptables commands LoadLive names its dumps after.
var restoreTools = map[string]bool{
	"iptables": true, "iptables-nft": true, "iptables-legacy": true,
	"ip6tables": true, "ip6tables-nft": true, "ip6tables-legacy": true,
}

// chooseFormat is what suggest writes by default on this host (its
// manager): nft where the rules are native nftables tables only, the
// restore files everywhere else (ufw and firewalld hosts are refused
// before this is asked).
func chooseFormat(cur *firewall.Loaded) string {
	if suggest.DetectManager(cur).Name == "nft" {
		return "nft"
	}
	return "restore"
}

// iptablesNft reports whether iptables-nft tables are loaded.
func iptablesNft(cur *firewall.Loaded) bool {
	for _, sets := range [][]*firewall.Ruleset{cur.V4.Sets, cur.V6.Sets} {
		for _, rs := range sets {
			if strings.HasSuffix(rs.Source, "tables-nft") && len(rs.Tables) > 0 {
				return true
			}
		}
	}
	return false
}

// checkManagers refuses a host whose rules ufw, firewalld or kube-proxy
// manage (their next reload discards what was loaded beside them), and a
// restore that would wipe another tool's chains from the filter table;
// Docker's stay when the restore files are for --noflush (suggest keeps
// Docker's layout), and every tool's chains stay beside an nft table.
func (plan *Plan) checkManagers(noflush func(firewall.Family) bool, cur *firewall.Loaded) error {
	var sets []*firewall.Ruleset
	sets = append(append(sets, cur.V4.Sets...), cur.V6.Sets...)
	for _, m := range suggest.Managers(sets) {
		chains := shortChains(m.Chains)
		switch {
		case m.Tool == "ufw" || m.Tool == "firewalld":
			return &Refusal{Reason: fmt.Sprintf("%s manages this firewall (%s): its next reload would discard the loaded rules; change the rules through %s, or %s", m.Tool, chains, m.Tool, m.Keep)}
		case m.Tool == "kube-proxy":
			return &Refusal{Reason: fmt.Sprintf("kube-proxy manages rules here (%s): %s", chains, m.Keep)}
		case plan.Format == "nft":
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s's chains stay (%s): the nft table is loaded beside them", m.Tool, chains))
		case m.Tool == "Docker" && (noflush(firewall.IPv4) || noflush(firewall.IPv6)):
			plan.Notes = append(plan.Notes, fmt.Sprintf("Docker's chains stay (%s): the restore files are loaded with --noflush and rewrite only INPUT and DOCKER-USER", chains))
		default:
			return &Refusal{Reason: fmt.Sprintf("loading the restore files would wipe %s's chains (%s) from the filter table; use --format nft, which loads beside them, or %s", m.Tool, chains, m.Keep)}
		}
	}
	return nil
}

// shortChains names at most four chains.
func shortChains(chains []string) string {
	if len(chains) > 4 {
		return strings.Join(chains[:4], ", ") + fmt.Sprintf(" and %d more", len(chains)-4)
	}
	return strings.Join(chains, ", ")
}

// Describe writes the plan as --dry-run shows it.
func (plan *Plan) Describe(w *bytes.Buffer) {
	for _, l := range plan.Loads {
		args := append(append([]string{l.Cmd}, l.Args...), l.Name)
		fam := string(l.Family)
		if fam == "" {
			fam = "ipv4+ipv6"
		}
		fmt.Fprintf(w, "load %s: %s (%d bytes)\n", fam, strings.Join(args, " "), len(l.Data))
	}
	for _, n := range plan.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	n := 0
	for _, c := range plan.Changes {
		fmt.Fprintf(w, "%s %s\n", c.Family, c)
		if c.Changed {
			n++
		}
	}
	switch n {
	case 0:
		w.WriteString("no changes\n")
	case 1:
		w.WriteString("1 change\n")
	default:
		fmt.Fprintf(w, "%d changes\n", n)
	}
}
