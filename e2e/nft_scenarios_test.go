//go:build linux

package e2e

import (
	"strings"
	"sync"
	"testing"
)

// The native nftables scenarios: rulesets loaded with `nft -f` into the
// host namespace (testdata/nft/), alone or beside iptables, run by the same
// proof as TestScenarios: probes from two sources per family, fwaudit's
// verdicts against what got in, and explain against the rule whose counter
// moved (nft_counters.go reads nft's per-rule counters; every verdict rule
// in these rulesets carries a `counter`).
var nftScenarios = []scenario{
	{
		name:        "nft-debian-inet-filter",
		nft:         "nft/debian.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"nginx", "tcp:0.0.0.0:80", "both", ""},
			{"nginx", "tcp6only:[::]:80", "", "both"},
			{"nginx", "tcp:[::]:443", "both", "both"},
			{"mysqld", "tcp:[::]:3306", "none", "none"},
			{"named", "udp:[::]:53", "none", "none"},
			{"unknownd", "tcp:0.0.0.0:8080", "none", ""},
			{"redis-server", "tcp:127.0.0.1:6379", "", ""},
		},
	},
	{
		name:        "nft-named-interval-sets",
		nft:         "nft/admins-set.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"postgres", "tcp:[::]:5432", ".3", ".2"},
			{"mysqld", "tcp:0.0.0.0:3306", ".2", ""},
			{"unknownd", "udp:0.0.0.0:161", ".3", ""},
		},
	},
	{
		name:        "nft-ban-sets",
		nft:         "nft/ban-set.nft",
		nftCounters: true,
		// open to all but the banned: the bans are the except lists
		verdicts: map[string]string{"tcp:[::]:80": "open", "tcp:[::]:22": "open", "udp:0.0.0.0:53": "open"},
		listeners: []listener{
			{"nginx", "tcp:[::]:80", ".3", ".2"},
			{"sshd", "tcp:[::]:22", "none", ".2"}, // .2 banned, .3 in fail2ban's set
			{"named", "udp:0.0.0.0:53", ".3", ""},
		},
	},
	{
		name:        "nft-verdict-maps",
		nft:         "nft/ct-vmap.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"nginx", "tcp:0.0.0.0:80", "both", ""},
			{"mysqld", "tcp:[::]:3306", "none", "none"},
			{"unknownd", "tcp:[::]:8080", ".3", ".2"},
			{"named", "udp:[::]:53", "both", "both"},
			{"postgres", "tcp:0.0.0.0:5432", "none", ""},
		},
	},
	{
		name:        "nft-base-chain-priorities",
		nft:         "nft/two-base-chains.nft",
		nftCounters: true,
		listeners: []listener{
			{"unknownd", "tcp:[::]:8080", "none", "none"}, // accepted at -10, dropped at 10
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"postgres", "tcp:[::]:5432", ".3", "both"},
			{"mysqld", "tcp:[::]:3306", ".3", ".2"},
			{"unknownd", "tcp:[::]:9000", "none", "both"}, // table ip mid drops IPv4 only
		},
	},
	{
		name:        "nft-inet-one-family-rules",
		nft:         "nft/inet-family-matches.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "none", ".3"},
			{"named", "udp:[::]:53", "both", "none"},
			{"nginx", "tcp:[::]:80", "none", "both"},
			{"nginx", "tcp:[::]:443", "both", "both"},
		},
	},
	{
		name:        "nft-port-ranges-th-dport",
		nft:         "nft/ranges-l4proto.nft",
		nftCounters: true,
		listeners: []listener{
			{"unknownd", "tcp:[::]:8000", "both", "both"},
			{"unknownd", "tcp:0.0.0.0:8100", "both", ""},
			{"unknownd", "tcp:[::]:8101", "none", ".2"},
			{"named", "udp:[::]:53", "both", "both"},
			{"named", "tcp:[::]:53", "both", "both"},
			{"unknownd", "udp:[::]:5005", ".3", "none"},
			{"unknownd", "udp:0.0.0.0:8050", "none", ""},
			{"sshd", "tcp:[::]:22", "none", "none"},
		},
	},
	{
		name:        "nft-limit-ct-count",
		nft:         "nft/limits.nft",
		nftCounters: true,
		// limit and ct count decide by traffic: conditional. A limited
		// drop under a drop policy drops either way: not conditional.
		verdicts: map[string]string{"tcp:0.0.0.0:2022": "conditional", "tcp:0.0.0.0:8443": "conditional",
			"tcp:0.0.0.0:3306": "blocked", "tcp:0.0.0.0:22": "open"},
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"sshd", "tcp:0.0.0.0:2022", "both", ""},  // limit: the first connections get in
			{"nginx", "tcp:0.0.0.0:8443", "both", ""}, // ct count: so do these
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
		},
	},
	{
		name:        "nft-dnat-forward",
		nft:         "nft/dnat-forward.nft",
		nftCounters: true,
		setup: func(t *testing.T, lab *Lab) {
			backend := lab.AddBackend()
			lab.Start(backend, "nginx", "tcp:0.0.0.0:80", "tcp:0.0.0.0:81", "tcp:0.0.0.0:82")
		},
		// The host's sockets on 8080, 9090 and 7070 stand for a proxy
		// (docker-proxy): outside traffic to them lands on the backend.
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "both", ""},
			{"unknownd", "tcp:0.0.0.0:9090", ".3", ""}, // input accepts it; forward drops .2
			{"unknownd", "tcp:0.0.0.0:7070", "none", ""},
		},
	},
	{
		name:        "nft-fib",
		nft:         "nft/fib.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"unknownd", "tcp:[::]:9000", "both", "both"},
			{"unknownd", "tcp:192.0.2.1:9001", "none", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
		},
	},
	{
		// The routing table decides, not runtime state: the lab's peers
		// are on-link, so their packets pass the reverse-path check.
		name:        "nft-fib-rpfilter",
		nft:         "nft/fib-rpfilter.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"nginx", "tcp:[::]:80", "none", ".2"},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
		},
	},
	{
		name:        "nft-native-beside-iptables-nft",
		v4:          "nft/beside-nft.rules",
		nft:         "nft/beside-iptables.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},    // iptables accepts, native drops
			{"postgres", "tcp:[::]:5432", "none", "both"}, // native accepts, iptables drops (v4)
			{"nginx", "tcp:[::]:80", ".3", "both"},
		},
	},
	{
		name:          "legacy-dnat-nft-filter",
		v4Legacy:      "nft/legacy-dnat-nat.rules",
		v4:            "nft/legacy-dnat-filter.rules",
		noExplainRule: true,
		setup: func(t *testing.T, lab *Lab) {
			backend := lab.AddBackend()
			lab.Start(backend, "nginx", "tcp:0.0.0.0:80")
		},
		listeners: []listener{
			{"sshd", "tcp:0.0.0.0:22", "both", ""},
			{"unknownd", "tcp:0.0.0.0:8080", "both", ""}, // forwarded: INPUT's policy does not apply
			{"mysqld", "tcp:0.0.0.0:3306", "none", ""},
		},
	},
	{
		name:        "nft-named-maps-concat",
		nft:         "nft/named-maps-concat.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"mysqld", "tcp:[::]:3306", "none", "none"},
			{"unknownd", "tcp:[::]:8080", ".2", ".3"}, // web, else the high-port rule
			{"postgres", "tcp:[::]:5432", "both", ".2"},
			{"redis-server", "tcp:0.0.0.0:6379", ".2", ""},
			{"nginx", "tcp:[::]:80", "none", "none"},
		},
	},
	{
		// The ruleset marks packets itself; nothing else does.
		name:        "nft-meta-mark",
		nft:         "nft/meta-mark.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"unknownd", "tcp:[::]:9000", "both", "both"},
			{"unknownd", "tcp:0.0.0.0:9001", ".3", ""},
			{"mysqld", "tcp:[::]:3306", "none", "none"},
		},
	},
	{
		name:        "nft-fwaudit-suggest",
		nftCounters: true,
		setup:       loadSuggestedNft,
		listeners:   suggestNftListeners,
	},
	{
		name:        "nft-chains-iifname-flags",
		nft:         "nft/chains-matches.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:[::]:22", "both", "both"},
			{"nginx", "tcp:[::]:80", "none", "none"},
			{"unknownd", "tcp:[::]:8080", ".3", "both"},
			{"named", "udp:[::]:53", ".3", ".3"},
			{"nginx", "tcp:[::]:443", ".3", ".2"},
		},
	},
	{
		name:        "nft-ip-ip6-netdev-tables",
		nft:         "nft/family-tables.nft",
		nftCounters: true,
		listeners: []listener{
			{"sshd", "tcp:[::]:22", ".3", "both"},
			{"nginx", "tcp:[::]:80", "both", "none"},
			{"named", "udp:[::]:53", "none", ".2"},
		},
	},
}

// suggestNftListeners run while `fwaudit suggest --format nft` writes the
// ruleset of nft-fwaudit-suggest, and again when it is probed.
var suggestNftListeners = []listener{
	{"sshd", "tcp:[::]:22", "both", "both"},
	{"nginx", "tcp:[::]:80", "both", "both"},
	{"nginx", "tcp6only:[::]:443", "", "both"},
	{"nginx", "tcp:0.0.0.0:443", "both", ""},
	{"named", "udp:[::]:53", "both", "both"},
	{"postgres", "tcp:0.0.0.0:5432", "none", ""}, // sensitive: not opened
	{"mysqld", "tcp:[::]:3306", ".3", ".2"},      // --allow names two sources
	{"unknownd", "tcp:192.0.2.1:8080", "both", ""},
	{"redis-server", "tcp:127.0.0.1:6379", "", ""},
}

// loadSuggestedNft runs suggestNftListeners, has fwaudit suggest an nft
// ruleset for them, stops them and loads the ruleset, a counter put before
// every verdict (which changes no verdict) so the walk can be read.
func loadSuggestedNft(t *testing.T, lab *Lab) {
	var procs []*Proc
	for _, l := range suggestNftListeners {
		procs = append(procs, lab.Start(lab.Host, l.daemon, l.spec))
	}
	out := suggest(lab, nil, "--format", "nft", "--allow", "mysql=192.0.2.3,2001:db8::2")
	for _, p := range procs {
		p.Stop()
	}
	lab.LoadNft(withCounters(out))
}

// nftVerdictWords start the verdict of an nft rule.
var nftVerdictWords = map[string]bool{"accept": true, "drop": true, "reject": true, "jump": true,
	"goto": true, "return": true, "continue": true}

// withCounters puts `counter` before the verdict of every rule of an nft
// -f file that has none: the first verdict word outside quotes, on lines
// inside a chain other than its type/policy line.
func withCounters(ruleset string) string {
	lines := strings.Split(ruleset, "\n")
	inChain := false
	for i, line := range lines {
		s := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(s, "chain ") && strings.HasSuffix(s, "{"):
			inChain = true
		case inChain && s == "}":
			inChain = false
		case inChain && s != "" && !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, "type ") &&
			!strings.HasPrefix(s, "policy ") && !hasWord(s, "counter"):
			if at := verdictAt(line); at >= 0 {
				lines[i] = line[:at] + "counter " + line[at:]
			}
		}
	}
	return strings.Join(lines, "\n")
}

// verdictAt is the byte offset of the first verdict word outside quotes,
// or -1.
func verdictAt(line string) int {
	inQ := false
	start := -1
	for i := 0; i <= len(line); i++ {
		c := byte(' ')
		if i < len(line) {
			c = line[i]
		}
		switch {
		case c == '"':
			inQ = !inQ
			start = -1
		case inQ:
		case c == ' ' || c == '\t' || c == ';':
			if start >= 0 && nftVerdictWords[line[start:i]] {
				return start
			}
			start = -1
		case start < 0:
			start = i
		}
	}
	return -1
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// TestScenariosNft runs nftScenarios through the same proof as
// TestScenarios, a few at once.
func TestScenariosNft(t *testing.T) {
	t.Parallel()
	sem := make(chan struct{}, scenarioConcurrency)
	var wg sync.WaitGroup
	for _, sc := range nftScenarios {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t.Run(sc.name, func(t *testing.T) { runProof(t, sc) })
		}()
	}
	wg.Wait()
}
