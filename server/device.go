package server

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/qr"
	chosync "github.com/choso/choso/sync"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerDeviceRoutes(e *echo.Echo, users routeGroup) {
	users.POST("/stalls/:id/enrollments", s.handleEnrollmentCreate)
	users.GET("/stalls/:id/devices", s.handleDeviceList)
	users.POST("/devices/:id/revoke", s.handleDeviceRevoke)
	e.POST("/v1/devices/enroll", s.handleDeviceEnroll)
}

// Enrollment limits: an IP gets 10 tries at once and one more every 6
// seconds (a 60-bit code cannot be guessed, but nothing should be free to
// hammer); a stall gets 10 new phones an hour.
func newEnrollGuards(now func() time.Time, shared choso.SharedGuards) (byIP, byStall *attemptGuard) {
	return newAttemptGuard("enroll-ip", 10, 6*time.Second, now, shared), newAttemptGuard("enroll-stall", 10, 6*time.Minute, now, shared)
}

type enrollmentResponse struct {
	Code        string    `json:"code"`         // 12 characters, as the app sends it back
	CodeDisplay string    `json:"code_display"` // grouped for reading aloud: ABCD-EFGH-JKMN
	ExpiresAt   time.Time `json:"expires_at"`
	QRPayload   string    `json:"qr_payload"` // what the QR holds: choso:enroll:CODE
	QRSVG       string    `json:"qr_svg"`     // the QR, for a page to show
}

func (s *Server) handleEnrollmentCreate(c echo.Context) error {
	code, e, err := s.registry.CreateEnrollment(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	res, err := newEnrollmentResponse(code, e)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, res)
}

// newEnrollmentResponse is what a volunteer is shown of a new code: grouped
// for reading aloud, and as a QR for the app to scan.
func newEnrollmentResponse(code string, e *choso.Enrollment) (*enrollmentResponse, error) {
	payload := "choso:enroll:" + code
	var svg bytes.Buffer
	if err := qr.RenderSVG(&svg, payload, qr.LevelM, 0); err != nil {
		return nil, err
	}
	return &enrollmentResponse{
		Code: code, CodeDisplay: code[:4] + "-" + code[4:8] + "-" + code[8:], ExpiresAt: e.ExpiresAt,
		QRPayload: payload, QRSVG: svg.String(),
	}, nil
}

type enrollRequest struct {
	Code       string `json:"code"` // as typed or scanned: case, dashes and spaces do not matter
	AppVersion string `json:"app_version"`
	// Replaces and ReplacesToken, both optional, are the device a phone
	// enrolling again held and that device's token: when the claim holds
	// (choso.RedeemEnrollment), the new device is recorded as the same
	// phone, and its day.close is checked against both devices' sales.
	// Apps that do not send them enroll as a new install, as before.
	Replaces      string `json:"replaces,omitempty"`
	ReplacesToken string `json:"replaces_token,omitempty"`
}

type enrollResponse struct {
	DeviceID     string `json:"device_id"`
	Token        string `json:"token"` // the device's secret: send as Authorization: Bearer
	StallID      string `json:"stall_id"`
	ServerTimeMs int64  `json:"server_time_ms"`
}

// handleDeviceEnroll redeems an enrollment code for a device and its token.
func (s *Server) handleDeviceEnroll(c echo.Context) error {
	var req enrollRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if ok, wait, err := s.enrollByIP.allow(c.Request().Context(), networkKey(c.RealIP())); err != nil {
		return err
	} else if !ok {
		return rateLimited(c, wait, "enrollment attempts from your network")
	}
	req.Code = strings.TrimPrefix(strings.TrimSpace(req.Code), "choso:enroll:")
	if req.Code == "" {
		return choso.Errorf(choso.EInvalid, "code is required: the 12 characters the volunteer's screen shows")
	}
	for _, f := range [...]struct{ name, v string }{{"app_version", req.AppVersion}, {"replaces", req.Replaces}, {"replaces_token", req.ReplacesToken}} {
		if len(f.v) > chosync.MaxStringBytes {
			return choso.Errorf(choso.EInvalid, "%s is longer than %d bytes", f.name, chosync.MaxStringBytes)
		}
	}
	var claim *choso.DeviceClaim
	if req.ReplacesToken != "" {
		claim = &choso.DeviceClaim{DeviceID: req.Replaces, Token: req.ReplacesToken}
	}
	ctx := c.Request().Context()
	// The stall's limit first, the code unused: a phone told to wait
	// retries the same code.
	stallID, err := s.registry.EnrollmentStall(ctx, req.Code)
	if err != nil {
		return err
	}
	if ok, wait, err := s.enrollByStall.allow(ctx, stallID); err != nil {
		return err
	} else if !ok {
		return rateLimited(c, wait, "phones enrolled for this stall")
	}
	d, token, err := s.registry.RedeemEnrollment(ctx, req.Code, req.AppVersion, claim)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, enrollResponse{DeviceID: d.ID, Token: token, StallID: d.StallID, ServerTimeMs: s.now().UnixMilli()})
}

func (s *Server) handleDeviceList(c echo.Context) error {
	devices, err := s.registry.ListStallDevices(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": devices})
}

func (s *Server) handleDeviceRevoke(c echo.Context) error {
	d, err := s.registry.RevokeDevice(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
