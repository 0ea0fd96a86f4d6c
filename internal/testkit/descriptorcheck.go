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
	out, _ := compareDeclared("secret", "Secrets", "asked for", "prompts", "no test's chat was asked for it", d.Secrets, SeenSecrets(d.Name))
	tagOut, tagged := compareDeclared("tag", "Tags", "set", "turns", "no test's session had it set", d.Tags, SeenTags(d.Name))
	out = append(out, tagOut...)
	for _, k := range slices.Sorted(maps.Keys(d.TagAlerts)) {
		if !tagged[k] {
			out = append(out, fmt.Sprintf("Descriptor.TagAlerts names tag %q, which is not in Descriptor.Tags", k))
		}
	}
	return out
}

// compareDeclared compares the values a descriptor field declares (field,
// e.g. "Secrets") with those the tests saw (seen: value → how many
// prompts or turns): it returns a problem line for each duplicate and
// each declared value never seen (in declared order), then for each seen
// value not declared (sorted), worded with kind ("secret"), did ("asked
// for"), unit ("prompts") and never (why a declared one is unseen); and
// the set of declared values.
func compareDeclared[K ~string](kind, field, did, unit, never string, declared []K, seen map[K]int) ([]string, map[K]bool) {
	var out []string
	set := map[K]bool{}
	for _, v := range declared {
		if set[v] {
			out = append(out, fmt.Sprintf("%s %q listed twice in Descriptor.%s", kind, v, field))
		}
		set[v] = true
		if seen[v] == 0 {
			out = append(out, fmt.Sprintf("%s %q is in Descriptor.%s but %s", kind, v, field, never))
		}
	}
	for _, v := range slices.Sorted(maps.Keys(seen)) {
		if !set[v] {
			out = append(out, fmt.Sprintf("%s %q was %s (%d %s) but is not in Descriptor.%s", kind, v, did, seen[v], unit, field))
		}
	}
	return out, set
}

// RunWithFlowChecks is a TestMain body for a flow's package: it runs the
// package's tests (m.Run) and then, when they passed and the whole package
// ran (neither -run nor -skip given), walks the flow's transition table
// (WalkEdges) and checks its descriptor against what
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
