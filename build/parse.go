package build

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// ErrDockerfile is wrapped by the errors of a Dockerfile that does not
// parse or makes no sense (no FROM, an unknown stage).
var ErrDockerfile = errors.New("invalid Dockerfile")

// Parse parses a Dockerfile with BuildKit's parser into its stages and the
// ARGs before the first FROM. Errors name the line.
func Parse(dockerfile []byte, name string) ([]instructions.Stage, []instructions.ArgCommand, error) {
	stages, meta, _, err := parse(dockerfile, name)
	return stages, meta, err
}

// parse is Parse, also returning the escape character the Dockerfile
// chose ("# escape=`"), which variable substitution must use too.
func parse(dockerfile []byte, name string) ([]instructions.Stage, []instructions.ArgCommand, rune, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, nil, 0, locate(name, &dockerfileError{err})
	}
	stages, meta, err := parseAST(res, name)
	return stages, meta, res.EscapeToken, err
}

func parseAST(res *parser.Result, name string) ([]instructions.Stage, []instructions.ArgCommand, error) {
	for _, n := range res.AST.Children {
		if err := checkJSON(n); err != nil {
			return nil, nil, &StepError{File: name, Line: n.StartLine, Err: &dockerfileError{err}}
		}
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		if strings.Contains(err.Error(), "no build stage in current context") {
			err = parser.WithLocation(errors.New("no FROM before this instruction: a Dockerfile must start with FROM (after ARGs)"), nil)
			line := 0
			for _, n := range res.AST.Children {
				if !strings.EqualFold(n.Value, "arg") {
					line = n.StartLine
					break
				}
			}
			return nil, nil, &StepError{File: name, Line: line, Err: &dockerfileError{err}}
		}
		return nil, nil, locate(name, &dockerfileError{err})
	}
	if len(stages) == 0 {
		return nil, nil, &StepError{File: name, Err: &dockerfileError{errors.New("no FROM instruction: a Dockerfile must start with FROM (after ARGs)")}}
	}
	return stages, meta, nil
}

// dockerfileError is a Dockerfile that does not parse: ErrDockerfile,
// with the parser's message.
type dockerfileError struct{ err error }

func (e *dockerfileError) Error() string        { return e.err.Error() }
func (e *dockerfileError) Unwrap() error        { return e.err }
func (e *dockerfileError) Is(target error) bool { return target == ErrDockerfile }

// checkJSON refuses an exec form that is not valid JSON. BuildKit would
// quietly run such a line as a shell command; that is almost always a
// typo, so strata says so instead.
func checkJSON(n *parser.Node) error {
	switch strings.ToLower(n.Value) {
	case "run", "cmd", "entrypoint", "shell", "volume":
	default:
		return nil
	}
	if n.Attributes["json"] {
		return nil
	}
	rest := strings.TrimSpace(n.Original)
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		rest = strings.TrimSpace(rest[i:])
	}
	for strings.HasPrefix(rest, "--") { // RUN --network=… [
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			return nil
		}
		rest = strings.TrimSpace(rest[i:])
	}
	// `RUN [ -f x ]` is the test command, so only a bracket directly
	// followed by a quote counts as an attempted JSON array.
	if strings.HasPrefix(rest, `["`) && n.Heredocs == nil {
		return fmt.Errorf("%s: invalid JSON array: %s", strings.ToUpper(n.Value), rest)
	}
	return nil
}

// locate turns BuildKit's located errors into "Dockerfile:LINE: message".
func locate(name string, err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return &StepError{File: name, Line: le.Locations[0][0].Start.Line, Err: err}
	}
	return &StepError{File: name, Err: err}
}

func lineOf(cmd interface{ Location() []parser.Range }) int {
	if loc := cmd.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

func stageLine(ds *instructions.Stage) int {
	if len(ds.Location) > 0 {
		return ds.Location[0].Start.Line
	}
	return 0
}
