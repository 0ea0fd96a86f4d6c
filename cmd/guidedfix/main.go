// Command guidedfix is the guided-fix chat assistant: it walks a Customer
// Portal account holder through moving two-factor authentication from SMS
// codes to an authenticator app, in the terminal (demo), Telegram or Slack
// (serve), and administers the embedded portal core (portal).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"guidedfix/internal/termsafe"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// SIGHUP (the terminal closed) ends a run like Ctrl-C, so the demo
	// still cancels an unfinished change; a write to a closed pipe returns
	// an error instead of killing the process before it could.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		// The message may quote an argument or a stored value.
		fmt.Fprintln(os.Stderr, "guidedfix:", termsafe.Field(err.Error()))
		os.Exit(1)
	}
}
