package fakebotapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// Post delivers u to the webhook at url as Telegram does (Server.PostBody
// with http.DefaultClient): a JSON POST with the secret token header, and
// the Bot API request the webhook's answer carries performed as if
// called. It returns the HTTP status code, or the error of the request.
func (s *Server) Post(ctx context.Context, url, secret string, u Update) (int, error) {
	body, err := json.Marshal(u)
	if err != nil {
		return 0, err
	}
	return s.PostBody(ctx, nil, url, secret, body)
}

// PostBody posts body (one Update as JSON) to the webhook at url with
// client (nil: http.DefaultClient) as Telegram delivers a webhook update:
// Content-Type application/json and, unless secret is empty, the
// X-Telegram-Bot-Api-Secret-Token header. It returns the HTTP status code,
// or the error of the request.
//
// A 2xx answer whose body is a request — application/json,
// application/x-www-form-urlencoded or multipart/form-data with a
// "method" field — has that method performed as if the bot had called
// it (core.telegram.org/bots/api#making-requests-when-getting-updates):
// OnCall, FailNext and Flood apply, it is recorded as a Call of that
// method with Webhook set, and its result is dropped, since "it's not
// possible to know that such a request was successful or get its
// result". It is recorded at the place the delivery began, before any
// call recorded after that (the bot makes it in answer to the update).
// A body that does not decode, or names no method, performs nothing.
func (s *Server) PostBody(ctx context.Context, client *http.Client, url, secret string, body []byte) (int, error) {
	if client == nil {
		client = http.DefaultClient
	}
	s.mu.Lock()
	s.callSeq++
	at := s.callSeq
	s.mu.Unlock()
	resp, err := postUpdate(ctx, client, url, secret, body)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil || resp.StatusCode/100 != 2 || len(bytes.TrimSpace(answer)) == 0 {
		return resp.StatusCode, nil
	}
	c, err := parseCall("", resp.Header.Get("Content-Type"), answer)
	if err != nil || c.Fields["method"] == "" {
		return resp.StatusCode, nil
	}
	c.Method = c.Fields["method"]
	delete(c.Fields, "method")
	c.Webhook, c.seq = true, at
	s.perform(c)
	return resp.StatusCode, nil
}

// postUpdate posts body (one Update as JSON) to the webhook at url with
// client as Telegram delivers it: Content-Type application/json and,
// unless secret is empty, the X-Telegram-Bot-Api-Secret-Token header. The
// caller closes the answer's body.
func postUpdate(ctx context.Context, client *http.Client, url, secret string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	return client.Do(req)
}
