package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ParseReport reads one `report --format json` document, as written by
// WriteJSON, and checks that it is one: another tool's JSON, a truncated
// file, a newer schema version or a summary that disagrees with the
// findings it sums is an error, never a host with nothing to say.
func ParseReport(r io.Reader) (*Report, error) {
	dec := json.NewDecoder(r)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(err)
	}
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		return nil, errors.New("more than one JSON document")
	}
	if t := strings.TrimLeft(string(raw), " \t\r\n"); !strings.HasPrefix(t, "{") {
		return nil, errors.New("not an fwaudit report: the document is not a JSON object")
	}
	// What marks the document as ours comes first, so that another tool's
	// JSON is named as such rather than by its first odd field.
	var head struct {
		SchemaVersion *int `json:"schema_version"`
		Tool          struct {
			Name string `json:"name"`
		} `json:"tool"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.SchemaVersion == nil || head.Tool.Name != "fwaudit" {
		return nil, errors.New("not an fwaudit report: no schema_version and tool.name \"fwaudit\"")
	}
	if *head.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("report schema_version %d is not supported (want %d)", *head.SchemaVersion, SchemaVersion)
	}
	var rep Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, jsonError(err)
	}
	if _, err := time.Parse(time.RFC3339, rep.GeneratedAt); err != nil {
		return nil, fmt.Errorf("generated_at %q is not an RFC 3339 time", rep.GeneratedAt)
	}
	if rep.Checks == nil || rep.Findings == nil || rep.Sockets == nil {
		return nil, errors.New("checks, findings or sockets is missing")
	}
	if rep.Summary.Findings == nil {
		return nil, errors.New("summary.findings is missing")
	}
	count := map[string]int{}
	for _, f := range rep.Findings {
		count[f.Severity.String()]++
	}
	for _, sev := range Severities {
		n := sev.String()
		if got, ok := rep.Summary.Findings[n]; !ok || got != count[n] {
			return nil, fmt.Errorf("summary.findings.%s is %d but the report lists %d %s findings", n, got, count[n], n)
		}
	}
	return &rep, nil
}

// jsonError says what went wrong in terms of the file: a syntax error names
// its byte offset, and a file cut short says so.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("empty file: no JSON document")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated JSON: the document ends early")
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		return fmt.Errorf("not an fwaudit report: %s is a JSON %s, want %s", typ.Field, typ.Value, typ.Type)
	}
	return err
}
