// Package sync is the offline-first sync protocol between vendors' phones
// and the server: the wire types of a push, and the rules that apply a
// push to the store exactly once (SYNC.md §6.5), written once over
// choso.Tx. It is pure: no os, no net, no clock (the caller passes the
// time). It shadows the standard library's sync; import it as chosync
// where both are needed.
//
// The rules, in short: each device numbers its events 1, 2, 3, …; the
// server applies seq == applied_seq+1 only, answers a resent seq with its
// stored original result, applies nothing past a gap, flags a seq that
// comes back with other content (seq_reused), applies a client ULID once
// across devices, consumes permanent failures as rejected so a queue never
// jams, and rolls the whole push back on a transient failure. Day totals
// and the partner feed entry are written in the same transaction as the
// events. Phone clocks are evidence, never order: the server derives each
// event's business day in the market's time zone and marks implausible
// times suspect, but never rejects money for a clock.
package sync
