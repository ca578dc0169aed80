package cmd

import (
	"os"
	"strings"
	"testing"
)

// TestRulesFromStdin checks that "-" reads each rules flag's input from
// stdin: the output is the one the file gives, with the file named stdin.
func TestRulesFromStdin(t *testing.T) {
	nftJSON := "../testdata/report/nft-debian-host/ruleset.json"
	tests := []struct {
		name string
		args []string // the command, without the flag read from stdin
		flag string
		file string
	}{
		{"scan --rules", []string{"scan", "--offline", "--sockets", ufwSockets, "-o", "json"}, "--rules", ufwRules},
		{"scan --rules6", []string{"scan", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "-o", "json"}, "--rules6", pgDir + "rules.v6"},
		{"scan --nft", []string{"scan", "--offline", "--sockets", pgDir + "ss.txt", "-o", "json"}, "--nft", nftJSON},
		{"explain --nft", []string{"explain", "tcp/5432", "--offline", "--from", "192.0.2.9"}, "--nft", nftJSON},
		{"explain --rules", []string{"explain", "tcp/3306", "--offline", "--from", "188.95.233.38", "--iface", "eth0"}, "--rules", ufwRules},
		{"suggest --rules", []string{"suggest", "--offline", "--sockets", keptDir + "ss.txt", "--rules6", keptDir + "rules.v6"}, "--rules", keptDir + "rules.v4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			wantOut, wantErr, wantCode := run(t, nil, append(tc.args, tc.flag, tc.file)...)
			if wantCode != exitOK {
				t.Fatalf("with the file: exit %d, stderr %q", wantCode, wantErr)
			}
			wantOut = strings.ReplaceAll(wantOut, tc.file, "stdin")
			wantErr = strings.ReplaceAll(wantErr, tc.file, "stdin")

			gotOut, gotErr, code := runStdin(t, nil, string(b), append(tc.args, tc.flag, "-")...)
			if code != exitOK {
				t.Fatalf("from stdin: exit %d, stderr %q", code, gotErr)
			}
			if gotOut != wantOut {
				t.Errorf("stdout from stdin differs from the file's (-want +got):\n%s", lineDiff(wantOut, gotOut))
			}
			if gotErr != wantErr {
				t.Errorf("stderr from stdin differs from the file's (-want +got):\n%s", lineDiff(wantErr, gotErr))
			}
		})
	}
}
