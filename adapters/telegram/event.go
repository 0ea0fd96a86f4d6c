package telegram

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/go-telegram/bot/models"

	"guidedfix/bot"
)

// payloadRe is a valid deep-link payload (core.telegram.org/bots/features#deep-linking).
var payloadRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// work is what one update asks for: an event for the engine, a link to the
// private chat (group chats), a callback query to answer, or a mix.
type work struct {
	conv    bot.Conversation
	ev      *bot.Event
	link    bool
	locale  string
	cb      *callback
	pressed int // message whose inline keyboard was used
	// pressedText says the pressed message is text, not a photo.
	pressedText bool
}

// route maps an update to work; ok is false for updates the adapter
// ignores (group chatter, other update kinds).
func (a *Adapter) route(u *models.Update) (w work, ok bool) {
	switch {
	case u.Message != nil:
		return a.routeMessage(u.ID, u.Message, false)
	case u.EditedMessage != nil:
		return a.routeMessage(u.ID, u.EditedMessage, true)
	case u.CallbackQuery != nil:
		return a.routeCallback(u.ID, u.CallbackQuery), true
	case u.MyChatMember != nil:
		return a.routeMember(u.ID, u.MyChatMember)
	}
	return work{}, false
}

// routeMember maps a change of the bot's own membership: in a private
// chat, "kicked" means the user blocked the bot (a bot.KindBlocked
// event); any other change (back to "member" after an unblock) needs
// nothing, since a blocked conversation has ended and /start begins a new
// one.
func (a *Adapter) routeMember(id int64, m *models.ChatMemberUpdated) (work, bool) {
	if m.Chat.Type != models.ChatTypePrivate || m.NewChatMember.Type != models.ChatMemberTypeBanned || m.From.IsBot {
		return work{}, false
	}
	w := work{conv: conversation(m.Chat.ID), locale: m.From.LanguageCode}
	w.ev = &bot.Event{
		Conversation: w.conv,
		UserID:       strconv.FormatInt(m.From.ID, 10),
		UpdateID:     strconv.FormatInt(id, 10),
		Kind:         bot.KindBlocked,
		Locale:       m.From.LanguageCode,
	}
	return w, true
}

func conversation(chat int64) bot.Conversation {
	return bot.Conversation{Channel: Channel, ID: strconv.FormatInt(chat, 10)}
}

func (a *Adapter) routeMessage(id int64, m *models.Message, edited bool) (work, bool) {
	if m.From == nil || m.From.IsBot {
		return work{}, false
	}
	w := work{conv: conversation(m.Chat.ID), locale: m.From.LanguageCode}
	name, arg, isCmd := a.command(m.Text)
	if m.Chat.Type != models.ChatTypePrivate {
		// Never run the flow in a group: answer commands with a link to
		// the private chat and ignore everything else.
		w.link = isCmd && !edited
		return w, w.link
	}
	ev := bot.Event{
		Conversation: w.conv,
		UserID:       strconv.FormatInt(m.From.ID, 10),
		UpdateID:     strconv.FormatInt(id, 10),
		MessageID:    strconv.Itoa(m.ID),
		Locale:       m.From.LanguageCode,
	}
	switch {
	case edited || m.Text == "":
		ev.Kind = bot.KindUnsupported
	case isCmd && name == "start":
		ev.Kind = bot.KindStart
		if payloadRe.MatchString(arg) {
			ev.Data = arg
		}
	case isCmd:
		ev.Kind, ev.Command, ev.Text = bot.KindCommand, name, arg
	default:
		ev.Kind, ev.Text = bot.KindText, m.Text
	}
	w.ev = &ev
	return w, true
}

func (a *Adapter) routeCallback(id int64, cq *models.CallbackQuery) work {
	w := work{cb: &callback{id: cq.ID}, locale: cq.From.LanguageCode}
	var chat models.Chat
	var msg int
	switch {
	case cq.Message.Message != nil:
		chat, msg = cq.Message.Message.Chat, cq.Message.Message.ID
		w.pressed, w.pressedText = msg, cq.Message.Message.Text != ""
	case cq.Message.InaccessibleMessage != nil:
		chat, msg = cq.Message.InaccessibleMessage.Chat, cq.Message.InaccessibleMessage.MessageID
	default:
		return w // a button of an inline message: only answer it
	}
	w.conv = conversation(chat.ID)
	if chat.Type != models.ChatTypePrivate {
		w.pressed = 0
		return w
	}
	w.ev = &bot.Event{
		Conversation: w.conv,
		UserID:       strconv.FormatInt(cq.From.ID, 10),
		UpdateID:     strconv.FormatInt(id, 10),
		Kind:         bot.KindButton,
		Data:         cq.Data,
		MessageID:    strconv.Itoa(msg),
		Locale:       cq.From.LanguageCode,
	}
	return w
}

// command parses "/name[@bot] [argument]"; ok is false for text that is
// not one of the engine's commands (bot.Engine.Commands, registered with
// setMyCommands) or is addressed to another bot: any other "/word" is plain
// text, so that a password starting with "/" is still read (and deleted)
// as a secret.
func (a *Adapter) command(text string) (name, arg string, ok bool) {
	rest, found := strings.CutPrefix(text, "/")
	if !found {
		return "", "", false
	}
	word := rest
	if i := strings.IndexAny(rest, " \t\n"); i >= 0 {
		word, arg = rest[:i], strings.TrimSpace(rest[i+1:])
	}
	name, at, addressed := strings.Cut(word, "@")
	if addressed && !strings.EqualFold(at, a.username()) {
		return "", "", false
	}
	name = strings.ToLower(name)
	for _, c := range a.commands {
		if c == name {
			return name, arg, true
		}
	}
	return "", "", false
}
