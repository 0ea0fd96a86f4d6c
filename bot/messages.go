package bot

import (
	"embed"
)

// Ids of the engine's own messages (bot/locales), for adapters that show
// some of them differently (e.g. MsgStaleButton as a callback answer).
const (
	// MsgStaleButton answers a button, modal or secret from an earlier step.
	MsgStaleButton = "engine.stale_button"
	// MsgNoSession answers input when no flow is running.
	MsgNoSession = "engine.no_session"
	// MsgNotOwner answers someone else's input in another user's flow.
	MsgNotOwner = "engine.not_owner"
	// MsgInternalError answers a turn that failed.
	MsgInternalError = "engine.internal_error"
	// MsgDeleteFailed asks the user to delete a secret message themselves.
	MsgDeleteFailed = "engine.delete_failed"
	// MsgDeleteUserSecret is the id of the OpDelete reply that removes the
	// user's message holding a secret.
	MsgDeleteUserSecret = "engine.delete_user_secret"
	// MsgHelpIdle answers /help when no flow is running: what the
	// assistant does, one line per registered flow ({{.Flows}}, built
	// from the flows' descriptors), and the language command.
	MsgHelpIdle = "engine.help_idle"
)

//go:embed locales/*.yaml
var engineMessages embed.FS
