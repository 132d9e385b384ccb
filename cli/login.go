package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-engine/strata/registry"
)

type loginOptions struct {
	username      string
	password      string
	passwordStdin bool
}

func (a *app) newLoginCommand() *cobra.Command {
	var o loginOptions
	c := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Authenticate to a registry",
		Long: "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.\n" +
			"Credentials go where Docker keeps them: config.json in $DOCKER_CONFIG or ~/.docker, or its credential helper.",
		Args: maxArgs(1),
		Annotations: map[string]string{
			annotTop: "8",
		},
		RunE: func(c *cobra.Command, args []string) error {
			server := ""
			if len(args) > 0 {
				server = args[0]
			}
			return a.runLogin(c.Context(), o, server)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.username, "username", "u", "", "Username")
	f.StringVarP(&o.password, "password", "p", "", "Password or Personal Access Token (PAT)")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "Take the Password or Personal Access Token (PAT) from stdin")
	return c
}

func (a *app) runLogin(ctx context.Context, o loginOptions, server string) error {
	if o.password != "" {
		fmt.Fprintln(a.err, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		if o.passwordStdin {
			return errors.New("--password and --password-stdin are mutually exclusive")
		}
	}
	if o.passwordStdin {
		if o.username == "" {
			return errors.New("Must provide --username with --password-stdin")
		}
		b, err := io.ReadAll(io.LimitReader(a.in, 1<<20))
		if err != nil {
			return err
		}
		o.password = strings.TrimRight(string(b), "\r\n")
	}
	srv, err := registry.ParseServer(server)
	if err != nil {
		return err
	}
	if o.username == "" || o.password == "" {
		if err := a.promptCredentials(&o, srv); err != nil {
			return err
		}
	}
	opts, err := a.registryOptions()
	if err != nil {
		return err
	}
	if err := registry.Login(ctx, srv, o.username, o.password, opts); err != nil {
		return err
	}
	path, plain, err := registry.SaveCredentials("", srv, o.username, o.password)
	if err != nil {
		return err
	}
	if plain {
		fmt.Fprintf(a.err, "WARNING! Your credentials are stored unencrypted in '%s'.\n"+
			"Configure a credential helper to remove this warning.\n\n", path)
	}
	fmt.Fprintln(a.out, "Login Succeeded")
	return nil
}

// promptCredentials asks for what the flags did not give, on a terminal
// only, as Docker does.
func (a *app) promptCredentials(o *loginOptions, srv registry.Server) error {
	fd, ok := terminalFd(a.in)
	if !ok {
		return errors.New("Cannot perform an interactive login from a non TTY device")
	}
	r := bufio.NewReader(a.in)
	if o.username == "" {
		def, _ := registry.Credentials("", srv)
		if def != "" {
			fmt.Fprintf(a.out, "Username (%s): ", def)
		} else {
			fmt.Fprint(a.out, "Username: ")
		}
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			return err
		}
		o.username = strings.TrimSpace(line)
		if o.username == "" {
			o.username = def
		}
		if o.username == "" {
			return errors.New("Username is required")
		}
	}
	if o.password == "" {
		fmt.Fprint(a.out, "Password: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(a.out)
		if err != nil {
			return err
		}
		o.password = string(b)
		if o.password == "" {
			return errors.New("Password is required")
		}
	}
	return nil
}

func (a *app) newLogoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Long:  "Log out from a registry.\nIf no server is specified, the default is Docker Hub.",
		Args:  maxArgs(1),
		Annotations: map[string]string{
			annotTop: "9",
		},
		RunE: func(c *cobra.Command, args []string) error {
			server := ""
			if len(args) > 0 {
				server = args[0]
			}
			srv, err := registry.ParseServer(server)
			if err != nil {
				return err
			}
			had, err := registry.Logout("", srv)
			if err != nil {
				return err
			}
			if !had {
				fmt.Fprintf(a.out, "Not logged in to %s\n", srv.Key)
				return nil
			}
			fmt.Fprintf(a.out, "Removing login credentials for %s\n", srv.Key)
			return nil
		},
	}
}
