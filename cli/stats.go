package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/cli/format"
	"github.com/strata-engine/strata/runtime"
)

const statsTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

var statsHeaders = map[string]string{
	"ID":        "CONTAINER ID",
	"Container": "CONTAINER",
	"CPUPerc":   "CPU %",
	"MemUsage":  "MEM USAGE / LIMIT",
	"MemPerc":   "MEM %",
	"NetIO":     "NET I/O",
	"BlockIO":   "BLOCK I/O",
	"PIDs":      "PIDS",
}

// statsInterval is the time between two samples: CPU % is the CPU time
// used between them over the time elapsed, as Docker's (which samples
// every second).
const statsInterval = time.Second

// statsRow is one line of "stats"; its fields are what --format sees.
type statsRow struct {
	Container string // as the user named it, else the short id
	ID        string
	Name      string
	CPUPerc   string
	MemUsage  string
	MemPerc   string
	NetIO     string
	BlockIO   string
	PIDs      string
}

func (a *app) newStatsCommand() *cobra.Command {
	var (
		all, noStream, noTrunc bool
		fmtText                string
	)
	c := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		Annotations: map[string]string{
			annotAliases: "strata container stats, strata stats",
		},
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			ctx := c.Context()
			// The containers are fixed once: named ones must exist
			// (and a stopped one shows zeros, as in Docker).
			var ctrs []*runtime.Container
			if len(args) > 0 {
				for _, ref := range args {
					ctr, err := lookup(ctx, rt, ref)
					if err != nil {
						return err
					}
					ctrs = append(ctrs, ctr)
				}
			} else if ctrs, err = rt.List(ctx, all); err != nil {
				return err
			}
			fmtText = listFormat(fmtText, statsTable, false)
			prev := a.sampleStats(ctx, rt, ctrs)
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(statsInterval):
				}
				cur := a.sampleStats(ctx, rt, ctrs)
				rows := make([]statsRow, len(ctrs))
				for i, ctr := range ctrs {
					rows[i] = statsLine(ctr, args, i, prev[i], cur[i], !noTrunc)
				}
				var b bytes.Buffer
				if err := format.List(&b, fmtText, statsHeaders, rows); err != nil {
					return err
				}
				if noStream {
					_, err := a.out.Write(b.Bytes())
					return err
				}
				// Clear the screen and home the cursor, as Docker's
				// live view does.
				fmt.Fprint(a.out, "\033[2J\033[H")
				a.out.Write(b.Bytes())
				prev = cur
			}
		},
	}
	f := c.Flags()
	f.BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVar(&noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	f.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate output")
	f.StringVar(&fmtText, "format", "", formatHelp)
	return c
}

// sampleStats reads every container's usage; nil for one not running.
func (a *app) sampleStats(ctx context.Context, rt *runtime.Runtime, ctrs []*runtime.Container) []*runtime.Stats {
	out := make([]*runtime.Stats, len(ctrs))
	for i, c := range ctrs {
		s, err := rt.Stats(ctx, c.ID())
		if err != nil && !errors.Is(err, runtime.ErrNotRunning) && !errors.Is(err, runtime.ErrNotFound) {
			fmt.Fprintf(a.err, "stats %s: %v\n", c.Config.Name, err)
		}
		out[i] = s
	}
	return out
}

// statsLine formats one container's usage between two samples.
func statsLine(c *runtime.Container, args []string, i int, prev, cur *runtime.Stats, trunc bool) statsRow {
	id := c.ID()
	if trunc {
		id = id[:12]
	}
	r := statsRow{Container: id, ID: id, Name: c.Config.Name}
	if i < len(args) {
		r.Container = args[i]
	}
	if prev == nil || cur == nil {
		// Not running: Docker's "--" placeholders.
		r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs = "--", "-- / --", "--", "--", "--", "--"
		return r
	}
	cpu := 0.0
	if wall := cur.Read.Sub(prev.Read); wall > 0 && cur.CPU > prev.CPU {
		cpu = float64(cur.CPU-prev.CPU) / float64(wall) * 100
	}
	limit := cur.MemoryLimit
	if host := hostMemory(); limit == 0 || (host > 0 && limit > host) {
		limit = host
	}
	memPerc := 0.0
	if limit > 0 {
		memPerc = float64(cur.Memory) / float64(limit) * 100
	}
	r.CPUPerc = fmt.Sprintf("%.2f%%", cpu)
	r.MemUsage = units.BytesSize(float64(cur.Memory)) + " / " + units.BytesSize(float64(limit))
	r.MemPerc = fmt.Sprintf("%.2f%%", memPerc)
	r.NetIO = size(int64(cur.NetRx)) + " / " + size(int64(cur.NetTx))
	r.BlockIO = size(int64(cur.BlockRead)) + " / " + size(int64(cur.BlockWrite))
	r.PIDs = fmt.Sprint(cur.Pids)
	return r
}

// hostMemory is MemTotal of /proc/meminfo in bytes, 0 if unknown.
func hostMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb uint64
	if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err != nil {
		return 0
	}
	return kb * 1024
}
