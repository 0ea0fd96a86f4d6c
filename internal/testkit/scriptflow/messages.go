package scriptflow

import "embed"

// Catalog ids of the script flow's texts (locales/en.yaml, ms.yaml).
const (
	// MsgHello is the first message, sent with Ref RefHello and the Go
	// button.
	MsgHello = "contract.hello"
	// MsgEdited replaces MsgHello (OpEdit by Ref RefHello) with the Next
	// button.
	MsgEdited = "contract.edited"
	// MsgQR is the caption of the private image (Ref RefQR; Protected,
	// Sensitive).
	MsgQR = "contract.qr"
	// MsgKey is the protected, sensitive text holding Key (Ref RefKey).
	MsgKey = "contract.key"
	// MsgAskSecret is the secret prompt (bot.SecretPassword, Ref "prompt").
	MsgAskSecret = "contract.ask_secret"
	// MsgSecretWrong answers a secret other than Passphrase.
	MsgSecretWrong = "contract.secret_wrong"
	// MsgSecretOK answers Passphrase, after the deletes of RefQR and
	// RefKey, with the Finish button.
	MsgSecretOK = "contract.secret_ok"
	// MsgDone ends the script (after the delete of RefHello).
	MsgDone = "contract.done"
	// MsgTextSeen answers typed text outside the secret prompt.
	MsgTextSeen = "contract.text_seen"
	// MsgUnsupported answers a photo, file or sticker (bot.KindUnsupported).
	MsgUnsupported = "contract.unsupported"
	// MsgHelp answers /help.
	MsgHelp = "contract.help"
	// MsgCancelled answers /cancel.
	MsgCancelled = "contract.cancelled"
	// MsgExpired tells the user the session expired.
	MsgExpired = "contract.expired"
	// LabelGo, LabelNext and LabelFinish label the buttons of ActionGo,
	// ActionNext and ActionFinish.
	LabelGo     = "contract.button.go"
	LabelNext   = "contract.button.next"
	LabelFinish = "contract.button.finish"
)

// IDs lists every message and label id of the catalog, for tests that map
// a rendered text back to its id.
var IDs = []string{MsgHello, MsgEdited, MsgQR, MsgKey, MsgAskSecret, MsgSecretWrong, MsgSecretOK, MsgDone,
	MsgTextSeen, MsgUnsupported, MsgHelp, MsgCancelled, MsgExpired, LabelGo, LabelNext, LabelFinish}

//go:embed locales/*.yaml
var messages embed.FS
