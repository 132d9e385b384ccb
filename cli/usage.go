package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Annotations understood by the help output, as in Docker's CLI.
const (
	// annotTop puts a command of the root under "Common Commands"; the
	// value orders them.
	annotTop = "category-top"
	// annotAliases replaces the generated "Aliases:" line, for commands
	// reachable under several parents ("strata image ls, strata images").
	annotAliases = "aliases"
)

// The help output follows Docker's layout: usage line, description,
// aliases, examples, options; for the root and management commands the
// command lists and a pointer to per-command help.

// useLine is the command's usage synopsis: its Use line, or
// "PATH [OPTIONS] COMMAND" for a command that only groups others.
func useLine(c *cobra.Command) string {
	if !c.HasSubCommands() {
		return c.UseLine()
	}
	line := c.CommandPath()
	if c.HasAvailableFlags() {
		line += " [OPTIONS]"
	}
	return line + " COMMAND"
}

// writeHelp writes c's help to w.
func writeHelp(w io.Writer, c *cobra.Command) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:  %s\n\n", useLine(c))
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	b.WriteString(strings.TrimSpace(desc))
	b.WriteByte('\n')

	if c.HasParent() && (len(c.Aliases) > 0 || c.Annotations[annotAliases] != "") {
		fmt.Fprintf(&b, "\nAliases:\n  %s\n", aliases(c))
	}
	if c.HasExample() {
		fmt.Fprintf(&b, "\nExamples:\n%s\n", c.Example)
	}
	if c.HasParent() && c.HasAvailableFlags() {
		fmt.Fprintf(&b, "\nOptions:\n%s\n", flagUsages(c))
	}

	var top, mgmt, ops []*cobra.Command
	for _, sub := range c.Commands() {
		switch {
		case !sub.IsAvailableCommand():
		case !c.HasParent() && sub.Annotations[annotTop] != "":
			top = append(top, sub)
		case sub.HasSubCommands():
			mgmt = append(mgmt, sub)
		default:
			ops = append(ops, sub)
		}
	}
	slices.SortStableFunc(top, func(a, b *cobra.Command) int {
		return strings.Compare(a.Annotations[annotTop], b.Annotations[annotTop])
	})
	writeCommands(&b, "Common Commands", top)
	writeCommands(&b, "Management Commands", mgmt)
	writeCommands(&b, "Commands", ops)

	if !c.HasParent() && c.HasAvailableFlags() {
		fmt.Fprintf(&b, "\nGlobal Options:\n%s\n", flagUsages(c))
	}
	if c.HasSubCommands() {
		fmt.Fprintf(&b, "\nRun '%s COMMAND --help' for more information on a command.\n", c.CommandPath())
	}
	io.WriteString(w, b.String())
}

func writeCommands(b *strings.Builder, title string, cmds []*cobra.Command) {
	if len(cmds) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n", title)
	for _, c := range cmds {
		fmt.Fprintf(b, "  %-*s %s\n", c.NamePadding(), c.Name(), c.Short)
	}
}

// aliases lists every full command line that runs c.
func aliases(c *cobra.Command) string {
	if a := c.Annotations[annotAliases]; a != "" {
		return a
	}
	names := []string{c.CommandPath()}
	for _, a := range c.Aliases {
		names = append(names, c.Parent().CommandPath()+" "+a)
	}
	return strings.Join(names, ", ")
}

// flagUsages lists c's flags wrapped to the terminal's width (80 columns
// when the output is not a terminal, so that scripts see stable text).
func flagUsages(c *cobra.Command) string {
	width := 80
	if f, ok := c.OutOrStdout().(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			width = w
		}
	}
	return strings.TrimRight(c.Flags().FlagUsagesWrapped(width-1), " \n")
}

// showHelp is the RunE of commands that only group others: with no
// subcommand named, print help on stderr and succeed, as Docker does.
func showHelp(c *cobra.Command, _ []string) error {
	writeHelp(c.ErrOrStderr(), c)
	return nil
}

// Argument validators with Docker's messages. Each names the command, shows
// its Use line (not the help's synopsis: Docker's errors differ there too)
// and points to --help.

func argsError(c *cobra.Command, problem, verb string) error {
	return &usageError{fmt.Sprintf("%s: '%s' %s\n\nUsage:  %s\n\n%s '%s --help' for more information",
		c.Root().Name(), c.CommandPath(), problem, c.UseLine(), verb, c.CommandPath())}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// noArgs accepts no arguments; for a command that groups others an argument
// is an unknown subcommand.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if c.HasSubCommands() {
		return &usageError{fmt.Sprintf("%s: unknown command: %s %s\n\nUsage:  %s\n\nRun '%s --help' for more information",
			c.Root().Name(), c.CommandPath(), args[0], c.UseLine(), c.CommandPath())}
	}
	return argsError(c, "accepts no arguments", "Run")
}

func minArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		// "See", not "Run", in this one message: Docker's wording.
		return argsError(c, "requires at least "+plural(n, "argument"), "See")
	}
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		return argsError(c, "requires at most "+plural(n, "argument"), "Run")
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if lo <= len(args) && len(args) <= hi {
			return nil
		}
		return argsError(c, fmt.Sprintf("requires at least %d and at most %s", lo, plural(hi, "argument")), "Run")
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return argsError(c, "requires "+plural(n, "argument"), "Run")
	}
}

// flagError reports a flag that did not parse. Docker exits 125 for these,
// whatever the command.
func flagError(c *cobra.Command, err error) error {
	return &exitError{code: exitEngine, err: &usageError{fmt.Sprintf("%s\n\nUsage:  %s\n\nRun '%s --help' for more information",
		err, c.UseLine(), c.CommandPath())}}
}
