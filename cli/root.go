// Package cli is strata's command line: one file per command, each a thin
// layer over the store, the filesystem and the runtime. It is the only
// package that imports cobra and the only one that writes to the user, and
// it does so only through the streams it is given (app.in, app.out,
// app.err), so that commands can be run and checked in-process.
//
// Commands, flags, columns, messages and exit statuses follow Docker's CLI.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-engine/strata/layers"
)

// version is strata's release, set at link time with
// -ldflags "-X github.com/strata-engine/strata/cli.version=…".
var version = "0.0.0-dev"

// Main runs the command line given in args (args[0] is the program name)
// and returns the process exit status.
func Main(args []string) int {
	if fsNames[filepath.Base(args[0])] {
		return fsMain(args[1:], os.Stdout, os.Stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{
		in:     os.Stdin,
		out:    os.Stdout,
		err:    os.Stderr,
		getenv: os.Getenv,
	}
	return a.run(ctx, args[1:])
}

// app is one invocation of the command line: its streams, its environment
// and the global options.
type app struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	getenv func(string) string

	root     string   // --root
	logLevel string   // --log-level
	insecure []string // --insecure-registry
	log      *slog.Logger
}

// run executes the command line args (without the program name) and
// returns the exit status.
func (a *app) run(ctx context.Context, args []string) int {
	root := a.newRootCommand()
	root.SetArgs(args)
	root.SetIn(a.in)
	root.SetOut(a.out)
	root.SetErr(a.err)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var (
		ue *usageError
		ee *exitError
	)
	if cmd == root && !errors.As(err, &ue) && !errors.As(err, &ee) {
		// A global flag that did not parse: cobra reports those while it
		// looks for the subcommand, before the flag error hook can run.
		err = flagError(root, err)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Interrupted: the shell's convention for SIGINT.
		return 128 + int(syscall.SIGINT)
	}
	report(a.err, err)
	return exitCode(err)
}

func (a *app) newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "strata [OPTIONS] COMMAND [ARG...]",
		Short: "A daemonless container engine",
		// Global options go before the command, as in Docker.
		TraverseChildren: true,
		SilenceErrors:    true,
		SilenceUsage:     true,
		Args:             cobra.ArbitraryArgs,
		Version:          versionString(),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return showHelp(c, args)
			}
			return &usageError{fmt.Sprintf("%s: unknown command: %s %s\n\nRun '%s --help' for more information",
				c.Name(), c.Name(), args[0], c.Name())}
		},
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			return a.setup()
		},
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	root.SetVersionTemplate("Strata version {{.Version}}\n")

	flags := root.Flags()
	flags.StringVar(&a.root, "root", defaultRoot(a.getenv),
		"Root directory of the image and container store (env STRATA_ROOT)")
	flags.StringVar(&a.logLevel, "log-level", "info",
		`Set the logging level ("debug", "info", "warn", "error", "fatal")`)
	flags.BoolP("version", "v", false, "Print version information and quit")
	flags.Var((*listFlag)(&a.insecure), "insecure-registry", "Registry to allow plain HTTP to (repeatable)")
	root.PersistentFlags().BoolP("help", "h", false, "Print usage")
	root.PersistentFlags().Lookup("help").Hidden = true

	root.SetHelpFunc(func(c *cobra.Command, _ []string) { writeHelp(c.OutOrStdout(), c) })
	root.SetUsageFunc(func(c *cobra.Command) error { writeHelp(c.OutOrStderr(), c); return nil })
	root.SetFlagErrorFunc(flagError)
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about the command",
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if target == nil || err != nil || len(rest) > 0 {
				return fmt.Errorf("unknown help topic: %v", strings.Join(args, " "))
			}
			writeHelp(c.OutOrStdout(), target)
			return nil
		},
	})

	for _, add := range a.commands() {
		root.AddCommand(add())
	}
	visit(root, func(c *cobra.Command) { c.DisableFlagsInUseLine = true })
	return root
}

// commands lists the constructors of the root's subcommands. As in
// Docker, image and container commands exist both at the top level
// (images, rmi, run, ps, rm…) and under "image" and "container" (image ls,
// container ls, container rm…).
func (a *app) commands() []func() *cobra.Command {
	return []func() *cobra.Command{
		a.newRunCommand,
		a.newExecCommand,
		a.newPsCommand,
		a.newPullCommand,
		a.newPushCommand,
		a.newLoginCommand,
		a.newLogoutCommand,
		a.newSearchCommand,
		a.newImagesCommand,
		a.newContainerCommand,
		a.newImageCommand,
		a.newNetworkCommand,
		a.newSystemCommand,
		a.newAttachCommand,
		a.newBenchCommand,
		a.newBuildCommand,
		a.newBuilderCommand,
		a.newCommitCommand,
		a.newDedupCommand,
		a.newCpCommand,
		a.newCreateCommand,
		a.newDiffCommand,
		a.newHistoryCommand,
		a.newImportCommand,
		a.newInspectCommand,
		a.newKillCommand,
		a.newLoadCommand,
		a.newLogsCommand,
		a.newMountCommand,
		a.newUmountCommand,
		a.newPortCommand,
		a.newRenameCommand,
		a.newRestartCommand,
		a.newRmCommand,
		a.newRmiCommand,
		a.newSaveCommand,
		a.newStartCommand,
		a.newStatsCommand,
		a.newStopCommand,
		a.newTagCommand,
		a.newTopCommand,
		a.newWaitCommand,
	}
}

func visit(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		visit(sub, fn)
	}
}

// setup applies the global options once the command line has parsed.
func (a *app) setup() error {
	var level slog.Level
	switch a.logLevel {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	case "fatal":
		level = slog.LevelError + 4
	default:
		return withCode(exitFailure, fmt.Errorf("unable to parse logging level: %s", a.logLevel))
	}
	a.log = slog.New(slog.NewTextHandler(a.err, &slog.HandlerOptions{Level: level}))
	return nil
}

// defaultRoot is the store root when --root is not given: $STRATA_ROOT,
// else the store's own default (/var/lib/strata for root, the XDG data
// directory for anyone else).
func defaultRoot(getenv func(string) string) string {
	if r := getenv("STRATA_ROOT"); r != "" {
		return r
	}
	return layers.DefaultRoot()
}

// store opens the image store at --root.
func (a *app) store() (*layers.Store, error) {
	return layers.Open(a.root)
}

// versionString is "VERSION, build COMMIT" as in Docker's --version.
func versionString() string {
	build := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				build = s.Value[:7]
			}
		}
	}
	return version + ", build " + build
}

// isTerminal reports whether s is a terminal.
func isTerminal(s any) bool {
	f, ok := s.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
