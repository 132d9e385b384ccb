package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

func (a *app) newPortCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  rangeArgs(1, 2),
		Annotations: map[string]string{
			annotAliases: "strata container port, strata port",
		},
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			ctr, err := lookup(c.Context(), rt, args[0])
			if err != nil {
				return err
			}
			want := ""
			if len(args) == 2 {
				num, proto, _ := strings.Cut(args[1], "/")
				if proto == "" {
					proto = "tcp"
				}
				if _, err := strconv.Atoi(num); err != nil || (proto != "tcp" && proto != "udp") {
					return fmt.Errorf("Error: invalid port (%s): %s", args[1], "expected PORT[/tcp|/udp]")
				}
				want = num + "/" + proto
			}
			found := false
			if ctr.State.Status == runtime.Running {
				for _, ep := range ctr.State.Endpoints {
					for _, p := range ep.Ports {
						k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
						ip := p.HostIP
						if ip == "" {
							ip = "0.0.0.0"
						}
						switch {
						case want == "":
							fmt.Fprintf(a.out, "%s -> %s:%d\n", k, ip, p.HostPort)
						case want == k:
							fmt.Fprintf(a.out, "%s:%d\n", ip, p.HostPort)
						default:
							continue
						}
						found = true
					}
				}
			}
			if want != "" && !found {
				return fmt.Errorf("Error: No public port '%s' published for %s", want, args[0])
			}
			return nil
		},
	}
	c.Flags().SetInterspersed(false)
	return c
}
