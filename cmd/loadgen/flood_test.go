package main

import "testing"

// TestCompareReplies: the reference is the sequence most chats received;
// a missing reply, a swapped pair and a repeated reply are each counted
// once, in their own column.
func TestCompareReplies(t *testing.T) {
	ref := []string{"a", "b", "c", "d"}
	per := map[string][]string{
		"1": ref, "2": ref, "3": ref,
		"4": {"a", "c", "d"},           // b lost
		"5": {"a", "c", "b", "d"},      // out of order
		"6": {"a", "b", "b", "c", "d"}, // one extra (an input typed again)
		"7": {"b", "a", "d"},           // c lost and out of order
	}
	lost, reordered, extra := compareReplies(per, []string{"1", "2", "3", "4", "5", "6", "7", "8"})
	// chat 8 received nothing: 4 lost.
	if lost != 1+1+4 || reordered != 2 || extra != 1 {
		t.Fatalf("lost %d, reordered %d, extra %d; want 6, 2, 1", lost, reordered, extra)
	}
}
