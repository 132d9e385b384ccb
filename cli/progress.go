package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/strata-engine/strata/registry"
)

// progressView shows the per-layer events of a pull or push: one bar per
// layer on a terminal (mpb), Docker's plain "ID: Status" lines otherwise,
// nothing at all when quiet. finish must be called before anything else
// is written to the output.
type progressView struct {
	events func(registry.Event)
	finish func(ok bool)
}

func newProgress(ctx context.Context, w io.Writer, quiet bool) *progressView {
	switch {
	case quiet:
		return &progressView{events: func(registry.Event) {}, finish: func(bool) {}}
	case isTerminal(w):
		return newBars(ctx, w)
	}
	return plainProgress(w)
}

// plainProgress writes each change of a layer's status once, as Docker
// does when its output is not a terminal; byte counts are not shown.
func plainProgress(w io.Writer) *progressView {
	last := map[string]string{}
	return &progressView{
		events: func(e registry.Event) {
			if e.Status == "Downloading" || e.Status == "Pushing" || last[e.ID] == e.Status {
				return
			}
			last[e.ID] = e.Status
			fmt.Fprintf(w, "%s: %s\n", e.ID, e.Status)
		},
		finish: func(bool) {},
	}
}

// finalStatuses end a layer's bar.
var finalStatuses = map[string]bool{
	"Pull complete": true, "Already exists": true,
	"Pushed": true, "Layer already exists": true,
}

// newBars shows one bar per layer: "ID: Status [=====>   ] 12.3MiB / 40.0MiB".
func newBars(ctx context.Context, w io.Writer) *progressView {
	p := mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithWidth(40))
	var mu sync.Mutex
	bars := map[string]*mpb.Bar{}
	status := map[string]string{}
	totals := map[string]int64{}
	var order []string
	events := func(e registry.Event) {
		mu.Lock()
		status[e.ID] = e.Status
		b := bars[e.ID]
		if b == nil {
			id := e.ID
			total := e.Total
			if total <= 0 {
				total = 1
			}
			b = p.AddBar(total,
				mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
					mu.Lock()
					defer mu.Unlock()
					return fmt.Sprintf("%s: %-18s", id, status[id])
				})),
				mpb.AppendDecorators(decor.OnComplete(decor.Counters(decor.SizeB1024(0), "% .1f / % .1f"), "")),
			)
			bars[e.ID] = b
			totals[e.ID] = total
			order = append(order, e.ID)
		}
		total := totals[e.ID]
		mu.Unlock()
		final := finalStatuses[e.Status] || strings.HasPrefix(e.Status, "Mounted from")
		switch {
		case final:
			b.SetTotal(-1, true)
		case e.Current > 0:
			// A bar completes when it reaches its total; the layer is
			// complete only at its final status (it is still unpacking
			// when its bytes are all in).
			b.SetCurrent(min(e.Current, total-1))
		}
	}
	finish := func(ok bool) {
		mu.Lock()
		for _, id := range order {
			if b := bars[id]; !b.Completed() {
				// A failed layer keeps its last status on screen.
				b.Abort(false)
			}
		}
		mu.Unlock()
		p.Wait()
	}
	return &progressView{events: events, finish: finish}
}
