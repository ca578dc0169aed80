package report

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

// TestDirectAccess: a container behind a DNAT is reachable by routing
// straight to its address unless something drops that before routing
// (Docker 28's raw PREROUTING drop, Docker 29's raw-priority chain) or
// FORWARD does.
func TestDirectAccess(t *testing.T) {
	docker := func(raw, forward string) string {
		return `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
` + raw + `COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 8083 -j DNAT --to-destination 172.17.0.3:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
-A FORWARD -o docker0 -j DOCKER
` + forward + `COMMIT
`
	}
	const accepts = "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n" +
		"-A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n"
	const raw28 = "-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP\n-A PREROUTING -d 172.17.0.3/32 ! -i docker0 -j DROP\n"
	proxy := listener("tcp", "0.0.0.0", 8080, "docker-proxy")
	tests := []struct {
		name, raw, forward string
		want               []string
	}{
		// Docker 20: both containers, the 127.0.0.1 publish too
		{"docker 20", "", accepts, []string{"direct-access 172.17.0.2:80", "direct-access 172.17.0.3:80"}},
		{"docker 28 raw drops", raw28, accepts, nil},
		{"FORWARD accepts nothing", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build(Inputs{Listeners: []scan.Listener{proxy}, Firewall: fwFrom(t, docker(tt.raw, tt.forward), emptyV6), Now: testTime})
			if d := diffLines(tt.want, directKeys(r)); d != "" {
				t.Errorf("direct-access findings (-want +got):\n%s", d)
			}
		})
	}
}

// TestDirectAccessDocker29: moby's Docker 29 golden rules (nftables
// backend). Gateway mode nat drops direct access at priority raw; routed
// mode does not, so the container's port 80 is reachable at its address.
func TestDirectAccessDocker29(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: reading nft text needs a network namespace (root); run `sudo make test`")
	}
	for _, c := range []struct {
		file string
		want []string
	}{
		{"docker29-nftabler-nat.ip.nft", nil},
		{"docker29-nftabler-routed.ip.nft", []string{"direct-access 192.168.0.2:80"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			text, err := os.ReadFile("../testdata/rules/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			// nft 1.0.6 reads the output hook's nat priority only as a number
			text = []byte(strings.Replace(string(text), "type nat hook output priority dstnat;", "type nat hook output priority -100;", 1))
			n, err := firewall.LoadNftText(context.Background(), firewall.ExecRunner{}, text, c.file)
			if err != nil {
				t.Fatal(err)
			}
			sets := []*firewall.Ruleset{n.Family(firewall.IPv4)}
			fw := &firewall.Loaded{V4: firewall.FamilyRules{Sets: sets}, V6: firewall.FamilyRules{Why: "not provided"}}
			r := Build(Inputs{Listeners: []scan.Listener{listener("tcp", "0.0.0.0", 8080, "docker-proxy")}, Firewall: fw, Now: testTime})
			if d := diffLines(c.want, directKeys(r)); d != "" {
				t.Errorf("direct-access findings (-want +got):\n%s", d)
			}
		})
	}
}

func directKeys(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		if f.ID == "direct-access" {
			out = append(out, f.ID+" "+f.Address+":"+strconv.Itoa(int(f.Port)))
		}
	}
	return out
}
