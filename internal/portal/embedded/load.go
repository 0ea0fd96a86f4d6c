package embedded

// HashQueue returns how many password hashes (argon2id) wait for a slot
// of Options.MaxConcurrentHashes now, and how many run. Metrics read it.
func (c *Core) HashQueue() (waiting, running int64) {
	return c.hashWaiting.Load(), c.hashRunning.Load()
}
