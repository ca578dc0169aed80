package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// hostileReport is week 2's hostile host: process names and rule comments
// holding <script>, <img onerror> and a closing </code>.
func hostileReport(t *testing.T) *Report {
	t.Helper()
	in := readInput(t, filepath.Join(fleetDir, "week2", "hostile.json"))
	if in.Err != nil {
		t.Fatal(in.Err)
	}
	return in.Report
}

var (
	htmlTag  = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*/?>`)
	htmlAttr = regexp.MustCompile(`([^\s=>]+)(?:="[^"]*")?`)
	// every element and attribute the pages may use: none runs a script
	// or loads anything
	htmlElements = map[string]bool{"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true,
		"header": true, "section": true, "article": true, "h1": true, "h2": true, "h3": true, "p": true, "div": true,
		"span": true, "strong": true, "code": true, "br": true, "ul": true, "li": true, "dl": true, "dt": true, "dd": true,
		"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true}
)

// selfContained fails t when page has an element or attribute outside the
// allowed ones (no script, image, link, frame or event handler), CSS that
// loads anything, or no print CSS.
func selfContained(t *testing.T, page string) {
	t.Helper()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Errorf("the page does not start with a doctype: %.40q", page)
	}
	rest := htmlTag.ReplaceAllStringFunc(strings.TrimPrefix(page, "<!DOCTYPE html>"), func(tag string) string {
		m := htmlTag.FindStringSubmatch(tag)
		if !htmlElements[strings.ToLower(m[2])] {
			t.Errorf("element %s in the page: %q", m[2], tag)
		}
		for _, a := range htmlAttr.FindAllStringSubmatch(m[3], -1) {
			name := strings.ToLower(a[1])
			switch {
			case name == "class" || name == "id" || name == "lang" || name == "charset" || name == "name" ||
				name == "content" || name == "http-equiv" || strings.HasPrefix(name, "data-"):
			default:
				t.Errorf("attribute %s in the page: %q", name, tag)
			}
		}
		return ""
	})
	// what is left is text and CSS: no markup may survive in it
	if i := strings.IndexAny(rest, "<>"); i >= 0 {
		t.Errorf("unescaped markup outside the known tags: ...%s...", rest[max(0, i-60):min(len(rest), i+60)])
	}
	style := page[strings.Index(page, "<style>"):strings.Index(page, "</style>")]
	for _, bad := range []string{"url(", "@import", "http:", "https:", "expression("} {
		if strings.Contains(strings.ToLower(style), bad) {
			t.Errorf("the CSS holds %q", bad)
		}
	}
	if !strings.Contains(style, "@media print") {
		t.Error("the page has no print CSS")
	}
}

func TestReportHTML(t *testing.T) {
	r := hostileReport(t)
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	selfContained(t, page)
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",              // a process name
		"&lt;img src=x onerror=alert(2)&gt;",                 // another
		"&lt;/code&gt;&lt;script&gt;alert(3)&lt;/script&gt;", // a rule comment
		"Remediation</dt>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	counts := []struct {
		attr string
		want int
	}{
		{`class="finding `, len(r.Findings)},
		{`<tr class="check"`, len(r.Checks)},
		{`<tr class="socket"`, len(r.Sockets)},
	}
	for _, c := range counts {
		got := strings.Count(page, c.attr)
		if c.attr == `class="finding ` {
			got += hiddenFindings(page) // in groups cut short
		}
		if got != c.want || c.want == 0 {
			t.Errorf("%d elements with %s, want %d (and more than none)", got, c.attr, c.want)
		}
	}
}

func TestFleetHTML(t *testing.T) {
	fl := NewFleet(append(readDir(t, "week2"), readDir(t, "broken")...), readDir(t, "week1"))
	var b bytes.Buffer
	if err := fl.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	selfContained(t, page)
	counts := []struct {
		attr string
		want int
	}{
		{`<tr class="host-row"`, len(fl.Hosts)},
		{`class="finding `, len(fl.Findings)},
		{`<tr class="exposed"`, len(fl.Exposed)},
		{`data-change="new"`, len(fl.Diff.New)},
		{`data-change="resolved"`, len(fl.Diff.Resolved)},
		{`data-change="host-added"`, len(fl.Diff.HostsAdded)},
		{`<li class="report-error"`, len(fl.Errors)},
	}
	for _, c := range counts {
		got := strings.Count(page, c.attr)
		if c.attr == `class="finding ` {
			got += hiddenFindings(page) // in groups cut short
		}
		if got != c.want || c.want == 0 {
			t.Errorf("%d elements with %s, want %d (and more than none)", got, c.attr, c.want)
		}
	}
	if !strings.Contains(page, "&lt;/code&gt;&lt;script&gt;alert(3)") {
		t.Error("the hostile rule comment is not shown escaped")
	}
}

var dataHidden = regexp.MustCompile(`data-hidden="([0-9]+)"`)

// hiddenFindings is how many findings the page's groups leave out.
func hiddenFindings(page string) int {
	n := 0
	for _, m := range dataHidden.FindAllStringSubmatch(page, -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

// A group of many findings of one kind in one chain is one entry with
// its count and its first findings; the JSON keeps them all.
func TestFindingGroups(t *testing.T) {
	var fs []Finding
	for i := 0; i < 1005; i++ {
		fs = append(fs, Finding{ID: "stale-rule", Severity: Low, Title: "ACCEPT rule for a port nobody listens on",
			Detail: fmt.Sprintf("INPUT accepts tcp port %d but nothing listens there", 1000+i), Proto: "tcp", Port: uint16(1000 + i),
			Rule: fmt.Sprintf("-A INPUT -p tcp -m tcp --dport %d -j ACCEPT", 1000+i), Source: "rules.v4", Line: 10 + i,
			Remediation: "delete the rule"})
	}
	fs = append(fs, Finding{ID: "stale-rule", Severity: Low, Title: "ACCEPT rule for a port nobody listens on", Proto: "tcp", Port: 5432,
		Rule: "-A SERVICES -s 10.0.0.0/8 -p tcp -m tcp --dport 5432 -j ACCEPT", Source: "rules.v4", Line: 2000, Remediation: "delete the rule"})
	fs = append(fs, Finding{ID: "stale-rule", Severity: Low, Title: "ACCEPT rule for a port nobody listens on", Proto: "tcp", Port: 22,
		Rule: "inet filter input handle 7: tcp dport 22 accept", Remediation: "delete the rule"})
	r := &Report{Tool: Tool{Name: "fwaudit"}, Findings: fs, Sockets: []Socket{}, Checks: []Check{},
		Summary: Summary{Findings: map[string]int{"low": len(fs)}}}
	gs := GroupFindings(reportFindings(fs))
	var got []string
	for _, g := range gs {
		got = append(got, fmt.Sprintf("%s|%s|%d|%v", g.ID, g.Chain, len(g.Findings), g.Cut()))
	}
	want := []string{"stale-rule|INPUT|1005|true", "stale-rule|SERVICES|1|false", "stale-rule|inet filter input|1|false"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("groups %v, want %v", got, want)
	}
	if h := gs[0].Heading(); h != "stale-rule ×1,005 in INPUT, first 5 shown" {
		t.Errorf("heading %q", h)
	}
	var table, md, page bytes.Buffer
	if err := r.WriteTable(&table, TextOptions{Width: 80, UTF8: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": table.String(), "markdown": md.String(), "html": page.String()} {
		if !strings.Contains(out, "stale-rule ×1,005 in INPUT, first 5 shown") {
			t.Errorf("%s has no group heading:\n%s", name, out)
		}
		if !strings.Contains(out, "1,000 more") {
			t.Errorf("%s does not count the findings left out", name)
		}
		if strings.Contains(out, "port 1005 ") {
			t.Errorf("%s shows the sixth finding of a cut group", name)
		}
		if !strings.Contains(out, "SERVICES") {
			t.Errorf("%s lost the SERVICES finding", name)
		}
	}
	if n := strings.Count(page.String(), `class="finding `) + hiddenFindings(page.String()); n != len(fs) {
		t.Errorf("the page accounts for %d findings, want %d", n, len(fs))
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(js.String(), `"id": "stale-rule"`); n != len(fs) {
		t.Errorf("the JSON has %d findings, want all %d", n, len(fs))
	}
}

// A dual-stack socket whose families differ says so in the verdict column,
// as scan does, and who can reach it per family beside it.
func TestHTMLDualStackVerdict(t *testing.T) {
	r := exposureReport(sock("tcp", 443, "::", fv("open", nil, []string{"203.0.113.0/24"}), fv("blocked", nil, nil)))
	r.Tool.Name = "fwaudit"
	r.Checks = []Check{}
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`>v4 open; v6 blocked</td>`,
		`<div class="who" data-family="ipv4" data-verdict="open"><span class="fam">ipv4</span> open: <span class="everyone">everyone</span> except <span class="except mono">203.0.113.0/24</span></div>`,
		`<div class="who" data-family="ipv6" data-verdict="blocked"><span class="fam">ipv6</span> blocked: no one</div>`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the page has no %s", want)
		}
	}
}
