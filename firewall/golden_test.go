package firewall

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/rules/golden files")

type goldenQuery struct {
	Query  string `json:"query"`
	Result Result `json:"result"`
}

type goldenIssue struct {
	Kind string `json:"kind"`
	Line int    `json:"line"`
	Rule string `json:"rule"`
	By   int    `json:"by,omitempty"`
}

type golden struct {
	Files   []string      `json:"files"`
	Family  Family        `json:"family"`
	Results []goldenQuery `json:"results"`
	Issues  []goldenIssue `json:"issues"`
}

var commonPorts = []string{"tcp/22", "tcp/80", "tcp/443", "udp/53", "tcp/3306", "tcp/5432"}

// goldenCases fixes the queries per fixture: the ports each host is known
// for, plus the common ones.
var goldenCases = []struct {
	name    string
	files   []string
	queries []string
}{
	{"ufw-server2", []string{"ufw-server2-diekmann.iptables-save"}, []string{"udp/22", "udp/5353", "udp/137", "tcp/139", "udp/68"}},
	{"firewalld-fedora27-v4", []string{"firewalld-fedora27-counters.iptables-save"}, []string{"udp/137", "udp/5353", "tcp/9090", "udp/631"}},
	{"firewalld-fedora27-v6", []string{"firewalld-fedora27-counters.ip6tables-save"}, []string{"udp/137", "udp/546", "tcp/9090"}},
	{"parser-torture-v4", []string{"parser-torture-diekmann.iptables-save"}, []string{"udp/8080"}},
	{"parser-torture-v6", []string{"parser-torture-diekmann.ip6tables-save"}, nil},
	{"tum-large", []string{"tum-large-4800rules-diekmann.iptables-save"}, []string{"tcp/25", "udp/123"}},
	{"ugent", []string{"ugent-server-diekmann.iptables-save"}, []string{"tcp/8080", "udp/5000", "tcp/113", "tcp/631", "udp/137"}},
	{"mixed-backends", []string{"GEN-mixed-backends.iptables-legacy-save", "GEN-mixed-backends.iptables-nft-save"}, nil},
	{"gopherproxy", []string{"gopherproxy-blocklist-diekmann.iptables-save"}, []string{"tcp/70", "tcp/5199"}},
	{"synology-v6", []string{"synology-ds414-diekmann.ip6tables-save"}, []string{"tcp/5000", "udp/1900", "tcp/9030", "udp/5353"}},
	{"rancher", []string{"rancher-docker-shadowed-diekmann.iptables-save"}, []string{"tcp/13001", "tcp/30033", "udp/9987"}},
	{"medium-company", []string{"medium-company-nat-diekmann.iptables-save"}, []string{"tcp/4081", "tcp/25"}},
	{"docker-2016", []string{"docker-2016-bridge-diekmann.iptables-save"}, nil},
	{"docker-nft-free5gc", []string{"docker-nft-free5gc-tailscale.iptables-save"}, []string{"tcp/5000", "udp/41641"}},
	{"fail2ban", []string{"fail2ban-legacy-chain-diekmann.iptables-save"}, []string{"tcp/88", "tcp/4949"}},
	{"shorewall", []string{"shorewall-sqrl-diekmann.iptables-save"}, nil},
	{"wireless-router", []string{"wireless-router-ct-helper.iptables-save"}, nil},
	{"legacy-2003", []string{"legacy-2003-v1.2.4.iptables-save"}, nil},
	{"blank-lines", []string{"blank-lines-between-tables.iptables-save"}, nil},
	{"nft-translation", []string{"iptables-nft-translation-expected.iptables-save"}, nil},
}

func parseQuery(t *testing.T, s string, fam Family) Query {
	proto, port, ok := strings.Cut(s, "/")
	var n uint16
	if _, err := fmt.Sscan(port, &n); !ok || err != nil {
		t.Fatalf("bad query %q", s)
	}
	addr := netip.IPv4Unspecified()
	if fam == IPv6 {
		addr = netip.IPv6Unspecified()
	}
	return Query{Proto: proto, Addr: addr, Port: n}
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			var sets []*Ruleset
			for _, f := range gc.files {
				sets = append(sets, loadFixture(t, f))
			}
			fam := sets[0].Family
			e := NewEvaluator(fam, sets, Host{})
			g := golden{Files: gc.files, Family: fam}
			for _, q := range append(append([]string{}, commonPorts...), gc.queries...) {
				r := e.Evaluate(parseQuery(t, q, fam))
				g.Results = append(g.Results, goldenQuery{q, r})
			}
			for _, rs := range sets {
				for _, is := range Analyze(rs) {
					gi := goldenIssue{Kind: is.Kind, Line: is.Rule.Line, Rule: is.Rule.Text}
					if is.By != nil {
						gi.By = is.By.Line
					}
					g.Issues = append(g.Issues, gi)
				}
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("../testdata/rules/golden", gc.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./firewall -run TestGolden -update)", err)
			}
			if !bytes.Equal(want, got) {
				t.Errorf("%s differs from the evaluation (-want +got):\n%s", path, lineDiff(string(want), string(got)))
			}
		})
	}
}

// lineDiff shows the lines that differ, with their line numbers.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := len(w)
	if len(g) > n {
		n = len(g)
	}
	shown := 0
	for i := 0; i < n && shown < 40; i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "%d:\n- %s\n+ %s\n", i+1, a, c)
			shown++
		}
	}
	return b.String()
}

// TestGoldenKeyVerdicts states the facts the goldens must keep, so that an
// -update cannot silently bless a regression.
func TestGoldenKeyVerdicts(t *testing.T) {
	tests := []struct {
		files   []string
		query   string
		verdict Verdict
		sources string
		except  string
	}{
		{[]string{"ufw-server2-diekmann.iptables-save"}, "tcp/3306", Restricted, "10.0.0.0/24 188.95.233.38/32 188.95.233.200/32 188.95.233.220/32", ""},
		{[]string{"ufw-server2-diekmann.iptables-save"}, "udp/22", Open, "", ""},
		{[]string{"ufw-server2-diekmann.iptables-save"}, "tcp/22", Open, "", ""},
		{[]string{"ugent-server-diekmann.iptables-save"}, "tcp/8080", Open, "", ""},
		{[]string{"ugent-server-diekmann.iptables-save"}, "udp/5000", Open, "", ""},
		{[]string{"GEN-mixed-backends.iptables-legacy-save", "GEN-mixed-backends.iptables-nft-save"}, "tcp/5432", Blocked, "", ""},
		{[]string{"GEN-mixed-backends.iptables-legacy-save", "GEN-mixed-backends.iptables-nft-save"}, "tcp/22", Open, "", ""},
		{[]string{"synology-ds414-diekmann.ip6tables-save"}, "tcp/22", Blocked, "", ""},
		{[]string{"firewalld-fedora27-counters.iptables-save"}, "tcp/80", Blocked, "", ""},
		{[]string{"firewalld-fedora27-counters.iptables-save"}, "tcp/22", Open, "", ""},
		{[]string{"parser-torture-diekmann.ip6tables-save"}, "tcp/22", Blocked, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.files[0]+" "+tt.query, func(t *testing.T) {
			var sets []*Ruleset
			for _, f := range tt.files {
				sets = append(sets, loadFixture(t, f))
			}
			fam := sets[0].Family
			r := NewEvaluator(fam, sets, Host{}).Evaluate(parseQuery(t, tt.query, fam))
			got := []string{string(r.Verdict), strings.Join(prefixStrings(r.Sources), " "), strings.Join(prefixStrings(r.Except), " ")}
			want := []string{string(tt.verdict), tt.sources, tt.except}
			if strings.Join(want, "|") != strings.Join(got, "|") {
				t.Errorf("(-want +got):\n- %q\n+ %q", want, got)
			}
		})
	}
	t.Run("gopherproxy blocklist", func(t *testing.T) {
		r := NewEvaluator(IPv4, []*Ruleset{loadFixture(t, "gopherproxy-blocklist-diekmann.iptables-save")}, Host{}).Evaluate(tcp(70))
		if r.Verdict != Open || len(r.Except) < 200 {
			t.Errorf("want open with the blocklist as except, got %s with %d excepts", r.Verdict, len(r.Except))
		}
	})
}
