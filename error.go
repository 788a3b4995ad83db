package choso

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the API: clients switch on them, so they are
// few, stable and never renamed. The HTTP layer maps each to one status.
const (
	EInvalid      = "invalid"      // the request is malformed or breaks a rule
	EUnauthorized = "unauthorized" // no credentials, or credentials not accepted
	EForbidden    = "forbidden"    // authenticated, but the role lacks the function
	ENotFound     = "not_found"    // no such object, or not in the caller's scope
	EConflict     = "conflict"     // the object exists or changed under the caller
	ETooLarge     = "too_large"    // a body, batch or file over its limit
	ERateLimited  = "rate_limited" // too many requests; retry after a delay
	EUnavailable  = "unavailable"  // a transient failure; retry after a delay
	EInternal     = "internal"     // a bug or an unexpected failure; details are logged only

	// Specific codes, for cases where a client must act differently.
	EMethodNotAllowed = "method_not_allowed"     // the path exists, but not with this method
	EUnsupportedMedia = "unsupported_media_type" // the body is not in a format the route takes
	EDeviceRevoked    = "device_revoked"         // the phone was removed from its stall: stop syncing, keep the outbox
	EDeviceSuspended  = "device_suspended"       // the phone's stall is suspended: keep the outbox, try later
	EUpgradeRequired  = "upgrade_required"       // the client speaks a protocol version the server no longer takes
)

// Error is the error type of the domain. Code is one of the E* constants;
// Message is written for the person or program that made the request and is
// safe to show them. Err, when set, is the underlying cause: it is logged but
// never shown to a client.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Code, e.Err)
	default:
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
}

// Unwrap returns the underlying cause, so errors.Is sees through an Error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the given code and message that keeps err
// as its cause.
func WrapError(code, message string, err error) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := err.(*Error); ok { // most are not wrapped: no allocation for errors.As
		return e.Code
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of the first *Error in err's
// chain. Other errors get a generic message, so internal details never reach
// a client.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "An internal error occurred."
}
