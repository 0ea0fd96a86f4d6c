package testkit

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"

	"guidedfix/bot"
)

// askLog holds, by flow, the kinds of secret the flows of this test binary
// asked for (secret prompts, bot.Reply.Secret) and the session tags they
// set (bot.Session.Tags), as the chat driver (Chat) saw them; see
// RecordAsk, RecordTags and CheckDescriptor.
var askLog = struct {
	mu      sync.Mutex
	secrets map[string]map[bot.SecretField]int
	tags    map[string]map[string]int
}{secrets: map[string]map[bot.SecretField]int{}, tags: map[string]map[string]int{}}

// RecordAsk adds the secret prompts among rs (bot.Reply.Secret not
// bot.SecretNone) to the test binary's log as asked by flow; Chat calls it
// after every turn with the session's flow, harnesses that drive an engine
// without Chat may too. A flow "" is ignored.
func RecordAsk(flow string, rs []bot.Reply) {
	if flow == "" {
		return
	}
	askLog.mu.Lock()
	defer askLog.mu.Unlock()
	for _, r := range rs {
		if r.Secret == bot.SecretNone {
			continue
		}
		m := askLog.secrets[flow]
		if m == nil {
			m = map[bot.SecretField]int{}
			askLog.secrets[flow] = m
		}
		m[r.Secret]++
	}
}

// RecordTags adds the keys of s.Tags to the log as set by s.Flow; Chat
// calls it with the session after every turn. A nil s is ignored.
func RecordTags(s *bot.Session) {
	if s == nil || s.Flow == "" {
		return
	}
	askLog.mu.Lock()
	defer askLog.mu.Unlock()
	for k := range s.Tags {
		m := askLog.tags[s.Flow]
		if m == nil {
			m = map[string]int{}
			askLog.tags[s.Flow] = m
		}
		m[k]++
	}
}

// SeenSecrets returns the kinds of secret flow asked for so far in this
// test binary, each with how many prompts asked for it.
func SeenSecrets(flow string) map[bot.SecretField]int {
	askLog.mu.Lock()
	defer askLog.mu.Unlock()
	return maps.Clone(askLog.secrets[flow])
}

// SeenTags returns the session tags flow set so far in this test binary,
// each with how many turns ended with it set.
func SeenTags(flow string) map[string]int {
	askLog.mu.Lock()
	defer askLog.mu.Unlock()
	return maps.Clone(askLog.tags[flow])
}

// CheckDescriptor compares what d says of its flow with what the flow did
// in this test binary's chats (SeenSecrets, SeenTags): it returns, sorted
// in the descriptor's order and then by name, every secret kind asked for but not in d.Secrets,
// every one of d.Secrets never asked for, the same for d.Tags, every key
// of d.TagAlerts that is not in d.Tags, and every duplicate in d.Secrets
// or d.Tags; none means the descriptor is true.
func CheckDescriptor(d bot.Descriptor) []string {
	var out []string
	secrets := SeenSecrets(d.Name)
	declared := map[bot.SecretField]bool{}
	for _, s := range d.Secrets {
		if declared[s] {
			out = append(out, fmt.Sprintf("secret %q listed twice in Descriptor.Secrets", s))
		}
		declared[s] = true
		if secrets[s] == 0 {
			out = append(out, fmt.Sprintf("secret %q is in Descriptor.Secrets but no test's chat was asked for it", s))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(secrets)) {
		if !declared[s] {
			out = append(out, fmt.Sprintf("secret %q was asked for (%d prompts) but is not in Descriptor.Secrets", s, secrets[s]))
		}
	}
	tags := SeenTags(d.Name)
	tagged := map[string]bool{}
	for _, k := range d.Tags {
		if tagged[k] {
			out = append(out, fmt.Sprintf("tag %q listed twice in Descriptor.Tags", k))
		}
		tagged[k] = true
		if tags[k] == 0 {
			out = append(out, fmt.Sprintf("tag %q is in Descriptor.Tags but no test's session had it set", k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if !tagged[k] {
			out = append(out, fmt.Sprintf("tag %q was set (%d turns) but is not in Descriptor.Tags", k, tags[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(d.TagAlerts)) {
		if !tagged[k] {
			out = append(out, fmt.Sprintf("Descriptor.TagAlerts names tag %q, which is not in Descriptor.Tags", k))
		}
	}
	return out
}

// RunWithFlowChecks is a TestMain body for a flow's package: it runs the
// package's tests (m.Run) and then, when they passed and the whole package
// ran (neither -run nor -skip given), walks the flow's transition table
// (WalkEdges, as RunWithEdgeWalk) and checks its descriptor against what
// the tests' chats saw (CheckDescriptor); any problem fails the binary. It
// returns the exit code for os.Exit.
func RunWithFlowChecks(m *testing.M, d bot.Descriptor, tb bot.Table, unreachable map[bot.Edge]string) int {
	flag.Parse()
	code := m.Run()
	if code != 0 || flagSet("test.run") || flagSet("test.skip") {
		return code
	}
	code = walkReport(d.Name, tb, unreachable)
	if problems := CheckDescriptor(d); len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "the %s descriptor does not match what its tests' chats saw (fix Descriptor.Secrets/Tags, or test the path that asks or sets it):\n", d.Name)
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "   ", p)
		}
		return 1
	}
	fmt.Fprintf(os.Stderr, "descriptor check: %s asked for %d kinds of secret and set %d tags, as its descriptor says\n",
		d.Name, len(d.Secrets), len(d.Tags))
	return code
}
