package main

import (
	"context"
	"errors"

	"guidedfix/adapters/telegram"
	"guidedfix/bot"
	"guidedfix/internal/config"
	"guidedfix/internal/entry"
)

// serveEntry sets up the secure entry page when entry.public_url is set:
// for each platform in adapters whose secrets.entry is page it registers
// an entry.Deliverer in front of the adapter (Telegram with Mini App
// buttons), and it returns the page's listener for serve to run. It
// returns a nil run func when the page is off, and an error when the page
// cannot be set up.
func serveEntry(a *app, cfg config.Config, adapters map[string]bot.Deliverer) (func(context.Context) error, error) {
	if !cfg.Entry.Enabled() {
		return nil, nil
	}
	tokens, ok := a.store.(entry.TokenStore)
	if !ok {
		return nil, errors.New("entry page: its one-time links live in the bbolt session store; with store.backend etcd set secrets.entry.telegram and secrets.entry.slack to chat, or leave entry.public_url empty")
	}
	srv, err := entry.New(entry.Options{
		PublicURL:     cfg.Entry.PublicURL,
		Engine:        a.engine,
		Tokens:        tokens,
		TelegramToken: cfg.Telegram.Token.Reveal(),
		Logger:        a.log,
	})
	if err != nil {
		return nil, err
	}
	for channel, d := range adapters {
		if cfg.SecretEntry(channel) != config.EntryPage {
			continue
		}
		a.engine.Register(channel, &entry.Deliverer{Inner: d, Server: srv, WebApp: channel == telegram.Channel})
		a.log.Info("secrets entered on the entry page", "platform", channel)
	}
	return func(ctx context.Context) error { return srv.ListenAndServe(ctx, cfg.Entry.Listen) }, nil
}
