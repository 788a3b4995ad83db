// Package choso holds the nouns of Chợ Số, the backend for cashless markets:
// their rules, the interfaces of the stores that keep them, and the one error
// type every layer speaks.
//
// The package imports only the standard library. Adapters live in their own
// packages and are named after what they adapt: internal/store/bolt keeps the
// nouns in a bbolt file, server speaks HTTP through Echo. Only cmd/choso wires
// them together. Business rules are written once, here and in sync/, over the
// Tx interface, so that every storage backend runs the same rules.
package choso
