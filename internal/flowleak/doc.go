// Package flowleak holds only a test over the source tree: no package outside
// flows/<name> and cmd/ names a flow's states, message ids or name, so that
// a guided fix stays one folder (issue 12).
package flowleak
