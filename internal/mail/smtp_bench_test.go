package mail

import (
	"context"
	"testing"
	"time"

	"guidedfix/internal/procstat"
)

// BenchmarkSMTPSend sends one message per op to a real go-smtp server on
// 127.0.0.1 in this process (so ns/op counts both ends): "reuse" is the
// pooled sender (one mail transaction on a kept session), "session" is
// IdleTimeout < 0, one new session per message (dial, EHLO, MAIL, RCPT,
// DATA, QUIT): what Send did before connections were reused, less the
// NOOP and RSET it then sent around each message.
// cpu-ns/op is the process's CPU time per message, client and server.
func BenchmarkSMTPSend(b *testing.B) {
	for _, bc := range []struct {
		name string
		idle time.Duration
	}{{"reuse", 0}, {"session", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			ts := startServer(b, serverOpts{})
			cfg := ts.config(TLSNone)
			cfg.IdleTimeout = bc.idle
			s, err := newSMTP(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			m := testMsg
			b.ReportAllocs()
			cpu0 := procstat.Total(b)
			for b.Loop() {
				if err := s.Send(context.Background(), m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(procstat.Total(b)-cpu0)/float64(b.N), "cpu-ns/op")
			accepted, _, _ := ts.connStats()
			b.ReportMetric(float64(accepted)/float64(b.N), "conns/op")
		})
	}
}
