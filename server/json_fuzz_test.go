package server

import (
	"encoding/json"
	"testing"
)

// FuzzCheckKeys checks the fast key scanner against the token walk: where
// the fast path decides, it must not miss a repeated key the slow one
// finds, and on valid JSON it must agree with it. (On malformed JSON either
// error is right: both are 400 invalid.)
func FuzzCheckKeys(f *testing.F) {
	for _, seed := range []string{
		`{"amount":1,"AMOUNT":900}`, `{"a":{"b":1,"B":2}}`, `[{"x":1},{"x":2}]`, `{"a":[1,2,{"c":3,"d":4}],"b":"}"}`,
		`{"events":[{"seq":1,"payload":{"amount":5,"Amount":6}}]}`, `{"a":"x\"y","A":1}`, `{}`, `[]`, `{"a":1}{"a":2}`,
		`{"a" : 1 , "b" : [ true , null , -1.5e3 ] }`, `{"ſ":1,"s":2}`, `{"a":`, `{"a":1,}`, `"str"`, `123`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := scanKeys(data)
		if !ok {
			return
		}
		slow := checkKeysSlow(data)
		if fast == nil && slow != nil || fast != nil && slow == nil && json.Valid(data) {
			t.Fatalf("scanKeys says %v, the token walk %v, for %q", fast, slow, data)
		}
	})
}
