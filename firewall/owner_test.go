package firewall

import (
	"strings"
	"testing"
)

// TestOwnerUIDOnReply: an owner match by uid on the output path decides
// the reply of a listener whose uid the scan saw: the sources it covers
// are kept out (or let through) for sure, as the kernel tests the
// listener socket's uid. Without the uid, or by group, it stays in doubt
// for the sources it covers.
func TestOwnerUIDOnReply(t *testing.T) {
	const acc22 = "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"
	out := func(m string) string { return filterRules("DROP", acc22, "-A OUTPUT -d 10.49.0.0/16 "+m+" -j DROP") }
	uid := func(n uint32) Query { q := tcp(22); q.UID, q.UIDKnown = n, true; return q }
	except := brief{Verdict: Open, Except: "10.49.0.0/16"}
	open := brief{Verdict: Open}
	doubt := brief{Verdict: Open, Except: "10.49.0.0/16", Doubtful: "10.49.0.0/16", Reasons: "-m owner"}
	// an accept by owner where the output policy drops
	outDrop := strings.Replace(filterRules("DROP", acc22, "-A OUTPUT -m owner --uid-owner 1000 -j ACCEPT"), ":OUTPUT ACCEPT", ":OUTPUT DROP", 1)
	tests := []struct {
		name, rules string
		q           Query
		want        brief
	}{
		{"uid matches", out("-m owner --uid-owner 1000"), uid(1000), except},
		{"uid does not match", out("-m owner --uid-owner 1000"), uid(0), open},
		{"uid not known", out("-m owner --uid-owner 1000"), tcp(22), doubt},
		{"negated, uid matches", out("-m owner ! --uid-owner 1000"), uid(1000), open},
		{"negated, other uid", out("-m owner ! --uid-owner 1000"), uid(0), except},
		{"range, inside", out("-m owner --uid-owner 1000-2000"), uid(2000), except},
		{"range, outside", out("-m owner --uid-owner 1000-2000"), uid(2001), open},
		{"gid", out("-m owner --gid-owner 1000"), uid(1000), doubt},
		{"uid and gid", out("-m owner --uid-owner 1000 --gid-owner 1000"), uid(1000), doubt},
		{"socket-exists", out("-m owner --socket-exists"), uid(1000), doubt},
		{"suppl-groups", out("-m owner --uid-owner 1000 --gid-owner 5 --suppl-groups"), uid(1000), doubt},
		{"user name", out("-m owner --uid-owner www"), uid(1000), doubt},
		{"owner beside a rate limit", out("-m owner --uid-owner 1000 -m limit --limit 1/s"), uid(1000),
			brief{Verdict: Open, Except: "10.49.0.0/16", Doubtful: "10.49.0.0/16", Reasons: "-m limit"}},
		{"owner beside a rate limit, other uid", out("-m owner --uid-owner 1000 -m limit --limit 1/s"), uid(0), open},
		{"accept by owner, output policy drop", outDrop, uid(1000), open},
		{"accept by owner, output policy drop, other uid", outDrop, uid(0), brief{Verdict: Blocked}},
		{"accept by owner, output policy drop, uid not known", outDrop, tcp(22),
			brief{Verdict: Conditional, Sources: "0.0.0.0/0", Reasons: "-m owner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evalText(t, tt.rules, Host{}, tt.q)
			got.Rule = ""
			if tt.want != got {
				t.Errorf("(-want +got):\n- %+v\n+ %+v", tt.want, got)
			}
		})
	}
}

// TestOwnerUIDOnReplyNft: meta skuid is decided as -m owner --uid-owner.
// The matches are as nft 1.0.6 lists them (nft -j list ruleset).
func TestOwnerUIDOnReplyNft(t *testing.T) {
	uid := func(n uint32) Query { q := tcp(22); q.UID, q.UIDKnown = n, true; return q }
	except := brief{Verdict: Open, Except: "10.49.0.0/16"}
	open := brief{Verdict: Open}
	doubt := brief{Verdict: Open, Except: "10.49.0.0/16", Doubtful: "10.49.0.0/16"}
	const (
		skuid     = `{"match": {"op": "==", "left": {"meta": {"key": "skuid"}}, "right": 1000}}`
		notSkuid  = `{"match": {"op": "!=", "left": {"meta": {"key": "skuid"}}, "right": 1000}}`
		rangeUID  = `{"match": {"op": "==", "left": {"meta": {"key": "skuid"}}, "right": {"range": [1000, 2000]}}}`
		setUID    = `{"match": {"op": "==", "left": {"meta": {"key": "skuid"}}, "right": {"set": [0, 1000]}}}`
		skgid     = `{"match": {"op": "==", "left": {"meta": {"key": "skgid"}}, "right": 1000}}`
		nameUID   = `{"match": {"op": "==", "left": {"meta": {"key": "skuid"}}, "right": "www"}}`
		lessUID   = `{"match": {"op": "<", "left": {"meta": {"key": "skuid"}}, "right": 1000}}`
		toCovered = `{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.49.0.0", "len": 16}}}}`
	)
	tests := []struct {
		name, match string
		q           Query
		want        brief
	}{
		{"uid matches", skuid, uid(1000), except},
		{"uid does not match", skuid, uid(0), open},
		{"uid not known", skuid, tcp(22), doubt},
		{"negated, uid matches", notSkuid, uid(1000), open},
		{"negated, other uid", notSkuid, uid(0), except},
		{"range, inside", rangeUID, uid(1000), except},
		{"range, outside", rangeUID, uid(999), open},
		{"set, inside", setUID, uid(1000), except},
		{"set, outside", setUID, uid(1), open},
		{"gid", skgid, uid(1000), doubt},
		{"uid and gid", skuid + ", " + skgid, uid(1000), doubt},
		{"user name", nameUID, uid(1000), doubt},
		{"ordered", lessUID, uid(1000), doubt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"nftables": [{"table": {"family": "inet", "name": "filter"}},
	{"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
	{"chain": {"family": "inet", "table": "filter", "name": "output", "handle": 2, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}},
	{"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 3, "expr": [
		{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": null}]}},
	{"rule": {"family": "inet", "table": "filter", "chain": "output", "handle": 4, "expr": [` + toCovered + ", " + tt.match + `, {"drop": null}]}}]}`
			n, err := ParseNftJSON(strings.NewReader(doc), "owner.json")
			if err != nil {
				t.Fatal(err)
			}
			got := briefOf(NewEvaluator(IPv4, []*Ruleset{n.Family(IPv4)}, Host{}).Evaluate(tt.q))
			got.Rule, got.Reasons = "", ""
			if tt.want != got {
				t.Errorf("(-want +got):\n- %+v\n+ %+v", tt.want, got)
			}
		})
	}
}
