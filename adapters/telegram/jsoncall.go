package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// jsonAPI makes the adapter's hot Bot API calls (sendMessage,
// editMessageText, editMessageReplyMarkup, deleteMessage, deleteMessages,
// answerCallbackQuery) as POSTs with an application/json body, which the
// Bot API accepts for every method except file uploads
// (core.telegram.org/bots/api#making-requests: "application/json (except
// for uploading files)"). go-telegram/bot v1.27.0 encodes every call as
// multipart/form-data, each structured field a JSON string inside its own
// part: about twice the bytes and several times the CPU of one JSON
// object (issue 14). getUpdates, the startup calls and sendPhoto (an
// upload) stay with the library.
//
// It shares the library's configuration — the same base URL
// (Options.APIURL), token, *http.Client (with Options.WrapTransport's
// wrapper, so metrics count these calls too) — and answers with the
// library's error values, so Adapter.call's handling is unchanged: 429 is
// a *tg.TooManyRequestsError with RetryAfter, 403 wraps tg.ErrorForbidden
// (the user blocked the bot), 400/401/404/409 wrap tg.ErrorBadRequest,
// tg.ErrorUnauthorized, tg.ErrorNotFound, tg.ErrorConflict with the
// description appended ("bad request, Bad Request: message to edit not
// found"), a 400 with migrate_to_chat_id is a *tg.MigrateError, and a
// transport error keeps its cause (the token replaced by "***").
type jsonAPI struct {
	base   string // APIURL + "/bot" + token + "/"
	token  string
	client *http.Client
}

// newJSONAPI returns the JSON caller for the Bot API at apiURL (no
// trailing slash) with token, making requests with client.
func newJSONAPI(apiURL, token string, client *http.Client) *jsonAPI {
	return &jsonAPI{base: apiURL + "/bot" + token + "/", token: token, client: client}
}

// jsonBuffers recycles request bodies: a turn's calls are small and many.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// apiAnswer is the Bot API's answer object.
type apiAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	Description string          `json:"description"`
	ErrorCode   int             `json:"error_code"`
	Parameters  struct {
		RetryAfter      int `json:"retry_after"`
		MigrateToChatID int `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// do POSTs params (a library params struct; its json tags are the Bot
// API's field names) as JSON to method and decodes the answer's result
// into dest (nil: ignored). Errors are the library's (see jsonAPI).
func (j *jsonAPI) do(ctx context.Context, method string, params, dest any) error {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer jsonBuffers.Put(buf)
	if err := json.NewEncoder(buf).Encode(params); err != nil {
		return fmt.Errorf("error encode request for method %s, %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.base+method, bytes.NewReader(buf.Bytes()))
	if err != nil {
		return fmt.Errorf("error create request for method %s, %s", method, strings.ReplaceAll(err.Error(), j.token, "***"))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			uerr.URL = strings.ReplaceAll(uerr.URL, j.token, "***")
		}
		return fmt.Errorf("error do request for method %s, %w", method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("error read response body for method %s, %w", method, err)
	}
	var a apiAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("error decode response body for method %s, HTTP %d, %w", method, resp.StatusCode, err)
	}
	if !a.OK {
		return answerError(method, &a)
	}
	if dest != nil {
		if err := json.Unmarshal(a.Result, dest); err != nil {
			return fmt.Errorf("error decode response result for method %s, %w", method, err)
		}
	}
	return nil
}

// answerError is the library's error for a refused call (raw_request.go
// of go-telegram/bot v1.27.0).
func answerError(method string, a *apiAnswer) error {
	switch a.ErrorCode {
	case http.StatusForbidden:
		return fmt.Errorf("%w, %s", tg.ErrorForbidden, a.Description)
	case http.StatusBadRequest:
		if a.Parameters.MigrateToChatID != 0 {
			return &tg.MigrateError{Message: fmt.Sprintf("%s: %s", tg.ErrorBadRequest, a.Description), MigrateToChatID: a.Parameters.MigrateToChatID}
		}
		return fmt.Errorf("%w, %s", tg.ErrorBadRequest, a.Description)
	case http.StatusUnauthorized:
		return fmt.Errorf("%w, %s", tg.ErrorUnauthorized, a.Description)
	case http.StatusNotFound:
		return fmt.Errorf("%w, %s", tg.ErrorNotFound, a.Description)
	case http.StatusConflict:
		return fmt.Errorf("%w, %s", tg.ErrorConflict, a.Description)
	case http.StatusTooManyRequests:
		return &tg.TooManyRequestsError{Message: fmt.Sprintf("%s, %s", tg.ErrorTooManyRequests, a.Description), RetryAfter: a.Parameters.RetryAfter}
	}
	return fmt.Errorf("error response from telegram for method %s, %d %s", method, a.ErrorCode, a.Description)
}

// sentID is the part of a sent Message the adapter reads: its id.
// Decoding the whole models.Message (user, chat, entities, reply markup,
// the library's MaybeInaccessibleMessage) was a visible share of a
// turn's CPU (issue 14).
type sentID struct {
	ID int `json:"message_id"`
}

// SendMessage is Bot API sendMessage (the library's params); it returns
// the sent message with only its ID set (the adapter reads nothing else).
func (j *jsonAPI) SendMessage(ctx context.Context, p *tg.SendMessageParams) (*models.Message, error) {
	var id sentID
	if err := j.do(ctx, "sendMessage", p, &id); err != nil {
		return nil, err
	}
	return &models.Message{ID: id.ID}, nil
}

// EditMessageText is Bot API editMessageText. The edited message the Bot
// API answers with is not decoded: it returns an empty Message.
func (j *jsonAPI) EditMessageText(ctx context.Context, p *tg.EditMessageTextParams) (*models.Message, error) {
	return &models.Message{}, j.do(ctx, "editMessageText", p, nil)
}

// EditMessageReplyMarkup is Bot API editMessageReplyMarkup; without
// ReplyMarkup it removes the inline keyboard. The edited message is not
// decoded: it returns an empty Message.
func (j *jsonAPI) EditMessageReplyMarkup(ctx context.Context, p *tg.EditMessageReplyMarkupParams) (*models.Message, error) {
	return &models.Message{}, j.do(ctx, "editMessageReplyMarkup", p, nil)
}

// DeleteMessage is Bot API deleteMessage.
func (j *jsonAPI) DeleteMessage(ctx context.Context, p *tg.DeleteMessageParams) (bool, error) {
	var ok bool
	return ok, j.do(ctx, "deleteMessage", p, &ok)
}

// DeleteMessages is Bot API deleteMessages (1-100 ids, Bot API 7.0).
func (j *jsonAPI) DeleteMessages(ctx context.Context, p *tg.DeleteMessagesParams) (bool, error) {
	var ok bool
	return ok, j.do(ctx, "deleteMessages", p, &ok)
}

// AnswerCallbackQuery is Bot API answerCallbackQuery.
func (j *jsonAPI) AnswerCallbackQuery(ctx context.Context, p *tg.AnswerCallbackQueryParams) (bool, error) {
	var ok bool
	return ok, j.do(ctx, "answerCallbackQuery", p, &ok)
}
