package client_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/choso/choso/sync/client"
	"github.com/choso/choso/sync/client/clienttest"
)

// phoneClock is what an app gives the client: on Android,
// System.currentTimeMillis, SystemClock.elapsedRealtime and the boot count.
type phoneClock struct{ boot time.Time }

func (c phoneClock) WallMs() int64    { return time.Now().UnixMilli() }
func (c phoneClock) ElapsedMs() int64 { return time.Since(c.boot).Milliseconds() }
func (c phoneClock) BootID() string   { return "boot-1" }

// cleanups runs what a stand-in server needs closed at the end.
type cleanups []func()

func (c *cleanups) Cleanup(f func()) { *c = append(*c, f) }
func (c *cleanups) run() {
	for _, f := range *c {
		f()
	}
}

// The life of a vendor's phone: enroll with the code a volunteer shows,
// pull the config, record sales with or without signal, and push. A sale is on the phone's
// disk when RecordSale returns; a push deletes only what the server
// acknowledged. An app runs the push loop (Run, SetOnline) rather than
// calling PushOnce; this example pushes by hand to show each step. The
// server here is clienttest's stand-in; an app gives the real server's URL.
func Example() {
	var done cleanups
	defer done.run()
	server := clienttest.New(&done)
	code := server.EnrollmentCode(server.NewStall()) // the QR a volunteer's screen shows

	dir, err := os.MkdirTemp("", "choso-phone")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	phone, err := client.Open(filepath.Join(dir, "outbox.db"), &client.Options{
		ServerURL:  server.URL,
		AppVersion: "1.4.0",
		Clock:      phoneClock{boot: time.Now()},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer phone.Close()

	if err := phone.Enroll(code); err != nil {
		fmt.Println("enroll:", err)
		return
	}
	// The config holds the stall's payout account: pulled once with
	// signal, it is there offline for dynamic QR codes.
	if _, err := phone.RefreshConfig(); err != nil {
		fmt.Println("config:", err)
		return
	}
	// Two sales while the market has no signal: each is one local
	// transaction, numbered and named on the phone. The QR sale shows the
	// customer a code for its amount; its payment reference, recorded with
	// the sale, is what the bank's credit is matched by.
	qrCode, err := phone.DynamicQR(45_000, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	// … draw qrCode.Payload as a QR; the customer pays …
	if _, err := phone.RecordSale(qrCode.Amount, "qr", qrCode.Ref); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := phone.RecordSale(20_000, "cash", ""); err != nil {
		fmt.Println(err)
		return
	}
	st, _ := phone.Status()
	fmt.Println("waiting to sync:", st.Pending)

	// Signal again.
	r, err := phone.PushOnce()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("push: %s, %d applied, %d left\n", r.Outcome, r.Applied, r.Pending)

	tally, _ := phone.DayTally(phone.Today())
	fmt.Printf("today on this phone: %d sales, %d đồng, %d by QR\n", tally.Count, tally.Amount, tally.QRAmount)

	// Output:
	// waiting to sync: 2
	// push: ok, 2 applied, 0 left
	// today on this phone: 2 sales, 65000 đồng, 45000 by QR
}
