package main

import (
	"errors"
	"net"

	"github.com/gowebsocket/godot-gowebsocket/bindings"
	"github.com/gowebsocket/godot-gowebsocket/peer"
)

// Godot's Error values used here.
const (
	errOK               = 0
	errFailed           = 1
	errUnavailable      = 2
	errUnconfigured     = 3
	errOutOfMemory      = 6
	errCantCreate       = 20
	errAlreadyInUse     = 22
	errInvalidParameter = 31
	errDoesNotExist     = 33
)

// godotError is the one place where errors become Godot Error values: it
// maps a peer error (argument checks included: peer validates, the extension
// does not check again) to a Godot Error and logs it as an engine error
// naming the method, so a script sees both. A socket error (a port in use, an
// address that cannot be bound) is ERR_CANT_CREATE; anything else FAILED.
func godotError(method string, err error) int64 {
	if err == nil {
		return errOK
	}
	code := int64(errFailed)
	switch {
	case errors.Is(err, peer.ErrInvalidURL), errors.Is(err, peer.ErrUnsupportedURL),
		errors.Is(err, peer.ErrInvalidArgument), errors.Is(err, peer.ErrReasonTooLong),
		errors.Is(err, peer.ErrInvalidCloseCode), errors.Is(err, peer.ErrInvalidUTF8):
		code = errInvalidParameter
	case errors.Is(err, peer.ErrOutboundFull), errors.Is(err, peer.ErrTooLarge):
		code = errOutOfMemory
	case errors.Is(err, peer.ErrBusy):
		code = errAlreadyInUse
	case errors.Is(err, peer.ErrNotListening):
		code = errUnconfigured
	case errors.Is(err, peer.ErrUnknownPeer):
		code = errDoesNotExist
	case errors.Is(err, peer.ErrStopped):
		code = errUnavailable
	case errors.As(err, new(*net.OpError)):
		code = errCantCreate
	}
	bindings.PushError(method + ": " + err.Error())
	return code
}

// fail logs msg for method and returns code: for conditions of the
// extension's own objects (a peer without a connection, a server not
// listening) that no peer call reports.
func fail(method, msg string, code int64) int64 {
	bindings.PushError(method + ": " + msg)
	return code
}
