package registry

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors of the package, to be tested with errors.Is. Every error an
// operation returns is one line that names the reference (or registry)
// and the problem.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("unauthorized")
	ErrNotRegistry  = errors.New("not a registry")
	ErrPlatform     = errors.New("no matching platform")
	ErrInvalid      = errors.New("invalid")
)

// opError is what the operations return: a message for the user, a
// sentinel to test for, and the cause.
type opError struct {
	msg   string
	kind  error
	cause error
}

func (e *opError) Error() string { return e.msg }

func (e *opError) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// oneLine makes an error text fit on one line, and keeps an HTML page a
// web server sent instead of a registry error from flooding the terminal.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// describe turns an error of an operation op ("pull", "push") on ref (the
// familiar reference, or a repository or registry) into its one line.
func describe(op, ref, repo string, err error) error {
	if err == nil {
		return nil
	}
	var oe *opError
	if errors.As(err, &oe) {
		return err
	}
	var te *transport.Error
	if errors.As(err, &te) {
		code := transport.ErrorCode("")
		if len(te.Errors) > 0 {
			code = te.Errors[0].Code
		}
		isPing := te.Request != nil && te.Request.URL.Path == "/v2/"
		isManifest := te.Request != nil && strings.Contains(te.Request.URL.Path, "/manifests/")
		switch {
		case isPing && code == "" && te.StatusCode != http.StatusUnauthorized:
			host := ""
			if te.Request != nil {
				host = te.Request.URL.Host
			}
			return &opError{msg: op + " " + ref + ": " + host + " does not answer as a registry: " + oneLine(err.Error()), kind: ErrNotRegistry, cause: err}
		case code == transport.ManifestUnknownErrorCode || (isManifest && te.StatusCode == http.StatusNotFound && code == ""):
			return &opError{msg: "manifest for " + ref + " not found: manifest unknown", kind: ErrNotFound, cause: err}
		case code == transport.NameUnknownErrorCode:
			return &opError{msg: "repository " + repo + " not found: name unknown", kind: ErrNotFound, cause: err}
		case code == transport.UnauthorizedErrorCode || code == transport.DeniedErrorCode ||
			te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			what := op + " access denied for " + repo
			if op == "pull" {
				what += ", repository does not exist or may require 'strata login'"
			}
			return &opError{msg: what + ": " + oneLine(te.Error()), kind: ErrUnauthorized, cause: err}
		}
	}
	return &opError{msg: op + " " + ref + ": " + oneLine(err.Error()), cause: err}
}
