package report

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fwaudit/fwaudit/scan"
)

// TestVerdictCacheSharesEqualVerdicts: judged through one cache, every
// listener of every golden case gets a verdict equal to the one judged
// alone, and alike verdicts are shared.
func TestVerdictCacheSharesEqualVerdicts(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(goldenDir, "*", "case.json"))
	if err != nil || len(dirs) < 6 {
		t.Fatalf("want at least six cases in %s, found %d (%v)", goldenDir, len(dirs), err)
	}
	shared := 0
	for _, cj := range dirs {
		in := loadCase(t, filepath.Dir(cj))
		// each listener twice, and one bound to a device: the second
		// judging of each comes from the cache
		ls := append(append([]scan.Listener{}, in.Listeners...), in.Listeners...)
		if len(in.Listeners) > 0 {
			l := in.Listeners[0]
			l.Device = "eth9"
			ls = append(ls, l, l)
		}
		var c verdictCache
		seen := map[*SocketFirewall]bool{}
		for i := range ls {
			got := c.judge(&ls[i], in.Firewall)
			if want := judge(&ls[i], in.Firewall); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s %v:%d: cached %+v, alone %+v", filepath.Base(filepath.Dir(cj)), ls[i].Proto, ls[i].Address, ls[i].Port, got, want)
			}
			if seen[got] {
				shared++
			}
			seen[got] = true
		}
	}
	if shared < len(dirs) {
		t.Errorf("only %d verdicts shared over %d cases", shared, len(dirs))
	}
}
