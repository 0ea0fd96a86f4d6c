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
			a.log.WarnContext(r.Context(), "slack: unsigned or stale request refused", "path", r.URL.Path)
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
		a.log.DebugContext(r.Context(), "slack: event not understood", "err", err)
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
		a.log.DebugContext(r.Context(), "slack: event redelivered", "retry", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
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
// is done. The reading goroutine only acknowledges (ackFirst) and queues
// each envelope; one worker goroutine then handles them in arrival order,
// so each conversation's events reach the engine in order and no
// envelope's ack waits for another's work.
func (a *Adapter) runSocket(ctx context.Context) error {
	smc := socketmode.New(a.api)
	errc := make(chan error, 1)
	go func() { errc <- smc.RunContext(ctx) }()
	queue := make(chan socketmode.Event, socketQueue)
	defer close(queue)
	go func() {
		for evt := range queue {
			a.onEnvelope(ctx, smc, evt)
			a.work.Done()
		}
	}()
	for {
		select {
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt := <-smc.Events:
			a.work.Add(1) // before the ack, so that work started by it is counted
			a.ackFirst(ctx, smc, evt)
			queue <- evt
		}
	}
}

// socketQueue is how many acknowledged Socket Mode envelopes may wait for
// the worker before the reading goroutine waits too.
const socketQueue = 1024

// ack acknowledges the Socket Mode envelope of evt with payload (nil for
// none); the ack is dropped once ctx (the connection's) is done.
func (a *Adapter) ack(ctx context.Context, smc *socketmode.Client, evt socketmode.Event, payload any) {
	if err := smc.AckCtx(ctx, evt.Request.EnvelopeID, payload); err != nil {
		a.log.ErrorContext(ctx, "slack: ack failed", "envelope", evt.Request.EnvelopeID, "err", err)
	}
}

// ackFirst acknowledges evt before any of its work: events, commands
// (with the payload commandAck computes without any call) and actions.
// A view submission is acknowledged later, with its response_action, by
// onEnvelope.
func (a *Adapter) ackFirst(ctx context.Context, smc *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		a.ack(ctx, smc, evt, nil)
	case socketmode.EventTypeSlashCommand:
		cmd, _ := evt.Data.(slackapi.SlashCommand)
		var payload any
		if resp := a.commandAck(cmd); resp != nil {
			payload = resp
		}
		a.ack(ctx, smc, evt, payload)
	case socketmode.EventTypeInteractive:
		if ic, _ := evt.Data.(slackapi.InteractionCallback); ic.Type != slackapi.InteractionTypeViewSubmission {
			a.ack(ctx, smc, evt, nil)
		}
	}
}

// onEnvelope handles a Socket Mode envelope that ackFirst has
// acknowledged, in the worker goroutine: its work only queues
// (engine.Dispatch, goWork). A view submission is queued for the engine
// and acknowledged with its response_action within 2.5 s, from its own
// goroutine.
func (a *Adapter) onEnvelope(ctx context.Context, smc *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
			a.onEvent(ev)
		}
	case socketmode.EventTypeSlashCommand:
		cmd, _ := evt.Data.(slackapi.SlashCommand)
		a.handleCommand(cmd)
	case socketmode.EventTypeInteractive:
		ic, _ := evt.Data.(slackapi.InteractionCallback)
		if ic.Type != slackapi.InteractionTypeViewSubmission {
			a.onAction(ic)
			return
		}
		wait := a.submit(ic)
		a.goWork(func(context.Context) {
			var payload any
			if resp := wait(); resp != nil {
				payload = resp
			}
			a.ack(ctx, smc, evt, payload)
		})
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth,
		socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		a.log.WarnContext(ctx, "slack: socket mode", "event", string(evt.Type))
	case socketmode.EventTypeConnected:
		a.log.InfoContext(ctx, "slack: socket mode connected")
	}
}
