package firewall

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fakeRunner maps command lines to captured files under testdata/rules, or
// to an error.
type fakeRunner struct {
	files map[string]string
	errs  map[string]error

	mu    sync.Mutex // LoadLive runs commands concurrently
	calls []string
}

func (f *fakeRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := strings.TrimSpace(name + " " + strings.Join(args, " "))
	f.mu.Lock()
	f.calls = append(f.calls, line)
	f.mu.Unlock()
	if err, ok := f.errs[line]; ok {
		return nil, &CmdError{Cmd: line, Err: err}
	}
	if file, ok := f.files[line]; ok {
		if file == "" {
			return nil, nil
		}
		return os.ReadFile(filepath.Join("../testdata/rules", file))
	}
	return nil, &CmdError{Cmd: line, Err: ErrNotInstalled}
}

func sources(sets []*Ruleset) []string {
	var out []string
	for _, s := range sets {
		out = append(out, fmt.Sprintf("%s:%d", s.Source, s.RuleCount()))
	}
	return out
}

func TestLoadLive(t *testing.T) {
	permission := fmt.Errorf("%w: exit status 4", ErrPermission)
	tests := []struct {
		name       string
		files      map[string]string
		errs       map[string]error
		v4, v6     []string
		err4, err6 string
		unseen     []string
		warnings   int
	}{
		{
			name: "both backends hold rules",
			files: map[string]string{
				"iptables-nft-save": "GEN-mixed-backends.iptables-nft-save", "iptables-legacy-save": "GEN-mixed-backends.iptables-legacy-save",
				"ip6tables-nft-save": "parser-torture-diekmann.ip6tables-save", "ip6tables-legacy-save": "",
			},
			v4: []string{"iptables-nft:2", "iptables-legacy:3"}, v6: []string{"ip6tables-nft:8"},
		},
		{
			name:  "empty legacy tables are dropped",
			files: map[string]string{"iptables-nft-save": "ufw-server2-diekmann.iptables-save", "iptables-legacy-save": "blank-lines-between-tables.iptables-save", "ip6tables-nft-save": "synology-ds414-diekmann.ip6tables-save"},
			v4:    []string{"iptables-nft:68", "iptables-legacy:5"}, v6: []string{"ip6tables-nft:47"},
		},
		{
			name:  "plain iptables-save",
			files: map[string]string{"iptables-save": "ufw-server2-diekmann.iptables-save", "ip6tables-save": "synology-ds414-diekmann.ip6tables-save"},
			v4:    []string{"iptables:68"}, v6: []string{"ip6tables:47"},
		},
		{
			name:  "only an empty legacy backend",
			files: map[string]string{"iptables-legacy-save": "", "ip6tables-legacy-save": ""},
			v4:    []string{"iptables-legacy:0"}, v6: []string{"ip6tables-legacy:0"},
		},
		{
			name: "not installed",
			err4: "iptables-save: not installed", err6: "ip6tables-save: not installed", warnings: 2,
		},
		{
			name:     "not root",
			errs:     map[string]error{"iptables-nft-save": permission, "iptables-legacy-save": permission, "ip6tables-nft-save": permission, "ip6tables-legacy-save": permission},
			err4:     "iptables-save: permission denied (run as root)",
			err6:     "ip6tables-save: permission denied (run as root)",
			warnings: 1, // one cause, said once
		},
		{
			// the workstation's "ip filter" and "ip6 filter" have lower-case
			// native base chains (input, forward, output): not iptables-nft's,
			// so they join each family's rules, 9 rules each
			name: "native nft tables evaluated beside iptables-nft",
			files: map[string]string{"iptables-nft-save": "GEN-mixed-backends.iptables-nft-save", "ip6tables-nft-save": "",
				"nft -j list ruleset": "nftjson-workstation-ip-ip6.json"},
			v4: []string{"iptables-nft:2", "nft:9"}, v6: []string{"ip6tables-nft:0", "nft:9"},
		},
		{
			// iptables-nft-save fails on a table with native expressions
			// (as on Tailscale hosts): the family is read with nft instead,
			// not given up
			name: "iptables-nft-save fails, nft reads the family",
			files: map[string]string{"ip6tables-nft-save": "", "iptables-legacy-save": "",
				"nft -j list ruleset": "nftjson-workstation-ip-ip6.json"},
			errs: map[string]error{"iptables-nft-save": errors.New("exit status 3")},
			v4:   []string{"iptables-legacy:0", "nft:9"}, v6: []string{"ip6tables-nft:0", "nft:9"},
		},
		{
			// legacy rules may drop what nft accepts: nobody saw them
			name:  "iptables-legacy-save fails, iptables-nft-save reads",
			files: map[string]string{"iptables-nft-save": "ufw-server2-diekmann.iptables-save", "ip6tables-nft-save": "", "ip6tables-legacy-save": ""},
			errs:  map[string]error{"iptables-legacy-save": ErrPermission},
			v4:    []string{"iptables-nft:68"}, v6: []string{"ip6tables-nft:0"},
			unseen: []string{"iptables-legacy rules not read (running iptables-legacy-save: permission denied)"}, warnings: 1,
		},
		{
			name: "iptables-nft's own tables and an empty inet filter are not native filtering",
			files: map[string]string{"iptables-nft-save": "ufw-server2-diekmann.iptables-save", "ip6tables-nft-save": "",
				"nft -j list ruleset": "GEN-ufw-server2-as-iptables-nft.nft-j.json"},
			v4: []string{"iptables-nft:68"}, v6: []string{"ip6tables-nft:0"},
		},
		{
			name: "debian default inet filter accepts and filters nothing",
			files: map[string]string{"iptables-nft-save": "", "ip6tables-nft-save": "",
				"nft -j list ruleset": "GEN-debian12-default.nft-j.json"},
			v4: []string{"iptables-nft:0"}, v6: []string{"ip6tables-nft:0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeRunner{files: tt.files, errs: tt.errs}
			l := LoadLive(context.Background(), r)
			errString := func(e error) string {
				if e == nil {
					return ""
				}
				return e.Error()
			}
			got := []any{sources(l.V4), sources(l.V6), errString(l.Err4), errString(l.Err6), l.Unseen, len(l.Warnings)}
			if len(l.Unseen4)+len(l.Unseen6) != len(l.Unseen) {
				t.Errorf("per-family unseen %q %q do not split %q", l.Unseen4, l.Unseen6, l.Unseen)
			}
			want := []any{tt.v4, tt.v6, tt.err4, tt.err6, tt.unseen, tt.warnings}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("(-want +got):\n- %q\n+ %q\nwarnings: %q", want, got, l.Warnings)
			}
		})
	}
}

func TestExecRunner(t *testing.T) {
	t.Run("missing binary", func(t *testing.T) {
		_, err := ExecRunner{}.Run(context.Background(), "fwaudit-no-such-binary", "-x")
		var ce *CmdError
		if !errors.As(err, &ce) || !errors.Is(err, ErrNotInstalled) || ce.Cmd != "fwaudit-no-such-binary -x" {
			t.Errorf("got %v", err)
		}
	})
	t.Run("stderr in the error", func(t *testing.T) {
		_, err := ExecRunner{}.Run(context.Background(), "sh", "-c", "echo boom >&2; exit 3")
		if err == nil || err.Error() != "running sh -c echo boom >&2; exit 3: exit status 3: boom" {
			t.Errorf("got %v", err)
		}
	})
	t.Run("permission", func(t *testing.T) {
		_, err := ExecRunner{}.Run(context.Background(), "sh", "-c", "echo 'Permission denied (you must be root)' >&2; exit 4")
		if !errors.Is(err, ErrPermission) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("output", func(t *testing.T) {
		out, err := ExecRunner{}.Run(context.Background(), "echo", "hi")
		if err != nil || string(out) != "hi\n" {
			t.Errorf("got %q %v", out, err)
		}
	})
}

// proberRunner also answers LegacyTables, as ExecRunner does from /proc.
type proberRunner struct {
	*fakeRunner
	legacy map[Family]bool
}

func (p proberRunner) LegacyTables(fam Family) (present, known bool) { return p.legacy[fam], true }

func TestLoadLiveSkipsAbsentLegacyTables(t *testing.T) {
	f := &fakeRunner{files: map[string]string{
		"iptables-nft-save":     "GEN-mixed-backends.iptables-nft-save",
		"iptables-legacy-save":  "GEN-mixed-backends.iptables-legacy-save",
		"ip6tables-nft-save":    "",
		"ip6tables-legacy-save": "",
		"nft -j list ruleset":   "",
	}}
	l := LoadLive(context.Background(), proberRunner{f, map[Family]bool{IPv4: true}})
	if l.Err4 != nil || l.Err6 != nil {
		t.Fatalf("errors: %v, %v", l.Err4, l.Err6)
	}
	if got, want := sources(l.V4), []string{"iptables-nft:2", "iptables-legacy:3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ipv4 sources = %v, want %v", got, want)
	}
	for _, c := range f.calls {
		if c == "ip6tables-legacy-save" {
			t.Errorf("ran %s although no IPv6 legacy table exists", c)
		}
	}
}

// tablesRunner also answers NftTables and LegacyTables, as ExecRunner does.
type tablesRunner struct {
	*fakeRunner
	nft []NftTable
}

func (r tablesRunner) NftTables() ([]NftTable, error)                { return r.nft, nil }
func (r tablesRunner) LegacyTables(fam Family) (present, known bool) { return false, true }

func TestLoadLiveRunsOnlyWhatTheKernelHas(t *testing.T) {
	t.Run("no tables at all", func(t *testing.T) {
		f := &fakeRunner{}
		l := LoadLive(context.Background(), tablesRunner{f, nil})
		if l.V4 != nil || l.V6 != nil || l.Err4 != nil || l.Err6 != nil || len(l.Unseen) > 0 {
			t.Errorf("got %+v, want no rules and no errors", l)
		}
		if len(f.calls) != 0 {
			t.Errorf("ran %v, want no command", f.calls)
		}
	})
	t.Run("ip table only", func(t *testing.T) {
		f := &fakeRunner{files: map[string]string{
			"iptables-nft-save":   "GEN-mixed-backends.iptables-nft-save",
			"nft -j list ruleset": "GEN-ufw-server2-as-iptables-nft.nft-j.json",
		}}
		l := LoadLive(context.Background(), tablesRunner{f, []NftTable{{"ip", "filter"}}})
		if l.Err4 != nil || l.Err6 != nil || l.V6 != nil {
			t.Errorf("got %+v, want IPv4 rules only", l)
		}
		sort.Strings(f.calls)
		if want := []string{"iptables-nft-save", "nft -j list ruleset"}; !reflect.DeepEqual(f.calls, want) {
			t.Errorf("ran %v, want %v", f.calls, want)
		}
	})
}

// TestLoadLiveIncompatibleTable: iptables-nft-save prints no rules for a
// table holding native expressions ("# Table `filter' is incompatible"),
// so nft's view of that table is evaluated rather than dropped as
// iptables-nft's own.
func TestLoadLiveIncompatibleTable(t *testing.T) {
	doc := `{"nftables": [{"table": {"family": "ip", "name": "filter"}},
	{"chain": {"family": "ip", "table": "filter", "name": "INPUT", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
	{"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": null}]}}]}`
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "save"), []byte("# Table `filter' is incompatible, use 'nft' tool.\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "nft.json"), []byte(doc), 0o644)
	r := &fileRunner{files: map[string]string{"iptables-nft-save": filepath.Join(dir, "save"), "ip6tables-nft-save": "", "iptables-legacy-save": "", "ip6tables-legacy-save": "",
		"nft -j list ruleset": filepath.Join(dir, "nft.json")}}
	l := LoadLive(context.Background(), r)
	var got []string
	for _, rs := range l.V4 {
		got = append(got, rs.Source)
	}
	if len(got) != 2 || got[1] != "nft" {
		t.Fatalf("IPv4 rulesets %q, want the empty iptables-nft dump and nft's view of ip filter", got)
	}
	if res := NewEvaluator(IPv4, l.V4, Host{}).Evaluate(Query{Proto: "tcp", Port: 80}); res.Verdict != Blocked {
		t.Errorf("tcp/80: %+v, want blocked by the table's policy drop", res)
	}
}

// fileRunner answers commands with files by absolute path ("" for no output).
type fileRunner struct{ files map[string]string }

func (f *fileRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := strings.TrimSpace(name + " " + strings.Join(args, " "))
	p, ok := f.files[line]
	if !ok {
		return nil, &CmdError{Cmd: line, Err: ErrNotInstalled}
	}
	if p == "" {
		return nil, nil
	}
	return os.ReadFile(p)
}

// TestUnreadTables: with nft missing, only the families whose tables no
// other reading covers make verdicts conditional.
func TestUnreadTables(t *testing.T) {
	tests := []struct {
		name         string
		tables       []NftTable
		read4, read6 bool
		want         []nativeTable
	}{
		{"iptables-nft tables read, an ip6 table not", []NftTable{{"ip", "filter"}, {"ip6", "filter"}}, true, false, []nativeTable{{"ip6", "r"}}},
		{"both read", []NftTable{{"ip", "filter"}, {"ip6", "nat"}}, true, true, nil},
		{"a native ip table", []NftTable{{"ip", "tailscale"}}, true, true, []nativeTable{{"ip", "r"}}},
		{"an inet table sees both", []NftTable{{"inet", "filter"}}, true, true, []nativeTable{{"inet", "r"}}},
		{"netdev sees both", []NftTable{{"netdev", "edge"}, {"ip", "filter"}}, true, true, []nativeTable{{"inet", "r"}}},
		{"arp filters no IP packet", []NftTable{{"arp", "filter"}}, false, false, nil},
		{"iptables names not read", []NftTable{{"ip", "filter"}}, false, true, []nativeTable{{"ip", "r"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unreadTables(tt.tables, "r", tt.read4, tt.read6); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
