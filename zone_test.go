package choso_test

import (
	"sync"
	"testing"

	"github.com/choso/choso"
)

// LoadLocation names the default zone by "", gives back the one zone it
// loaded however many goroutines ask at once (the server's handlers, the
// partner side and the push rules all do), and refuses an unknown name.
func TestLoadLocation_OneZoneForEveryCaller(t *testing.T) {
	def, err := choso.LoadLocation("")
	if err != nil {
		t.Skipf("no zone database here: %v", err)
	}
	if def.String() != choso.DefaultTimeZone {
		t.Fatalf(`choso.LoadLocation("") = %s, want %s`, def, choso.DefaultTimeZone)
	}
	var wg sync.WaitGroup
	got := make([]any, 16)
	for i := range got {
		wg.Go(func() {
			name := []string{choso.DefaultTimeZone, "Asia/Bangkok"}[i%2]
			l, err := choso.LoadLocation(name)
			if err != nil {
				t.Error(err)
			}
			got[i] = l
		})
	}
	wg.Wait()
	for i, l := range got {
		if i%2 == 0 && l != def {
			t.Errorf("caller %d got another *Location for %s than the first", i, choso.DefaultTimeZone)
		}
		if i%2 == 1 && l != got[1] {
			t.Errorf("caller %d got another *Location for Asia/Bangkok than caller 1", i)
		}
	}
	if _, err := choso.LoadLocation("Mars/Olympus_Mons"); err == nil {
		t.Error("an unknown zone loaded")
	}
}
