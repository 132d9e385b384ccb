package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit statuses shared by all commands. Docker's run and create use 125 for
// an error of the engine itself, 126 for a command that cannot be invoked
// and 127 for one that is not found; every other command exits 1 on error.
const (
	exitFailure    = 1
	exitEngine     = 125
	exitCannotExec = 126
	exitNotFound   = 127
)

// exitError makes the process exit with code. Its err, if not nil, is
// reported as any other error; with a nil err nothing is printed (the
// command already said what happened, or the code is the whole message, as
// with a container's own exit status).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode returns err made to exit with code, or nil if err is nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageError is a mistake on the command line (wrong number of arguments,
// unknown flag). Docker prints these as they are, without "Error:", followed
// by the usage line and a pointer to --help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitCode is the process exit status for err.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

// report writes err to w the way Docker users expect: usage errors as they
// are, everything else as "Error: <message>", one line per error of an
// errorList.
func report(w io.Writer, err error) {
	var ee *exitError
	for errors.As(err, &ee) {
		if ee.err == nil {
			return
		}
		err = ee.err
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(w, ue.msg)
		return
	}
	errs := []error{err}
	var list errorList
	if errors.As(err, &list) {
		errs = list
	}
	for _, e := range errs {
		msg := e.Error()
		if msg == "" {
			continue
		}
		fmt.Fprintln(w, "Error:", strings.TrimRight(msg, "\n"))
	}
}

// errorList is several independent failures of one command (rmi of three
// names, two of them unknown), reported one per line.
type errorList []error

func (l errorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

func (l errorList) Unwrap() []error { return l }

// joinErrors returns nil, the one error, or an errorList of errs.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errorList(errs)
}
