package fakebotapi

import (
	"encoding/json"
	"strconv"
	"time"
)

// User is a Bot API User object (core.telegram.org/bots/api#user), the
// fields the fake uses. Here and in the types below, each field is the
// Bot API field named by its JSON tag, with the same meaning.
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

// Chat is a Bot API Chat object (#chat). Type is "private", "group",
// "supergroup" or "channel".
type Chat struct {
	ID    int64  `json:"id"`
	Type  string `json:"type"`
	Title string `json:"title,omitempty"`
}

// PrivateChat returns the private chat of u: its id is the user's id, as
// in Telegram.
func PrivateChat(u User) Chat { return Chat{ID: u.ID, Type: "private"} }

// GroupChat returns a group chat with id (negative in Telegram) and title.
func GroupChat(id int64, title string) Chat { return Chat{ID: id, Type: "group", Title: title} }

// Entity is a Bot API MessageEntity (#messageentity); Offset and Length
// count UTF-16 code units.
type Entity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
}

// PhotoSize is a Bot API PhotoSize (#photosize).
type PhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int    `json:"file_size,omitempty"`
}

// Sticker is the part of a Bot API Sticker (#sticker) the fake sends.
type Sticker struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Type         string `json:"type"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	IsAnimated   bool   `json:"is_animated"`
	IsVideo      bool   `json:"is_video"`
}

// Message is a Bot API Message (#message): one the fake sent for the bot,
// or one a builder made for a user. Date is Unix seconds and never zero.
type Message struct {
	ID                  int             `json:"message_id"`
	Date                int64           `json:"date"`
	EditDate            int64           `json:"edit_date,omitempty"`
	Chat                Chat            `json:"chat"`
	From                *User           `json:"from,omitempty"`
	Text                string          `json:"text,omitempty"`
	Entities            []Entity        `json:"entities,omitempty"`
	Caption             string          `json:"caption,omitempty"`
	Photo               []PhotoSize     `json:"photo,omitempty"`
	Sticker             *Sticker        `json:"sticker,omitempty"`
	HasProtectedContent bool            `json:"has_protected_content,omitempty"`
	ReplyMarkup         json.RawMessage `json:"reply_markup,omitempty"`
}

// CallbackQuery is a Bot API CallbackQuery (#callbackquery).
type CallbackQuery struct {
	ID           string   `json:"id"`
	From         User     `json:"from"`
	Message      *Message `json:"message,omitempty"`
	ChatInstance string   `json:"chat_instance"`
	Data         string   `json:"data,omitempty"`
}

// Update is a Bot API Update (#update) with the kinds the fake builds.
// Raw, when set, is sent instead of the other fields (see Undecodable).
type Update struct {
	ID            int64           `json:"update_id"`
	Message       *Message        `json:"message,omitempty"`
	EditedMessage *Message        `json:"edited_message,omitempty"`
	CallbackQuery *CallbackQuery  `json:"callback_query,omitempty"`
	MyChatMember  *MemberUpdate   `json:"my_chat_member,omitempty"`
	Raw           json.RawMessage `json:"-"`
}

// ChatMember is a Bot API ChatMember (#chatmember): Status is "member",
// "kicked", "left", "administrator", "creator" or "restricted".
type ChatMember struct {
	Status    string `json:"status"`
	User      User   `json:"user"`
	UntilDate int64  `json:"until_date,omitempty"`
}

// MemberUpdate is a Bot API ChatMemberUpdated (#chatmemberupdated).
type MemberUpdate struct {
	Chat          Chat       `json:"chat"`
	From          User       `json:"from"`
	Date          int64      `json:"date"`
	OldChatMember ChatMember `json:"old_chat_member"`
	NewChatMember ChatMember `json:"new_chat_member"`
}

// Blocked builds the my_chat_member update Telegram sends when from
// blocks the bot in its private chat (the bot's status member →
// kicked). From then on, until Unblocked, the fake answers every call
// for that chat with 403 "Forbidden: bot was blocked by the user".
func (s *Server) Blocked(from User) Update {
	return s.memberUpdate(from, "member", "kicked")
}

// Unblocked builds the my_chat_member update sent when from unblocks the
// bot (kicked → member) and lets calls for the chat through again.
func (s *Server) Unblocked(from User) Update {
	return s.memberUpdate(from, "kicked", "member")
}

func (s *Server) memberUpdate(from User, old, new string) Update {
	id := s.nextUpdateID()
	s.mu.Lock()
	defer s.mu.Unlock()
	chat := PrivateChat(from)
	s.chatType[chat.ID] = chat
	if new == "kicked" {
		s.blocked[chat.ID] = true
	} else {
		delete(s.blocked, chat.ID)
	}
	return Update{ID: id, MyChatMember: &MemberUpdate{Chat: chat, From: from, Date: s.now().Unix(),
		OldChatMember: ChatMember{Status: old, User: s.bot}, NewChatMember: ChatMember{Status: new, User: s.bot}}}
}

// MarshalJSON writes u.Raw when set, else u's fields.
func (u Update) MarshalJSON() ([]byte, error) {
	if len(u.Raw) > 0 {
		return u.Raw, nil
	}
	type plain Update
	return json.Marshal(plain(u))
}

// Undecodable builds an update a Bot API client cannot decode: a text
// message (text, from from in chat) that was forwarded from an origin
// without the "type" discriminator MessageOrigin requires, as a Bot API
// newer than the client may send. Its update_id is readable.
func (s *Server) Undecodable(chat Chat, from User, text string) Update {
	m := s.userMessage(chat, from, Message{Text: text})
	body, _ := json.Marshal(m)
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields)
	fields["forward_origin"] = json.RawMessage(`{"kind_from_bot_api_99":true,"date":1}`)
	id := s.nextUpdateID()
	raw, _ := json.Marshal(map[string]any{"update_id": id, "message": fields})
	return Update{ID: id, Message: m, Raw: raw}
}

// Text builds an update with a text message from from in chat; a text that
// starts with "/" carries a bot_command entity over its first word, as
// Telegram sends it. The message counts as existing in chat (see
// Messages) until the bot deletes it.
func (s *Server) Text(chat Chat, from User, text string) Update {
	m := Message{Text: text}
	if len(text) > 1 && text[0] == '/' {
		n := 0
		for _, r := range text {
			if r == ' ' || r == '\n' {
				break
			}
			n += utf16Len(string(r))
		}
		m.Entities = []Entity{{Type: "bot_command", Offset: 0, Length: n}}
	}
	return Update{ID: s.nextUpdateID(), Message: s.userMessage(chat, from, m)}
}

// Sticker builds an update with a sticker message.
func (s *Server) Sticker(chat Chat, from User) Update {
	m := Message{Sticker: &Sticker{FileID: "sticker-file", FileUniqueID: "sticker-u", Type: "regular", Width: 512, Height: 512}}
	return Update{ID: s.nextUpdateID(), Message: s.userMessage(chat, from, m)}
}

// Photo builds an update with a photo message and an optional caption.
func (s *Server) Photo(chat Chat, from User, caption string) Update {
	m := Message{Caption: caption, Photo: []PhotoSize{{FileID: "photo-file", FileUniqueID: "photo-u", Width: 90, Height: 90}}}
	return Update{ID: s.nextUpdateID(), Message: s.userMessage(chat, from, m)}
}

// Edited builds an edited_message update: the user changed the text of
// their message messageID to text.
func (s *Server) Edited(chat Chat, from User, messageID int, text string) Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := Message{ID: messageID, Chat: chat, From: &from, Text: text, Date: s.now().Unix(), EditDate: s.now().Unix()}
	if old, ok := s.chats[chat.ID][messageID]; ok {
		m.Date = old.Date
		old.Text, old.EditDate = text, m.EditDate
	}
	s.updateSeq++
	return Update{ID: s.updateSeq, EditedMessage: &m}
}

// Callback builds a callback_query update: from pressed the inline button
// with data under the bot's message messageID in chat. The attached
// message has a non-zero date (otherwise go-telegram/bot decodes it as an
// InaccessibleMessage) and the message's current text and keyboard.
func (s *Server) Callback(chat Chat, from User, messageID int, data string) Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := Message{ID: messageID, Chat: chat, From: &s.bot, Date: s.now().Unix()}
	if old, ok := s.chats[chat.ID][messageID]; ok {
		m = *old
	}
	s.updateSeq++
	s.cbSeq++
	return Update{ID: s.updateSeq, CallbackQuery: &CallbackQuery{
		ID: "cq" + strconv.Itoa(s.cbSeq), From: from, Message: &m, ChatInstance: strconv.FormatInt(chat.ID, 10), Data: data,
	}}
}

func (s *Server) nextUpdateID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateSeq++
	return s.updateSeq
}

// userMessage gives m an id, date, chat and sender and records it as
// existing in chat.
func (s *Server) userMessage(chat Chat, from User, m Message) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.ID, m.Chat, m.From, m.Date = s.nextMessageID(chat.ID), chat, &from, s.now().Unix()
	s.chatType[chat.ID] = chat
	stored := m
	s.store(chat.ID, &stored)
	return &m
}

func (s *Server) now() time.Time { return time.Now() }

// utf16Len is the length of s in UTF-16 code units, the unit of Telegram's
// text limits and entity offsets.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
