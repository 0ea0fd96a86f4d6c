package bot

// Session tags (Session.Tags, set by flows with Turn.Tag) that the engine's
// observers read — the support desk, the Slack staff side, the metrics —
// whatever the flow. A flow that sets them lists them in its
// Descriptor.Tags; the names are the engine's vocabulary, not a flow's.
const (
	// TagAccount holds the portal account id (portal.Account.ID) the
	// session is about, once the flow has identified it; "" before.
	TagAccount = "account"
	// TagHandoff holds the id of the support hand-off the session was
	// started from (support.Handoff.ID); absent for a session the
	// customer began.
	TagHandoff = "handoff"
	// TagVerified says how far the customer has proved who they are, in
	// the flow's words for staff ("password and SMS code"); absent before.
	TagVerified = "verified"
	// TagLastError holds a short, secret-free description of the last
	// problem the customer met ("wrong SMS code"), for an escalation.
	TagLastError = "last_error"
	// TagRestored holds the second factor (portal.Method, e.g. "sms") a
	// flow gave back to the account after it had removed it and the
	// change was abandoned; absent otherwise. The metrics count a session
	// that ends with it (guidedfix_flows_restored_total).
	TagRestored = "restored"
)
