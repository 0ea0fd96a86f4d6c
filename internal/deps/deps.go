// Package deps pins the modules later packages use until they import them; it is removed once every module is imported for real.
package deps

import (
	_ "github.com/emersion/go-smtp"
	_ "github.com/go-telegram/bot"
	_ "github.com/knadh/koanf/parsers/yaml"
	_ "github.com/knadh/koanf/providers/env/v2"
	_ "github.com/knadh/koanf/providers/file"
	_ "github.com/knadh/koanf/v2"
	_ "github.com/makiuchi-d/gozxing"
	_ "github.com/nicksnyder/go-i18n/v2/i18n"
	_ "github.com/pquerna/otp/totp"
	_ "github.com/skip2/go-qrcode"
	_ "github.com/slack-go/slack"
	_ "github.com/slack-go/slack/socketmode"
	_ "github.com/spf13/cobra"
	_ "github.com/wneessen/go-mail"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/term"
	_ "golang.org/x/text/language"
)
