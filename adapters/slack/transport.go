package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// maxBody is the largest request body the HTTP endpoints read, in bytes.
const maxBody = 1 << 20

// maxSkew is how far a signed request's timestamp may be from now.
const maxSkew = 5 * time.Minute

// Handler returns the HTTP mode's endpoints, for Slack's request URLs:
//
//   - POST /slack/events: Events API (url_verification, message.im,
//     message.channels and message.groups in the support channel,
//     app_home_opened), answered 200 at once;
//   - POST /slack/interactivity: block_actions, answered 200 at once, and
//     view_submission, answered within 2.5 s with a response_action body
//     or an empty body that closes the modal;
//   - POST /slack/commands: the slash command, answered at once.
//
// Every request is verified before anything else is read from it
// (Slack's "Verifying requests from Slack"): its X-Slack-Request-Timestamp
// must be within 5 minutes of Options.Now and its X-Slack-Signature must
// be the v0 HMAC-SHA256 of "v0:timestamp:body" under the signing secret
// (slack.NewSecretsVerifier, constant-time compare; it also checks the
// timestamp against the system clock). A request that fails gets 401 with
// no detail and changes nothing; without a signing secret every request
// fails. Redelivered events (X-Slack-Retry-Num) are handled once: the
// engine records each event_id.
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /slack/events", a.verified(a.serveEvent))
	mux.Handle("POST /slack/interactivity", a.verified(a.serveInteraction))
	mux.Handle("POST /slack/commands", a.verified(a.serveCommand))
	return mux
}

// verified reads the body, checks the signature and then calls h with the
// body restored.
func (a *Adapter) verified(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if err := a.verify(r.Header, body); err != nil {
			a.log.Warn("slack: unsigned or stale request refused", "path", r.URL.Path)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r, body)
	})
}

// errStale is returned by verify for a timestamp too far from now.
var errStale = errors.New("slack: request timestamp too far from now")

func (a *Adapter) verify(h http.Header, body []byte) error {
	ts, err := strconv.ParseInt(h.Get("X-Slack-Request-Timestamp"), 10, 64)
	if err != nil {
		return err
	}
	if d := a.now().Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return errStale
	}
	sv, err := slackapi.NewSecretsVerifier(h, a.secret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

func (a *Adapter) serveEvent(w http.ResponseWriter, r *http.Request, body []byte) {
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		// An event type we did not subscribe to, or a malformed one:
		// answer 200 so that Slack does not send it again.
		a.log.Debug("slack: event not understood", "err", err)
		return
	}
	if ev.Type == slackevents.URLVerification {
		var c slackevents.EventsAPIURLVerificationEvent
		if err := json.Unmarshal(body, &c); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, c.Challenge)
		return
	}
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		a.log.Debug("slack: event redelivered", "retry", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	a.onEvent(ev)
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request, _ []byte) {
	ic, err := slackapi.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	switch ic.Type {
	case slackapi.InteractionTypeBlockActions:
		a.onAction(ic)
	case slackapi.InteractionTypeViewSubmission:
		if resp := a.submit(ic)(); resp != nil {
			writeJSON(w, resp)
		}
	}
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request, _ []byte) {
	cmd, err := slackapi.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if resp := a.onCommand(cmd); resp != nil {
		writeJSON(w, resp)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// runSocket connects with Socket Mode (apps.connections.open with the
// app-level token, then the WebSocket) and handles its envelopes until ctx
// is done. Envelopes are read in one goroutine, so each conversation's
// events reach the engine in order.
func (a *Adapter) runSocket(ctx context.Context) error {
	smc := socketmode.New(a.api)
	errc := make(chan error, 1)
	go func() { errc <- smc.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt := <-smc.Events:
			a.onEnvelope(ctx, smc, evt)
		}
	}
}

// onEnvelope acknowledges a Socket Mode envelope and handles it. Events,
// commands and actions are acknowledged first, before any of their work
// (a command's ack payload is computed without any call); the work that
// follows in this goroutine only queues (engine.Dispatch, goWork), so the
// next envelope is read at once. A view submission is acknowledged with
// its response_action within 2.5 s, from its own goroutine. Acks are
// dropped once ctx (the connection's) is done.
func (a *Adapter) onEnvelope(ctx context.Context, smc *socketmode.Client, evt socketmode.Event) {
	a.work.Add(1) // before the ack, so that work started by it is counted
	defer a.work.Done()
	ack := func(payload any) {
		if err := smc.AckCtx(ctx, evt.Request.EnvelopeID, payload); err != nil {
			a.log.Error("slack: ack failed", "envelope", evt.Request.EnvelopeID, "err", err)
		}
	}
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		ack(nil)
		if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
			a.onEvent(ev)
		}
	case socketmode.EventTypeSlashCommand:
		cmd, _ := evt.Data.(slackapi.SlashCommand)
		var payload any
		if resp := a.commandAck(cmd); resp != nil {
			payload = resp
		}
		ack(payload)
		a.handleCommand(cmd)
	case socketmode.EventTypeInteractive:
		ic, _ := evt.Data.(slackapi.InteractionCallback)
		if ic.Type != slackapi.InteractionTypeViewSubmission {
			ack(nil)
			a.onAction(ic)
			return
		}
		wait := a.submit(ic)
		a.goWork(func(context.Context) {
			var payload any
			if resp := wait(); resp != nil {
				payload = resp
			}
			ack(payload)
		})
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth,
		socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		a.log.Warn("slack: socket mode", "event", string(evt.Type))
	case socketmode.EventTypeConnected:
		a.log.Info("slack: socket mode connected")
	}
}
