package apply

import (
	"errors"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/suggest"
)

// todayNft is a native nftables host: ssh open, http from 192.0.2.0/24.
const todayNft = `table inet filter {
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		tcp dport 22 accept
		ip saddr 192.0.2.0/24 tcp dport 80 accept
	}
}
`

func nftCurrent(t *testing.T) *firewall.Loaded {
	t.Helper()
	n, err := firewall.ParseNftText([]byte(todayNft), "today.nft", nil)
	if err != nil {
		t.Fatal(err)
	}
	n4, n6 := n.Family(firewall.IPv4), n.Family(firewall.IPv6)
	n4.Source, n6.Source = "nft", "nft"
	return &firewall.Loaded{V4: firewall.FamilyRules{Sets: []*firewall.Ruleset{n4}}, V6: firewall.FamilyRules{Sets: []*firewall.Ruleset{n6}}}
}

func readNftText(b []byte, name string) (*firewall.NftRuleset, error) {
	return firewall.ParseNftText(b, name, nil)
}

// TestPrepareNftFile: an nft file is recognised by its content and judged
// as nft leaves the rules: the tables it deletes go, the tables it
// defines come, the rest stays.
func TestPrepareNftFile(t *testing.T) {
	replace := func(rules string) string {
		return "table inet filter {}\ndelete table inet filter\ntable inet hardened {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tct state established,related accept\n" + rules + "\t}\n}\n"
	}
	for _, tc := range []struct {
		name, file string
		wantErr    string // "" to load
	}{
		{"replaces the table, no wider", replace("\t\ttcp dport 22 accept\n\t\tip saddr 192.0.2.0/25 tcp dport 80 accept\n"), ""},
		{"wider than today", replace("\t\ttcp dport { 22, 80 } accept\n"), "refusing"},
		{"cuts the ssh session", replace("\t\ttcp dport 80 accept\n"), "would cut the SSH session"},
		{"adds to a loaded table", "table inet filter {\n\tchain input {\n\t\ttcp dport 443 accept\n\t}\n}\n", "adds to table inet filter"},
		{"beside today's table", "table inet extra {\n\tchain input {\n\t\ttype filter hook input priority 10; policy accept;\n\t\tip saddr 198.51.100.0/24 drop\n\t}\n}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := PrepareFiles([]File{{Name: "rules.nft", Data: []byte(tc.file)}}, listeners, nftCurrent(t), []suggest.Session{session}, false, readNftText)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if plan.Format != "nft" || len(plan.Loads) != 1 || plan.Loads[0].Cmd != "nft" || string(plan.Loads[0].Data) != tc.file {
					t.Fatalf("plan: %+v, want one nft -f of the file as given", plan)
				}
				return
			}
			var r *Refusal
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || (tc.wantErr == "refusing" && !errors.As(err, &r)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
	// an nft file goes alone: one transaction for both families
	_, err := PrepareFiles([]File{{Name: "a.nft", Data: []byte(replace(""))}, {Name: "rules.v4", Data: []byte(today4)}}, listeners, nftCurrent(t), nil, false, readNftText)
	if err == nil || !strings.Contains(err.Error(), "give it alone") {
		t.Fatalf("nft file with a restore file: %v", err)
	}
}
