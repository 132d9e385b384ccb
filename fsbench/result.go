package fsbench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"
)

// Result is a run's samples and what they were measured on. It is what
// `--format json` writes and `--compare` reads.
type Result struct {
	Image      string    `json:"image"`
	Layers     int       `json:"layers"`
	Entries    int       `json:"entries"`
	Reps       int       `json:"reps"`
	Machine    Machine   `json:"machine"`
	Started    time.Time `json:"started"`
	Contenders []string  `json:"contenders"`
	Skipped    []Skip    `json:"skipped,omitempty"`
	// CachesDropped tells whether cold phases ran on dropped kernel
	// caches (root) or only on a fresh mount.
	CachesDropped bool     `json:"cachesDropped"`
	Samples       []Sample `json:"samples"`
}

// Machine is where a run ran.
type Machine struct {
	Kernel string `json:"kernel"`
	Arch   string `json:"arch"`
	CPUs   int    `json:"cpus"`
	Memory int64  `json:"memory"`
}

// Skip is a contender that could not run, and why.
type Skip struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Sample is one timed phase.
type Sample struct {
	Workload  string  `json:"workload"`
	Phase     string  `json:"phase"`
	Contender string  `json:"contender"`
	Rep       int     `json:"rep"`
	Seconds   float64 `json:"seconds"`
}

// Row summarises the samples of one workload phase on one contender.
type Row struct {
	Workload, Phase, Contender string
	Median, Min, Max           float64 // seconds
	N                          int
	// Ratio is Median over the reference contender's median (0 when
	// there is no reference).
	Ratio float64
}

// Reference is the contender ratios are taken against: overlayfs when it
// ran, else the first.
func (r *Result) Reference() string {
	if contains(r.Contenders, Overlay) {
		return Overlay
	}
	if len(r.Contenders) > 0 {
		return r.Contenders[0]
	}
	return ""
}

// Rows summarises the samples, in workload, phase and contender order.
func (r *Result) Rows() []Row {
	type key struct{ w, p, c string }
	var order []key
	samples := map[key][]float64{}
	for _, s := range r.Samples {
		k := key{s.Workload, s.Phase, s.Contender}
		if _, ok := samples[k]; !ok {
			order = append(order, k)
		}
		samples[k] = append(samples[k], s.Seconds)
	}
	rank := func(k key) [3]int {
		return [3]int{workloadIndex(k.w), phaseRank(k.p), indexOf(r.Contenders, k.c)}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := rank(order[i]), rank(order[j])
		for n := range a {
			if a[n] != b[n] {
				return a[n] < b[n]
			}
		}
		return false
	})
	rows := make([]Row, 0, len(order))
	medians := map[key]float64{}
	for _, k := range order {
		v := samples[k]
		sort.Float64s(v)
		row := Row{Workload: k.w, Phase: k.p, Contender: k.c, Min: v[0], Max: v[len(v)-1], N: len(v), Median: median(v)}
		medians[k] = row.Median
		rows = append(rows, row)
	}
	ref := r.Reference()
	for i, row := range rows {
		if m, ok := medians[key{row.Workload, row.Phase, ref}]; ok && m > 0 {
			rows[i].Ratio = row.Median / m
		}
	}
	return rows
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func phaseRank(p string) int {
	switch p {
	case "cold":
		return 0
	case "warm":
		return 1
	}
	return 2
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return len(list)
}

// WriteTable writes the summary: a line per workload phase, a column per
// contender (median and spread), and each contender's ratio to the
// reference.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	ref := r.Reference()
	fmt.Fprint(tw, "WORKLOAD\tPHASE")
	for _, c := range r.Contenders {
		fmt.Fprintf(tw, "\t%s", upper(c))
	}
	for _, c := range r.Contenders {
		if c != ref {
			fmt.Fprintf(tw, "\t%s/%s", upper(c), upper(ref))
		}
	}
	fmt.Fprintln(tw)
	rows := r.Rows()
	for i := 0; i < len(rows); {
		j := i
		by := map[string]Row{}
		for ; j < len(rows) && rows[j].Workload == rows[i].Workload && rows[j].Phase == rows[i].Phase; j++ {
			by[rows[j].Contender] = rows[j]
		}
		fmt.Fprintf(tw, "%s\t%s", rows[i].Workload, rows[i].Phase)
		for _, c := range r.Contenders {
			row := by[c]
			fmt.Fprintf(tw, "\t%s ±%s", seconds(row.Median), spread(row))
		}
		for _, c := range r.Contenders {
			if c != ref {
				fmt.Fprintf(tw, "\t%.2fx", by[c].Ratio)
			}
		}
		fmt.Fprintln(tw)
		i = j
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	caches := "caches dropped"
	if !r.CachesDropped {
		caches = "fresh mount only, caches not dropped (needs root)"
	}
	fmt.Fprintf(w, "\n%s: %d layers, %d entries; %d runs each, median ±half the range; cold = %s; kernel %s, %d CPUs\n",
		r.Image, r.Layers, r.Entries, r.Reps, caches, r.Machine.Kernel, r.Machine.CPUs)
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.Name, s.Reason)
	}
	return nil
}

// WriteCSV writes every sample, one per line.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"workload", "phase", "contender", "rep", "seconds"})
	for _, s := range r.Samples {
		cw.Write([]string{s.Workload, s.Phase, s.Contender, strconv.Itoa(s.Rep + 1),
			strconv.FormatFloat(s.Seconds, 'f', 6, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the whole result, as ReadResult reads it.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadResult reads a result written by WriteJSON.
func ReadResult(name string) (*Result, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a saved benchmark run: %w", name, err)
	}
	if len(r.Samples) == 0 {
		return nil, fmt.Errorf("%s: not a saved benchmark run: no samples", name)
	}
	return &r, nil
}

// WriteComparison contrasts two runs: for each workload phase and
// contender in both, the old and new medians and the change.
func WriteComparison(w io.Writer, old, cur *Result) error {
	type key struct{ w, p, c string }
	before := map[key]float64{}
	for _, row := range old.Rows() {
		before[key{row.Workload, row.Phase, row.Contender}] = row.Median
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tPHASE\tFILESYSTEM\tBEFORE\tAFTER\tCHANGE")
	n := 0
	for _, row := range cur.Rows() {
		b, ok := before[key{row.Workload, row.Phase, row.Contender}]
		if !ok || b == 0 {
			continue
		}
		n++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%+.1f%%\n", row.Workload, row.Phase, row.Contender,
			seconds(b), seconds(row.Median), 100*(row.Median-b)/b)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("the two runs have no workload and filesystem in common")
	}
	fmt.Fprintf(w, "\nbefore: %s on %s (%s); after: %s on %s (%s)\n",
		old.Image, old.Machine.Kernel, old.Started.Format(time.RFC3339),
		cur.Image, cur.Machine.Kernel, cur.Started.Format(time.RFC3339))
	return nil
}

func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(10 * time.Microsecond).String()
	}
}

func spread(r Row) string {
	if r.Median == 0 {
		return "0%"
	}
	return strconv.Itoa(int(100*(r.Max-r.Min)/2/r.Median+0.5)) + "%"
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
