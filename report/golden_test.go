package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fwaudit/fwaudit/firewall"
	"github.com/fwaudit/fwaudit/scan"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/report")

const goldenDir = "../testdata/report"

// goldenCase is testdata/report/NAME/case.json: which captured files make
// up the host, as the CLI would read them with --offline.
type goldenCase struct {
	Hostname string `json:"hostname"`
	Sockets  string `json:"sockets"`
	Rules4   []struct {
		File   string `json:"file"`
		Source string `json:"source"` // backend it was read from; default: the file name
	} `json:"rules4"`
	Rules6 []struct {
		File   string `json:"file"`
		Source string `json:"source"`
	} `json:"rules6"`
	Nft          string `json:"nft"` // nft -j list ruleset output, for both families
	Err4         string `json:"err4"`
	Err6         string `json:"err6"`
	IPv6Disabled bool   `json:"ipv6_disabled"`
}

func loadCase(t *testing.T, dir string) Inputs {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c goldenCase
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("case.json: %v", err)
	}
	in := Inputs{Hostname: c.Hostname, IPv6Disabled: c.IPv6Disabled, Now: testTime, Version: "1.0.0-test"}
	f, err := os.Open(filepath.Join(dir, c.Sockets))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if in.Listeners, err = scan.ParseText(f, c.Sockets); err != nil {
		t.Fatalf("parsing %s: %v", c.Sockets, err)
	}
	fw := &firewall.Loaded{V4: firewall.FamilyRules{Why: c.Err4}, V6: firewall.FamilyRules{Why: c.Err6}}
	parse := func(file, source string, fam firewall.Family) *firewall.Ruleset {
		if source == "" {
			source = file
		}
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		rs, err := firewall.ParseSave(bytes.NewReader(b), source, fam)
		if err != nil {
			t.Fatalf("parsing %s: %v", file, err)
		}
		return rs
	}
	for _, r := range c.Rules4 {
		fw.V4.Sets = append(fw.V4.Sets, parse(r.File, r.Source, firewall.IPv4))
	}
	for _, r := range c.Rules6 {
		fw.V6.Sets = append(fw.V6.Sets, parse(r.File, r.Source, firewall.IPv6))
	}
	if c.Nft != "" {
		b, err := os.ReadFile(filepath.Join(dir, c.Nft))
		if err != nil {
			t.Fatal(err)
		}
		n, err := firewall.ParseNftJSON(bytes.NewReader(b), c.Nft)
		if err != nil {
			t.Fatalf("parsing %s: %v", c.Nft, err)
		}
		fw.Nft = n
		fw.V4.Sets = append(fw.V4.Sets, n.Family(firewall.IPv4))
		fw.V6.Sets = append(fw.V6.Sets, n.Family(firewall.IPv6))
	}
	in.Firewall = fw
	return in
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("compiling schema.json: %v", err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, name string, data []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s does not match report/schema.json: %v", name, err)
	}
}

// TestGolden renders every captured host in testdata/report in all three
// formats, compares with the goldens (-update rewrites them) and validates
// the JSON against the schema.
func TestGolden(t *testing.T) {
	schema := compileSchema(t)
	dirs, err := filepath.Glob(filepath.Join(goldenDir, "*", "case.json"))
	if err != nil || len(dirs) < 6 {
		t.Fatalf("want at least six cases in %s, found %d (%v)", goldenDir, len(dirs), err)
	}
	for _, cj := range dirs {
		dir := filepath.Dir(cj)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := Build(loadCase(t, dir))
			for _, out := range []struct {
				file  string
				write func(*bytes.Buffer) error
			}{
				{"report.json", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
				{"report.txt", func(b *bytes.Buffer) error { return r.WriteTable(b, TextOptions{Width: 80, UTF8: true}) }},
				{"report.md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
			} {
				var got bytes.Buffer
				if err := out.write(&got); err != nil {
					t.Fatalf("%s: %v", out.file, err)
				}
				if out.file == "report.json" {
					validate(t, schema, out.file, got.Bytes())
				}
				path := filepath.Join(dir, out.file)
				if *update {
					if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./report -update)", err)
				}
				if !bytes.Equal(want, got.Bytes()) {
					t.Errorf("%s differs from the golden (-want +got):\n%s", path, lineDiff(string(want), got.String()))
				}
			}
		})
	}
}

// TestSchemaRejects makes sure the schema validation can fail.
func TestSchemaRejects(t *testing.T) {
	schema := compileSchema(t)
	good := Build(Inputs{Now: testTime, Version: "x"})
	var b bytes.Buffer
	if err := good.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, from, to string }{
		{"bad severity key", `"critical": 0`, `"severe": 0`},
		{"bad status", `"status": "skip"`, `"status": "maybe"`},
		{"schema version", `"schema_version": 1`, `"schema_version": 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(b.String(), tt.from, tt.to, 1)
			if bad == b.String() {
				t.Fatalf("%q not in the report", tt.from)
			}
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
			if err != nil {
				t.Fatal(err)
			}
			if schema.Validate(inst) == nil {
				t.Errorf("schema accepted a report with %s", tt.to)
			}
		})
	}
}

// lineDiff shows the lines that differ, "-" from want and "+" from got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("-" + wl + "\n+" + gl + "\n")
		}
	}
	return b.String()
}
