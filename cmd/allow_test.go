package cmd

import (
	"strings"
	"testing"
)

// TestAllowProtoFirst checks that --allow and --deny take tcp/5432 as they
// take 5432/tcp (as explain does), and that the spec has an effect.
func TestAllowProtoFirst(t *testing.T) {
	base := []string{"suggest", "--offline", "--sockets", pgDir + "ss.txt", "--rules", pgDir + "rules.v4", "--rules6", pgDir + "rules.v6", "-o", "nft"}
	tests := []struct {
		name, flag, portFirst, protoFirst string
	}{
		{"allow", "--allow", "5432/tcp=192.0.2.0/24", "tcp/5432=192.0.2.0/24"},
		{"allow upper case", "--allow", "5432/tcp", "TCP/5432"},
		{"deny", "--deny", "8080/tcp", "tcp/8080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			without, _, code := run(t, nil, base...)
			if code != exitOK {
				t.Fatalf("without %s: exit %d", tc.flag, code)
			}
			want, wantErr, code := run(t, nil, append(base, tc.flag, tc.portFirst)...)
			if code != exitOK {
				t.Fatalf("%s %s: exit %d, stderr %q", tc.flag, tc.portFirst, code, wantErr)
			}
			if want == without {
				t.Fatalf("%s %s changes nothing: the test proves nothing", tc.flag, tc.portFirst)
			}
			got, gotErr, code := run(t, nil, append(base, tc.flag, tc.protoFirst)...)
			if code != exitOK {
				t.Fatalf("%s %s: exit %d, stderr %q", tc.flag, tc.protoFirst, code, gotErr)
			}
			// messages quote the spec as given
			quote := strings.NewReplacer(tc.flag+" "+tc.protoFirst, tc.flag+" "+tc.portFirst)
			got, gotErr = quote.Replace(got), quote.Replace(gotErr)
			if got != want {
				t.Errorf("%s %s prints another ruleset than %s (-want +got):\n%s", tc.flag, tc.protoFirst, tc.portFirst, lineDiff(want, got))
			}
			if gotErr != wantErr {
				t.Errorf("stderr differs (-want +got):\n%s", lineDiff(wantErr, gotErr))
			}
		})
	}
}
