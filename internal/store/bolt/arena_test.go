package bolt

import (
	"bytes"
	"testing"
)

// Slices cut from the arena never share bytes, even when one grows past
// what it asked for, and survive the arena moving to a new chunk.
func TestTxHold_SlicesStayApart(t *testing.T) {
	var tx Tx
	var got [][]byte
	for i := range 3 * arenaChunk / 100 { // past two chunks
		b := tx.hold(100)
		b = append(b, bytes.Repeat([]byte{byte(i)}, 100)...)
		if i%7 == 0 {
			b = append(b, byte(i)) // past its capacity: it must move, not spill into the next
		}
		got = append(got, b)
	}
	for i, b := range got {
		want := 100
		if i%7 == 0 {
			want = 101
		}
		if len(b) != want || bytes.Count(b, []byte{byte(i)}) != want {
			t.Fatalf("slice %d holds %d bytes, %d of them its own, want %d", i, len(b), bytes.Count(b, []byte{byte(i)}), want)
		}
	}
	if big := tx.hold(arenaChunk); cap(big) != arenaChunk || len(tx.arena) > arenaChunk {
		t.Fatalf("a chunk-sized hold: cap %d, arena at %d", cap(big), len(tx.arena))
	}
}
