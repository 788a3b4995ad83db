package choso_test

import (
	"testing"

	"github.com/choso/choso"
)

// MethodOf gives the constants for the methods, with no allocation, and
// any other bytes as they are.
func TestMethodOf(t *testing.T) {
	for _, m := range []string{choso.MethodCash, choso.MethodQR, choso.MethodTransfer, "", "QR", "cheque"} {
		b := []byte(m)
		if got := choso.MethodOf(b); got != m {
			t.Errorf("MethodOf(%q) = %q", m, got)
		}
	}
	for _, m := range []string{choso.MethodCash, choso.MethodQR, choso.MethodTransfer} {
		b := []byte(m)
		if n := testing.AllocsPerRun(100, func() { choso.MethodOf(b) }); n != 0 {
			t.Errorf("MethodOf(%q) allocates %v times, want 0", m, n)
		}
	}
}
