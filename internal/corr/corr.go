// Package corr carries a turn's correlation id in a context.Context, so
// that every log line of one turn — adapter, engine, flow, portal core —
// can be found with one search. The log handler of package ops adds it to
// each record as "turn".
package corr

import (
	"context"
	"crypto/rand"
	"encoding/base64"
)

type key struct{}

// With returns ctx carrying id. An empty id returns ctx unchanged.
func With(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, key{}, id)
}

// ID returns the correlation id ctx carries, or "" when it has none.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Ensure returns ctx unchanged when it already carries an id, and
// otherwise ctx with a new random id (12 characters, base64url of 72
// bits). Adapters call it for each update; the engine calls it again for
// turns without an adapter (the deadline sweeper).
func Ensure(ctx context.Context) context.Context {
	if ID(ctx) != "" {
		return ctx
	}
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return With(ctx, base64.RawURLEncoding.EncodeToString(b))
}
