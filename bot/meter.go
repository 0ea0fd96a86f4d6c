package bot

import "time"

// Meter receives the engine's measurements for metrics. Every method must
// be safe for concurrent use and quick: it runs inside a conversation's
// turn. Flow outcomes and funnel states come from Options.Observer.
type Meter interface {
	// Turn reports one handled event of channel: how long it took from
	// Handle (or the dispatched goroutine's start) to its end, and its
	// error (nil for a turn that succeeded, duplicates included).
	Turn(channel string, took time.Duration, err error)
	// Sweep reports one sweep pass: how many sessions had a deadline due
	// and how long the pass took.
	Sweep(due int, took time.Duration)
	// Deadline reports one deadline run by the sweeper and how late it ran
	// (now minus the deadline, ≥ 0).
	Deadline(lag time.Duration)
	// Pending reports how many replies of conversation conv wait for
	// delivery (its outbox), at the start and the end of each delivery.
	Pending(conv string, n int)
}

// noMeter is the Meter of an engine without Options.Meter.
type noMeter struct{}

func (noMeter) Turn(string, time.Duration, error) {}
func (noMeter) Sweep(int, time.Duration)          {}
func (noMeter) Deadline(time.Duration)            {}
func (noMeter) Pending(string, int)               {}
