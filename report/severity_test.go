package report

import (
	"encoding/json"
	"testing"
)

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in      string
		want    Severity
		wantErr bool
	}{
		{"critical", Critical, false},
		{"HIGH", High, false},
		{" medium ", Medium, false},
		{"low", Low, false},
		{"info", Info, false},
		{"warning", Info, true},
		{"", Info, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSeverity(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSeverity(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseSeverity(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSeverityJSONRoundTrip(t *testing.T) {
	for _, sev := range Severities {
		t.Run(sev.String(), func(t *testing.T) {
			b, err := json.Marshal(sev)
			if err != nil {
				t.Fatal(err)
			}
			if want := `"` + sev.String() + `"`; string(b) != want {
				t.Fatalf("Marshal = %s, want %s", b, want)
			}
			var back Severity
			if err := json.Unmarshal(b, &back); err != nil || back != sev {
				t.Fatalf("Unmarshal(%s) = %v, %v; want %v", b, back, err, sev)
			}
		})
	}
}

// TestExceeds is the --fail-on contract: exit 3 exactly when a finding at or
// above the threshold exists.
func TestExceeds(t *testing.T) {
	withFindings := func(sevs ...Severity) *Report {
		r := &Report{}
		for _, s := range sevs {
			r.Findings = append(r.Findings, Finding{ID: "x", Severity: s})
		}
		return r
	}
	tests := []struct {
		name   string
		report *Report
		failOn Severity
		want   bool
	}{
		{"no findings, info", withFindings(), Info, false},
		{"no findings, critical", withFindings(), Critical, false},
		{"info finding, fail on info", withFindings(Info), Info, true},
		{"info finding, fail on low", withFindings(Info), Low, false},
		{"high finding, fail on high", withFindings(Low, High), High, true},
		{"high finding, fail on medium", withFindings(High), Medium, true},
		{"high finding, fail on critical", withFindings(High, Medium), Critical, false},
		{"critical finding, fail on critical", withFindings(Critical), Critical, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.report.Exceeds(tt.failOn); got != tt.want {
				t.Errorf("Exceeds(%v) = %v, want %v", tt.failOn, got, tt.want)
			}
		})
	}
}
