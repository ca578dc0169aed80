package report

import (
	"bytes"
	"path/filepath"
	"regexp"
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
		if got := strings.Count(page, c.attr); got != c.want || c.want == 0 {
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
		if got := strings.Count(page, c.attr); got != c.want || c.want == 0 {
			t.Errorf("%d elements with %s, want %d (and more than none)", got, c.attr, c.want)
		}
	}
	if !strings.Contains(page, "&lt;/code&gt;&lt;script&gt;alert(3)") {
		t.Error("the hostile rule comment is not shown escaped")
	}
}
