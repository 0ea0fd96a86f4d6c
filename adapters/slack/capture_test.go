package slack

import (
	"testing"

	"guidedfix/bot"
)

// TestCapture checks the view submission's capture step by step: which
// replies are held back for the modal, which are posted, and what a late
// answer leaves to post.
func TestCapture(t *testing.T) {
	want := modalRef{Chan: "D1", Field: bot.SecretSMSCode, Nonce: "ab3"}
	same := &prompt{reply: bot.Reply{ID: "again"}, ref: want}
	other := &prompt{reply: bot.Reply{ID: "next"}, ref: modalRef{Chan: "D1", Field: bot.SecretTOTPCode, Nonce: "ab5"}}
	newStep := &prompt{reply: bot.Reply{ID: "new step"}, ref: modalRef{Chan: "D1", Field: bot.SecretSMSCode, Nonce: "ab5"}}

	type step struct {
		op    string  // "add", "release", "finish"
		p     *prompt // for add
		flush *prompt // add: the held prompt to post first; finish: the one left to post
		hold  bool    // add: held; release: succeeded
		held  *prompt // after the step
		last  *prompt // after the step
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"the same question is held for the modal", []step{
			{op: "add", p: same, hold: true, held: same, last: same},
			{op: "finish", held: same, last: same},
		}},
		{"another question is posted", []step{
			{op: "add", p: other, last: other},
		}},
		{"the same field at a new step is posted", []step{
			{op: "add", p: newStep, last: newStep},
		}},
		{"a later reply posts the held question first", []step{
			{op: "add", p: same, hold: true, held: same, last: same},
			{op: "add", flush: same},
		}},
		{"a held question followed by another question", []step{
			{op: "add", p: same, hold: true, held: same, last: same},
			{op: "add", p: other, flush: same, last: other},
		}},
		{"after a late answer nothing is held", []step{
			{op: "release", hold: true},
			{op: "add", p: same, last: same},
			{op: "finish", last: same},
		}},
		{"a question held before a late answer is posted at the end", []step{
			{op: "add", p: same, hold: true, held: same, last: same},
			{op: "release", hold: true, held: same, last: same},
			{op: "finish", flush: same, last: same},
		}},
		{"no late answer once the turn is over", []step{
			{op: "add", p: same, hold: true, held: same, last: same},
			{op: "finish", held: same, last: same},
			{op: "release", held: same, last: same},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &capture{want: want}
			for i, s := range tc.steps {
				var flush *prompt
				var hold bool
				switch s.op {
				case "add":
					flush, hold = c.add(s.p)
				case "release":
					hold = c.release()
				case "finish":
					flush = c.finish()
				}
				if flush != s.flush || hold != s.hold || c.held != s.held || c.last != s.last {
					t.Fatalf("step %d (%s): flush %v hold %v held %v last %v, want %v %v %v %v",
						i, s.op, promptID(flush), hold, promptID(c.held), promptID(c.last), promptID(s.flush), s.hold, promptID(s.held), promptID(s.last))
				}
			}
		})
	}
}

func promptID(p *prompt) string {
	if p == nil {
		return "nil"
	}
	return p.reply.ID
}
