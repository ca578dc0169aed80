package firewall

import (
	"path/filepath"
	"reflect"
	"testing"
)

// The outline a caller keeps after compiling reports the tables, rule
// count and skipped tables of the full ruleset, and holds no rule or set.
func TestNftOutline(t *testing.T) {
	files, err := filepath.Glob("../testdata/rules/*.nft-j.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no nft fixtures: %v", err)
	}
	rules := 0
	for _, path := range files {
		n := readNftJSON(t, filepath.Base(path))
		o := n.Outline()
		if !reflect.DeepEqual(o.Tables(), n.Tables()) || o.RuleCount() != n.RuleCount() || !reflect.DeepEqual(o.Skipped, n.Skipped) || o.Source != n.Source {
			t.Errorf("%s: outline %v %d %v, ruleset %v %d %v", path, o.Tables(), o.RuleCount(), o.Skipped, n.Tables(), n.RuleCount(), n.Skipped)
		}
		rules += n.RuleCount()
		for _, tb := range o.tables {
			if len(tb.sets) != 0 {
				t.Errorf("%s: the outline keeps %d sets of %s", path, len(tb.sets), tb.name)
			}
			for _, c := range tb.chains {
				for _, r := range c.rules {
					if r != nil {
						t.Fatalf("%s: the outline keeps a rule of %s", path, c.name)
					}
				}
			}
		}
	}
	if rules < 10 {
		t.Errorf("the fixtures hold %d rules: the test checks little", rules)
	}
}
