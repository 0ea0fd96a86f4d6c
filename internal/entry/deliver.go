package entry

import (
	"context"
	"sync"

	"guidedfix/bot"
)

// Deliverer puts the entry page in front of an adapter's bot.Deliverer
// for one channel (secrets.entry: page). Register it with the engine in
// place of the adapter (Engine.Register(channel, d)).
type Deliverer struct {
	// Inner is the adapter that sends the messages.
	Inner bot.Deliverer
	// Server issues the links.
	Server *Server
	// WebApp makes Telegram open the links as a Mini App (web_app button).
	// Links are then issued only in the user's private chat (conversation
	// id = user id) and need the Mini App's initData.
	WebApp bool

	moved sync.Map // conversation string → true: its QR went to the page
}

// Deliver performs r through Inner, changed as follows (everything else
// passes unchanged):
//
//   - a secret prompt (OpSend with Secret set) gets a Link to a one-time
//     secret page (SecretLink) as its first button; the chat path stays
//     as the fallback;
//   - a QR code (OpSend with an Image and QR) is not sent: a message with a
//     Link to the QR page (QRLink) goes instead, so the code never becomes
//     a chat photo;
//   - the manual key (a Sensitive OpSend with Ref "key") that follows a QR
//     code sent to the page is not sent, as the page shows it; Deliver
//     returns "" for it;
//   - an OpDelete with no MessageID (of the key never sent) does nothing.
//
// When a link cannot be issued (the store failed) the reply goes out as
// the chat path sends it and the failure is logged. Errors are Inner's.
func (d *Deliverer) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	switch {
	case r.Op == bot.OpDelete && r.MessageID == "":
		return "", nil
	case r.Op != bot.OpSend && r.Op != "":
		return d.Inner.Deliver(ctx, to, r)
	case r.Secret != bot.SecretNone:
		if l := d.secretLink(ctx, to, r); l != nil {
			r.Link = l
		}
	case len(r.Image) > 0 && r.QR != "":
		if l := d.qrLink(ctx, to, r); l != nil {
			sess, _ := d.Server.eng.Session(ctx, to)
			locale := ""
			if sess != nil {
				locale = sess.Locale
			}
			cat := d.Server.eng.Catalog()
			d.moved.Store(to.String(), true)
			r = bot.Reply{Op: bot.OpSend, ID: "entry.qr_moved", Text: cat.Text(locale, "entry.qr_moved", nil),
				Protected: true, Ref: r.Ref, Link: l}
		}
	case r.Sensitive && r.Ref == "key":
		if _, moved := d.moved.LoadAndDelete(to.String()); moved {
			return "", nil
		}
	}
	return d.Inner.Deliver(ctx, to, r)
}

func (d *Deliverer) secretLink(ctx context.Context, to bot.Conversation, r bot.Reply) *bot.Link {
	sess, err := d.Server.eng.Session(ctx, to)
	if err != nil || sess.Expect != r.Secret {
		return nil
	}
	if d.WebApp && sess.UserID != to.ID {
		return nil // not the user's private chat: no link others could open
	}
	u, err := d.Server.SecretLink(ctx, sess, d.WebApp)
	if err != nil {
		d.Server.log.Warn("entry: no link for the prompt; chat entry only", "conversation", to.String(), "err", err)
		return nil
	}
	label := "entry.button.code"
	if r.Secret == bot.SecretPassword {
		label = "entry.button.password"
	}
	return &bot.Link{Label: d.Server.eng.Catalog().Text(sess.Locale, label, nil), URL: u, WebApp: d.WebApp}
}

func (d *Deliverer) qrLink(ctx context.Context, to bot.Conversation, r bot.Reply) *bot.Link {
	sess, err := d.Server.eng.Session(ctx, to)
	if err != nil {
		return nil
	}
	if d.WebApp && sess.UserID != to.ID {
		return nil
	}
	u, err := d.Server.QRLink(sess, r.QR, d.WebApp)
	if err != nil {
		d.Server.log.Warn("entry: no QR link; QR sent in the chat", "conversation", to.String(), "err", err)
		return nil
	}
	return &bot.Link{Label: d.Server.eng.Catalog().Text(sess.Locale, "entry.button.qr", nil), URL: u, WebApp: d.WebApp}
}
