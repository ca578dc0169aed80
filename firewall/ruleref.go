package firewall

// RuleRef names what decided a verdict: a rule, or the policy of a base
// chain. It prints (and encodes in JSON) as the rule's text as in the save
// file ("-A INPUT -p tcp --dport 22 -j ACCEPT", nft: where and what) or the
// policy as its front end writes it ("-P INPUT DROP", "inet filter input
// policy drop"); the zero RuleRef names nothing and prints as "".
type RuleRef struct {
	rule *Rule
	// text is a policy's (policy set), or a note standing for a rule
	// where no rule decided ("(not translated to 127.0.0.1)")
	text   string
	policy bool
}

// ruleRef names r.
func ruleRef(r *Rule) RuleRef { return RuleRef{rule: r} }

// policyRef names base chain c's policy.
func policyRef(c *cchain) RuleRef { return RuleRef{text: c.policyText(), policy: true} }

// Rule is the rule named; nil for a policy or nothing.
func (r RuleRef) Rule() *Rule { return r.rule }

// IsPolicy tells whether a base chain's policy decided.
func (r RuleRef) IsPolicy() bool { return r.policy }

// IsZero tells whether r names nothing.
func (r RuleRef) IsZero() bool { return r.rule == nil && r.text == "" }

// String is the rule's text or the policy's.
func (r RuleRef) String() string {
	if r.rule != nil {
		return r.rule.Text
	}
	return r.text
}

// MarshalText encodes r as its text, so JSON holds the string it always
// held.
func (r RuleRef) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a rule's text back (from JSON written earlier): the
// text alone, with no rule behind it.
func (r *RuleRef) UnmarshalText(b []byte) error {
	*r = RuleRef{text: string(b)}
	return nil
}
