// Package catalogcheck holds the tree-wide test of the message catalogs:
// every locales/en.yaml has a locales/ms.yaml with the same keys, the same
// template fields and the same plural forms, and every key is used by the
// Go source of the tree. It has no code of its own.
package catalogcheck
