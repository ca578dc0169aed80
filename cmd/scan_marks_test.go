package cmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestScanMarks: in the table a service named by the port alone ends in
// "?" and a client socket reads "(client)"; JSON says service_by and
// client. The inputs are captures: netstat shows python3 for every helper
// (it reads the command line), ss the renamed comm.
func TestScanMarks(t *testing.T) {
	const (
		clients = "../testdata/sockets/captured-ss-clients-tunlp.txt"
		netstat = "../testdata/sockets/captured-netstat-tunlp.txt"
	)
	tests := []struct {
		name  string
		file  string
		rows  []string // table rows, fields joined by one space
		avoid []string
	}{
		{"client sockets", clients, []string{
			"udp 0.0.0.0 47857 dig(13233) (client) public",
			"udp6+4 :: 54929 host(13234) (client) public",
			"udp 0.0.0.0 54627 rsyslogd(13237) syslog public",
			"udp 0.0.0.0 38880 named(13236) dns public",
			"udp 0.0.0.0 60001 mosh-server(13238) mosh public",
			"udp 0.0.0.0 40000 - - public",
		}, nil},
		{"names from the port alone", netstat, []string{
			"tcp 0.0.0.0 22 python3(6832) ssh? public",
			// python3 also holds 0.0.0.0:22: its IPv6 socket is V6ONLY
			"tcp6 :: 22 python3(6832) ssh? public",
			"tcp6+4 :: 5622 python3(6832) - public",
			"tcp 0.0.0.0 8080 python3(6840) http-alt? public",
		}, []string{"(client)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, "scan", "--offline", "--no-firewall", "--sockets", tc.file)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			rows := map[string]bool{}
			for _, l := range strings.Split(stdout, "\n") {
				rows[strings.Join(strings.Fields(l), " ")] = true
			}
			for _, want := range tc.rows {
				if !rows[want] {
					t.Errorf("no row %q in:\n%s", want, stdout)
				}
			}
			for _, bad := range tc.avoid {
				if strings.Contains(stdout, bad) {
					t.Errorf("table holds %q:\n%s", bad, stdout)
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		stdout, _, code := run(t, nil, "scan", "--offline", "--no-firewall", "-o", "json", "--sockets", clients)
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		var doc struct {
			Sockets []struct {
				Proto     string  `json:"proto"`
				Family    string  `json:"family"`
				Port      uint16  `json:"port"`
				Service   string  `json:"service"`
				ServiceBy *string `json:"service_by"`
				Client    *bool   `json:"client"`
			} `json:"sockets"`
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, s := range doc.Sockets {
			v := s.Service + "|"
			if s.ServiceBy != nil {
				v += *s.ServiceBy
			}
			v += "|"
			if s.Client != nil {
				v += fmt.Sprint(*s.Client)
			}
			got[fmt.Sprintf("%s/%d %s", s.Proto, s.Port, s.Family)] = v
		}
		for key, want := range map[string]string{
			"udp/47857 ipv4": "||true",       // dig: a client, no service
			"udp/53 ipv4":    "dns|process|", // fields left out when empty
			"udp/40000 ipv4": "||",           // no owner, no name, not a client
		} {
			if got[key] != want {
				t.Errorf("%s: service|service_by|client = %q, want %q", key, got[key], want)
			}
		}
	})
}
