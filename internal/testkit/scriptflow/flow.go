// Package scriptflow is a small scripted bot.Flow for the adapter contract
// test (internal/testkit/contract): a fixed walk whose steps use every
// bot.Reply feature — a text with buttons, an edit by reference, a
// protected and sensitive image and text, a secret prompt, a batch of
// deletes by reference and a single one — and answers the bad inputs
// (typed text, unsupported media, a stale or forged button, a wrong
// secret) without changing state. Only tests use it; its states and texts
// are its own, so adapter tests need no real flow.
//
// The walk, by state:
//
//	(start)          -> StateGreeted:  send MsgHello (Ref "hello", [Go])
//	StateGreeted     -> StateEdited:   Go: edit "hello" to MsgEdited ([Next])
//	StateEdited      -> StateAsking:   Next: image MsgQR (Ref "qr") and MsgKey
//	                                   (Ref "key", Key as Reply.Code), both
//	                                   Protected and Sensitive; ask
//	                                   MsgAskSecret (password)
//	StateAsking      -> StateAsking:   a wrong secret: MsgSecretWrong, ask
//	                                   again (same step)
//	StateAsking      -> StateVerified: Passphrase: delete "qr", delete "key",
//	                                   send MsgSecretOK ([Finish])
//	StateVerified    -> StateDone:     Finish: delete "hello", send MsgDone
//	any              -> StateCancelled: /cancel (deletes "qr" and "key")
package scriptflow

import (
	"context"
	"fmt"
	"io/fs"

	"guidedfix/bot"
	"guidedfix/internal/qr"
)

// Name is the flow's stable name in sessions.
const Name = "contractscript"

// States of the script (stored names; see the package comment).
const (
	// StateGreeted: MsgHello with the Go button was sent (step 1).
	StateGreeted bot.State = "script_greeted"
	// StateEdited: MsgHello was edited into MsgEdited with Next (step 2).
	StateEdited bot.State = "script_edited"
	// StateAsking: the image, the key and the secret prompt were sent; a
	// secret is expected (step 3; a wrong secret stays here).
	StateAsking bot.State = "script_asking"
	// StateVerified: Passphrase was given, the image and the key deleted
	// (step 4).
	StateVerified bot.State = "script_verified"
	// StateDone ends the script after Finish (terminal).
	StateDone bot.State = "script_done"
	// StateCancelled ends it after /cancel or a new start (terminal).
	StateCancelled bot.State = "script_cancelled"
	// StateExpired ends it at the idle deadline (terminal).
	StateExpired bot.State = "script_expired"
	// StateBlocked ends it when the user blocked the bot (terminal).
	StateBlocked bot.State = "script_blocked"
)

// Button actions (bot.Button.Data before the engine adds its nonce).
const (
	// ActionGo is the Go button of MsgHello.
	ActionGo = "go"
	// ActionNext is the Next button of MsgEdited.
	ActionNext = "next"
	// ActionFinish is the Finish button of MsgSecretOK.
	ActionFinish = "finish"
)

// Message refs (bot.Reply.Ref) of the script's messages.
const (
	// RefHello is MsgHello (edited into MsgEdited, deleted at Finish).
	RefHello = "hello"
	// RefQR is the image MsgQR and RefKey the text MsgKey (both deleted
	// after the right secret, /cancel or the expiry).
	RefQR  = "qr"
	RefKey = "key"
	// RefPrompt is the secret prompt (bot.Turn.Ask's ref).
	RefPrompt = "prompt"
)

// Passphrase is the one secret the prompt accepts. Key is the fake
// manual key MsgKey shows and QRText the text the image encodes; all three
// are test values that must never reach a log or the session store.
const (
	Passphrase = "Contract-Passphrase-7319!"
	Key        = "JBSW Y3DP EHPK 3PXP"
	QRText     = "otpauth://totp/Contract:script?secret=JBSWY3DPEHPK3PXP&issuer=Contract"
)

// Flow is the script flow; its zero value is not usable, call New.
type Flow struct {
	png []byte
}

var (
	_ bot.Flow          = (*Flow)(nil)
	_ bot.MessageSource = (*Flow)(nil)
	_ bot.Rerenderer    = (*Flow)(nil)
	_ bot.Describer     = (*Flow)(nil)
	_ bot.StateTable    = (*Flow)(nil)
)

// Describe returns the script's descriptor (bot.Descriptor): Name, version
// 1, no start command of its own (the engine's "start" begins it as the
// default flow), the password secret, no tags.
func (f *Flow) Describe() bot.Descriptor {
	return bot.Descriptor{Name: Name, Version: 1, Secrets: []bot.SecretField{bot.SecretPassword}}
}

// StateTable returns the script's transition table (see the package
// comment); /cancel, a new start, the expiry and a block end any step.
func (f *Flow) StateTable() bot.Table {
	return bot.Table{
		Start: []bot.State{StateGreeted},
		Next: map[bot.State][]bot.State{
			StateGreeted:   {StateEdited},
			StateEdited:    {StateAsking},
			StateAsking:    {StateVerified},
			StateVerified:  {StateDone},
			StateDone:      nil,
			StateCancelled: nil,
			StateExpired:   nil,
			StateBlocked:   nil,
		},
		Always: []bot.State{StateCancelled, StateExpired, StateBlocked},
	}
}

// New returns the script flow. It panics if the QR image cannot be made
// (a bug: QRText is a constant).
func New() *Flow {
	png, err := qr.PNG(QRText)
	if err != nil {
		panic(fmt.Sprintf("scriptflow: QR: %v", err))
	}
	return &Flow{png: png}
}

// Name returns Name.
func (f *Flow) Name() string { return Name }

// Messages returns the script's catalog files (locales/en.yaml, ms.yaml).
func (f *Flow) Messages() (fs.FS, []string) {
	return messages, []string{"locales/en.yaml", "locales/ms.yaml"}
}

// Start sends MsgHello with the Go button and moves to StateGreeted.
func (f *Flow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto(StateGreeted)
	t.Send(bot.Reply{ID: MsgHello, Text: t.T(MsgHello, nil), Ref: RefHello, Buttons: []bot.Button{t.Button(LabelGo, ActionGo)}})
	return nil
}

// Handle runs one step of the script (see the package comment). Input the
// current state does not expect is answered and changes nothing.
func (f *Flow) Handle(ctx context.Context, t *bot.Turn) error {
	ev := t.Event
	switch ev.Kind {
	case bot.KindStart:
		f.cleanup(t)
		t.Restart(StateCancelled)
		return nil
	case bot.KindCommand:
		switch ev.Command {
		case "cancel":
			f.cleanup(t)
			t.Say(MsgCancelled, nil)
			t.End(StateCancelled)
		default:
			t.Say(MsgHelp, nil)
		}
		return nil
	case bot.KindBlocked:
		f.cleanup(t)
		t.End(StateBlocked)
		return nil
	case bot.KindUnsupported:
		t.Say(MsgUnsupported, nil)
		return nil
	case bot.KindTimer:
		return nil
	case bot.KindResume:
		f.prompt(t)
		return nil
	case bot.KindText:
		t.Say(MsgTextSeen, nil)
		return nil
	}
	switch st := t.Session.State; {
	case st == StateGreeted && ev.Kind == bot.KindButton && ev.Data == ActionGo:
		t.Goto(StateEdited)
		t.Edit(RefHello, MsgEdited, nil, t.Button(LabelNext, ActionNext))
	case st == StateEdited && ev.Kind == bot.KindButton && ev.Data == ActionNext:
		t.Goto(StateAsking)
		t.Send(bot.Reply{ID: MsgQR, Text: t.T(MsgQR, nil), Image: f.png, QR: QRText, Protected: true, Sensitive: true, Ref: RefQR})
		t.Send(bot.Reply{ID: MsgKey, Text: t.T(MsgKey, map[string]any{"Key": Key}), Code: []string{Key}, Protected: true, Sensitive: true, Ref: RefKey})
		t.Ask(bot.SecretPassword, MsgAskSecret, nil)
	case st == StateAsking && ev.Kind == bot.KindSecret && ev.Secret.Reveal() == Passphrase:
		t.Goto(StateVerified)
		t.Delete(RefQR)
		t.Delete(RefKey)
		t.Say(MsgSecretOK, nil, t.Button(LabelFinish, ActionFinish))
	case st == StateAsking && ev.Kind == bot.KindSecret:
		// The prompt is asked again; its old message stays (it may be
		// joined with the image and the key, bot.Joiner).
		t.Say(MsgSecretWrong, nil)
		t.Ask(bot.SecretPassword, MsgAskSecret, nil)
	case st == StateVerified && ev.Kind == bot.KindButton && ev.Data == ActionFinish:
		t.Delete(RefHello)
		t.Say(MsgDone, nil)
		t.End(StateDone)
	default:
		// A secret nobody asked for, or a button of another step that the
		// engine let through: nothing changes.
		t.Say(MsgHelp, nil)
	}
	return nil
}

// prompt repeats the current state's question (after a hand-back).
func (f *Flow) prompt(t *bot.Turn) {
	switch t.Session.State {
	case StateGreeted:
		t.Say(MsgHello, nil, t.Button(LabelGo, ActionGo))
	case StateEdited:
		t.Say(MsgEdited, nil, t.Button(LabelNext, ActionNext))
	case StateAsking:
		t.Ask(bot.SecretPassword, MsgAskSecret, nil)
	case StateVerified:
		t.Say(MsgSecretOK, nil, t.Button(LabelFinish, ActionFinish))
	}
}

// cleanup deletes the sensitive messages, if they were sent.
func (f *Flow) cleanup(t *bot.Turn) {
	t.Delete(RefQR)
	t.Delete(RefKey)
}

// Expire deletes the sensitive messages and sends MsgExpired.
func (f *Flow) Expire(ctx context.Context, t *bot.Turn) error {
	f.cleanup(t)
	t.Say(MsgExpired, nil)
	t.End(StateExpired)
	return nil
}

// Rerender renders the sensitive reply r again (the engine stores it
// without content): the image MsgQR or the key MsgKey. Other ids are an
// error.
func (f *Flow) Rerender(ctx context.Context, t *bot.Turn, r bot.Reply) (bot.Reply, error) {
	switch r.ID {
	case MsgQR:
		return bot.Reply{ID: MsgQR, Text: t.T(MsgQR, nil), Image: f.png, QR: QRText, Protected: true}, nil
	case MsgKey:
		return bot.Reply{ID: MsgKey, Text: t.T(MsgKey, map[string]any{"Key": Key}), Code: []string{Key}, Protected: true}, nil
	}
	return r, fmt.Errorf("scriptflow: cannot render %s again", r.ID)
}
