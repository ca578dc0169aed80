package firewall

// IfaceResult is the answer to a Query for packets arriving on one input
// interface.
type IfaceResult struct {
	Iface string // the interface; "" offline for any the rules do not name
	Result
}

// EvaluateEach answers q as Evaluate does, and on every interface the
// evaluator tells apart (Interfaces), each alone: an accept that holds on
// one interface and a drop on another are kept apart there, where the
// pooled answer says only who gets in somewhere. The list is empty when q
// does not apply to the family.
func (e *Evaluator) EvaluateEach(q Query) (Result, []IfaceResult) {
	var each []IfaceResult
	r := e.evaluate(q, &each)
	return r, each
}
