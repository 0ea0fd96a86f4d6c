package main

import (
	"bufio"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"guidedfix/adapters/telegram/fakebotapi"
)

// startupMethods are Bot API methods of a process start (and getUpdates,
// the long poll itself), not of a customer's chat: they are not counted
// per flow.
var startupMethods = map[string]bool{"getUpdates": true, "getMe": true, "setWebhook": true, "deleteWebhook": true, "setMyCommands": true}

// chatCalls counts the fake Bot API's recorded calls other than
// startupMethods, by method, refused ones (429) included.
func chatCalls(fake *fakebotapi.Server) map[string]int {
	n := map[string]int{}
	for _, c := range fake.Calls() {
		if !startupMethods[c.Method] {
			n[c.Method]++
		}
	}
	return n
}

// webhookCalls counts, like chatCalls, the calls the bot made in its
// answers to webhook deliveries (fakebotapi Call.Webhook: the Bot API's
// "making requests when getting updates"), by method.
func webhookCalls(fake *fakebotapi.Server) map[string]int {
	n := map[string]int{}
	for _, c := range fake.Calls() {
		if c.Webhook && !startupMethods[c.Method] {
			n[c.Method]++
		}
	}
	return n
}

// messagesSent is the messages the bot put into chats: accepted
// sendMessage and sendPhoto calls.
func messagesSent(fake *fakebotapi.Server) int {
	n := 0
	for _, c := range fake.Calls("sendMessage", "sendPhoto") {
		if c.ErrorCode == 0 {
			n++
		}
	}
	return n
}

// perFlow formats calls by method per completed flow, the busiest first:
// "26.0: sendMessage 12.0, deleteMessage 5.0, …".
func perFlow(calls map[string]int, flows int) string {
	if len(calls) == 0 {
		return "–"
	}
	total := 0
	for _, v := range calls {
		total += v
	}
	ms := slices.Sorted(maps.Keys(calls))
	slices.SortStableFunc(ms, func(a, b string) int { return calls[b] - calls[a] })
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %.1f", m, float64(calls[m])/float64(max(1, flows))))
	}
	return fmt.Sprintf("**%.1f**: %s", float64(total)/float64(max(1, flows)), strings.Join(parts, ", "))
}

// commitCounts are a database's group-commit counters read from the
// server's /metrics (guidedfix_bolt_durable_writes_total and
// guidedfix_bolt_commits_total); ok is false when the server does not
// export them (a binary from before they existed).
type commitCounts struct {
	writes, commits float64
	ok              bool
}

// scrapeCommits reads the group-commit counters of database db from the
// server's ops listener (/metrics, Prometheus text format).
func (s *server) scrapeCommits(db string) commitCounts {
	var c commitCounts
	resp, err := http.Get("http://" + s.debug + "/metrics")
	if err != nil {
		return c
	}
	defer resp.Body.Close()
	label := `{db="` + db + `"}`
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "guidedfix_bolt_durable_writes_total" + label:
			c.writes, c.ok = v, true
		case "guidedfix_bolt_commits_total" + label:
			c.commits = v
		}
	}
	return c
}

// withEnv returns env with the KEY=VALUE entries of extra applied in
// order: an entry replaces an earlier one of the same key, and an entry
// with an empty value ("KEY=") removes the key (the long-polling phase
// removes the webhook URL).
func withEnv(env []string, extra ...string) []string {
	out := slices.Clone(env)
	for _, e := range extra {
		k, v, _ := strings.Cut(e, "=")
		out = slices.DeleteFunc(out, func(x string) bool { return strings.HasPrefix(x, k+"=") })
		if v != "" {
			out = append(out, e)
		}
	}
	return out
}
