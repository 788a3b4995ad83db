package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	chosync "github.com/choso/choso/sync"
)

// writePushResponse answers a push with the bytes c.JSON would write (the
// JSON of res as encoding/json encodes it, and a newline), built without
// reflection: encoding a 50-result answer by reflection was a tenth of a
// push's request-side CPU. A request for pretty output goes to c.JSON.
// TestAppendPushResponse and FuzzAppendPushResponse hold the bytes to
// encoding/json's.
func writePushResponse(c echo.Context, res *chosync.PushResponse) error {
	if _, pretty := c.QueryParams()["pretty"]; pretty {
		return c.JSON(http.StatusOK, res)
	}
	b := appendPushResponse(make([]byte, 0, 128+64*len(res.Results)), res)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, append(b, '\n'))
}

// appendPushResponse appends res as encoding/json encodes it: fields in
// declaration order, omitempty honoured, a nil slice or pointer as null.
func appendPushResponse(b []byte, res *chosync.PushResponse) []byte {
	b = strconv.AppendUint(append(b, `{"ack_seq":`...), res.AckSeq, 10)
	b = strconv.AppendUint(append(b, `,"next_expected_seq":`...), res.NextExpectedSeq, 10)
	b = append(b, `,"results":`...)
	if res.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range res.Results {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendResult(b, &res.Results[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"gap":`...)
	if res.Gap == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendUint(append(b, `{"expected":`...), res.Gap.Expected, 10)
		b = strconv.AppendUint(append(b, `,"received":`...), res.Gap.Received, 10)
		b = append(b, '}')
	}
	b = strconv.AppendInt(append(b, `,"server_time_ms":`...), res.ServerTimeMs, 10)
	b = strconv.AppendInt(append(b, `,"config_version":`...), int64(res.ConfigVersion), 10)
	b = strconv.AppendUint(append(b, `,"totals_version":`...), res.TotalsVersion, 10)
	if res.Token != "" {
		b = appendStdString(append(b, `,"token":`...), res.Token)
	}
	return append(b, '}')
}

func appendResult(b []byte, r *chosync.Result) []byte {
	b = strconv.AppendUint(append(b, `{"seq":`...), r.Seq, 10)
	b = appendStdString(append(b, `,"status":`...), r.Status)
	if r.Code != "" {
		b = appendStdString(append(b, `,"code":`...), r.Code)
	}
	if r.Message != "" {
		b = appendStdString(append(b, `,"message":`...), r.Message)
	}
	if r.ServerSeq != 0 {
		b = strconv.AppendUint(append(b, `,"server_seq":`...), r.ServerSeq, 10)
	}
	if r.Note != "" {
		b = appendStdString(append(b, `,"note":`...), r.Note)
	}
	if r.TimeQuality != "" {
		b = appendStdString(append(b, `,"time_quality":`...), r.TimeQuality)
	}
	if o := r.Original; o != nil {
		b = appendStdString(append(b, `,"original":{"status":`...), o.Status)
		if o.Code != "" {
			b = appendStdString(append(b, `,"code":`...), o.Code)
		}
		if o.ServerSeq != 0 {
			b = strconv.AppendUint(append(b, `,"server_seq":`...), o.ServerSeq, 10)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendStdString appends s quoted as encoding/json quotes it (the partner
// export's appendJSONString quotes as JSON v2 does). Strings of
// printable ASCII with nothing to escape (statuses, codes, tokens) are
// copied; any other goes through encoding/json, whose escaping of HTML
// characters, control characters and invalid UTF-8 is then exact.
func appendStdString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
