// Package portalteam holds, in its tests only, a small in-memory portal
// server written by a "portal team" from api/portal.openapi.yaml and the
// README's "Portal over HTTP" section alone — without reading guidedfix's own
// server (internal/portal/portalhttp) or core (internal/portal/embedded). Its
// test runs the real guidedfix binary's demo against that server, proving the
// document is enough to implement the contract.
package portalteam
