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
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "guidedfix:", err)
		os.Exit(1)
	}
}
