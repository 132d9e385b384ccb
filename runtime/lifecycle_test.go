package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startDetached creates and starts a busybox container running cmd.
func startDetached(t *testing.T, r *Runtime, o CreateOptions) *Container {
	t.Helper()
	ctx := context.Background()
	if o.RootfsDir == "" {
		o.RootfsDir = busyboxRoot
	}
	c, err := r.Create(ctx, o)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := r.Start(ctx, c.Config.ID); err != nil {
		t.Fatalf("start: %v", err)
	}
	c, err = r.Inspect(ctx, c.Config.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Status != Running {
		t.Fatalf("status after start: got %s, want running", c.State.Status)
	}
	return c
}

// checkGone checks that a container has exited with code and left no
// mount behind in our namespace.
func checkGone(t *testing.T, r *Runtime, id string, code int) {
	t.Helper()
	c, err := r.Inspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Status != Exited || c.State.ExitCode != code {
		t.Errorf("state: got %s %d, want exited %d", c.State.Status, c.State.ExitCode, code)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if bytes.Contains(mi, []byte(id)) {
		t.Errorf("a mount of %s is left in mountinfo", id)
	}
	if c.State.Pid != 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", c.State.Pid)); err == nil {
			t.Errorf("init pid %d still exists", c.State.Pid)
		}
	}
}

func TestExec(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	ctx := context.Background()
	c := startDetached(t, r, CreateOptions{Hostname: "ex", Env: []string{"A=1"}, Cmd: []string{"sleep", "1000"}})
	id := c.Config.ID

	var out bytes.Buffer
	code, _, err := r.Exec(ctx, id, ExecOptions{Cmd: []string{"/bin/sh", "-c", "echo $A $HOSTNAME; hostname; ps -o pid,comm | grep -c sleep; exit 7"},
		AttachOptions: AttachOptions{Stdout: &out, Stderr: &out}})
	if err != nil {
		t.Fatal(err)
	}
	if code != 7 || out.String() != "1 ex\nex\n1\n" {
		t.Errorf("exec: got %d %q, want 7 %q", code, out.String(), "1 ex\nex\n1\n")
	}

	out.Reset()
	code, _, err = r.Exec(ctx, id, ExecOptions{Cmd: []string{"id", "-u"}, User: "nobody", WorkingDir: "/tmp/x",
		AttachOptions: AttachOptions{Stdout: &out}})
	if err != nil || code != 0 || out.String() != "65534\n" {
		t.Errorf("exec as nobody: got %d %q %v, want 0 \"65534\\n\"", code, out.String(), err)
	}

	out.Reset()
	code, _, err = r.Exec(ctx, id, ExecOptions{Cmd: []string{"cat"}, AttachOptions: AttachOptions{
		Stdin: strings.NewReader("through stdin\n"), CloseStdin: true, Stdout: &out}})
	if err != nil || code != 0 || out.String() != "through stdin\n" {
		t.Errorf("exec with stdin: got %d %q %v", code, out.String(), err)
	}

	_, _, err = r.Exec(ctx, id, ExecOptions{Cmd: []string{"nosuch"}})
	var se *StartError
	if !errors.As(err, &se) || se.Code != 127 {
		t.Errorf("exec of a missing command: got %v, want a StartError 127", err)
	}

	if err := r.Kill(ctx, id, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code, err := r.Wait(ctx, id); err != nil || code != 137 {
		t.Errorf("wait after kill: got %d %v, want 137", code, err)
	}
	checkGone(t, r, id, 137)
}

func TestStop(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		cmd     string
		timeout time.Duration // generous where the command exits by itself
		code    int
	}{
		// SIGTERM reaches the main command (not init) and it exits;
		// "wait" returns as soon as a trapped signal arrives.
		{"exits on TERM", `trap "exit 42" TERM; echo ready; while :; do sleep 1 & wait; done`, time.Minute, 42},
		// Ignored: killed once the timeout has passed.
		{"ignores TERM", `trap "" TERM; echo ready; while :; do sleep 1; done`, time.Second, 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startDetached(t, r, CreateOptions{Cmd: []string{"/bin/sh", "-c", tt.cmd}})
			waitLog(t, r, c.Config.ID, "ready\n")
			if err := r.Stop(ctx, c.Config.ID, tt.timeout); err != nil {
				t.Fatal(err)
			}
			checkGone(t, r, c.Config.ID, tt.code)
		})
	}
}

// waitLog waits until a container's log holds want (its trap is set).
func waitLog(t *testing.T, r *Runtime, id, want string) {
	t.Helper()
	for {
		var b bytes.Buffer
		if err := r.Logs(context.Background(), id, LogsOptions{Tail: -1, Stdout: &b}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKillNine(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	ctx := context.Background()
	t.Run("container process", func(t *testing.T) {
		c := startDetached(t, r, CreateOptions{Cmd: []string{"sleep", "1000"}})
		procs, err := r.Top(ctx, c.Config.ID)
		if err != nil {
			t.Fatal(err)
		}
		var main int
		for _, p := range procs {
			if len(p.Args) > 0 && p.Args[0] == "sleep" {
				main = p.PID
			}
		}
		if main == 0 {
			t.Fatalf("top: no sleep in %+v", procs)
		}
		syscall.Kill(main, syscall.SIGKILL)
		if code, err := r.Wait(ctx, c.Config.ID); err != nil || code != 137 {
			t.Errorf("wait: got %d %v, want 137", code, err)
		}
		checkGone(t, r, c.Config.ID, 137)
	})
	t.Run("monitor", func(t *testing.T) {
		c := startDetached(t, r, CreateOptions{Cmd: []string{"sleep", "1000"}})
		syscall.Kill(c.State.MonitorPid, syscall.SIGKILL)
		if code, err := r.Wait(ctx, c.Config.ID); err != nil || code != 137 {
			t.Errorf("wait: got %d %v, want 137", code, err)
		}
		checkGone(t, r, c.Config.ID, 137)
		// The container's init died with its monitor (parent-death
		// signal): wait for the kernel to finish it, then check.
		waitPidGone(t, c.State.Pid)
	})
}

// waitPidGone waits until pid no longer exists (it was SIGKILLed).
func waitPidGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; ; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || bytes.Contains(b, []byte(") Z ")) {
			return
		}
		if i == 1000 {
			t.Fatalf("pid %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ptyHarness runs a tty container and lets a test type and read.
type ptyHarness struct {
	in   *io.PipeWriter
	out  *bufio.Reader
	done func() string // the attachment's result, once it has ended
}

func (h *ptyHarness) expect(t *testing.T, s string) {
	t.Helper()
	var seen []byte
	for !bytes.Contains(seen, []byte(s)) {
		b, err := h.out.ReadByte()
		if err != nil {
			t.Fatalf("read terminal: %v (seen %q, want %q); attach ended with %s", err, seen, s, h.done())
		}
		seen = append(seen, b)
	}
}

func TestTTY(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	ctx := context.Background()
	c, err := r.Create(ctx, CreateOptions{RootfsDir: busyboxRoot, Tty: true, OpenStdin: true, Cmd: []string{"/bin/sh"}})
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	type result struct {
		code     int
		detached bool
		err      error
	}
	done := make(chan result, 1)
	h := &ptyHarness{in: inW, out: bufio.NewReader(outR), done: func() string { res := <-done; return fmt.Sprintf("%d %v %v", res.code, res.detached, res.err) }}
	go func() {
		code, detached, err := r.Run(ctx, c.Config.ID, AttachOptions{Stdin: inR, Stdout: outW})
		outW.Close()
		done <- result{code, detached, err}
	}()
	go io.WriteString(inW, "tty >/dev/null && echo is-a-tty; echo $TERM; echo $((6*7))\r")
	h.expect(t, "is-a-tty\r\n")
	h.expect(t, "xterm\r\n")
	h.expect(t, "42\r\n")

	if err := r.Resize(ctx, c.Config.ID, 33, 101); err != nil {
		t.Fatal(err)
	}
	go io.WriteString(inW, "stty size\r")
	h.expect(t, "33 101\r\n")

	// Detach with ctrl-p ctrl-q; the container keeps running.
	go io.WriteString(inW, "\x10\x11")
	go io.Copy(io.Discard, outR)
	res := <-done
	if res.err != nil || !res.detached {
		t.Fatalf("detach: got %+v, want detached", res)
	}
	if c, _ := r.Inspect(ctx, c.Config.ID); c.State.Status != Running {
		t.Fatalf("after detach: got %s, want running", c.State.Status)
	}

	// Attach again and leave with an exit code.
	inR2, inW2 := io.Pipe()
	outR2, outW2 := io.Pipe()
	h2 := &ptyHarness{in: inW2, out: bufio.NewReader(outR2), done: func() string { res := <-done; return fmt.Sprintf("%d %v %v", res.code, res.detached, res.err) }}
	go func() {
		code, detached, err := r.Attach(ctx, c.Config.ID, AttachOptions{Stdin: inR2, Stdout: outW2})
		outW2.Close()
		done <- result{code, detached, err}
	}()
	go io.WriteString(inW2, "echo again\r")
	h2.expect(t, "again\r\n")
	go io.WriteString(inW2, "exit 4\r")
	go io.Copy(io.Discard, outR2)
	res = <-done
	if res.err != nil || res.detached || res.code != 4 {
		t.Fatalf("attach: got %+v, want exit 4", res)
	}
	checkGone(t, r, c.Config.ID, 4)
}

func TestParallel(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := r.Create(ctx, CreateOptions{RootfsDir: busyboxRoot, Hostname: fmt.Sprintf("p%d", i),
				Cmd: []string{"/bin/sh", "-c", "hostname; exit " + fmt.Sprint(i)}})
			if err != nil {
				errs[i] = err
				return
			}
			var out bytes.Buffer
			code, _, err := r.Run(ctx, c.Config.ID, AttachOptions{Stdout: &out})
			if err == nil && (code != i || out.String() != fmt.Sprintf("p%d\n", i)) {
				err = fmt.Errorf("got %d %q, want %d p%d", code, out.String(), i, i)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("container %d: %v", i, err)
		}
	}
	cs, err := r.List(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range cs {
		names[c.Config.Name] = true
		checkGone(t, r, c.Config.ID, c.State.ExitCode)
	}
	if len(cs) != n || len(names) != n {
		t.Errorf("got %d containers with %d names, want %d each", len(cs), len(names), n)
	}
}

func TestLogs(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	ctx := context.Background()
	ran := func(cmd string) string {
		c, err := r.Create(ctx, CreateOptions{RootfsDir: busyboxRoot, Cmd: []string{"/bin/sh", "-c", cmd}})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx, c.Config.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Wait(ctx, c.Config.ID); err != nil {
			t.Fatal(err)
		}
		return c.Config.ID
	}
	// Lines of one stream keep their order; between streams the log's
	// order is the monitor's reading order, so tails use one stream.
	both := ran("echo a; echo b >&2; echo c")
	var o, e bytes.Buffer
	if err := r.Logs(ctx, both, LogsOptions{Tail: -1, Stdout: &o, Stderr: &e}); err != nil {
		t.Fatal(err)
	}
	if o.String() != "a\nc\n" || e.String() != "b\n" {
		t.Errorf("streams: got %q %q, want %q %q", o.String(), e.String(), "a\nc\n", "b\n")
	}
	one := ran("echo a; echo b; echo c")
	for _, tt := range []struct {
		tail int
		want string
	}{{-1, "a\nb\nc\n"}, {1, "c\n"}, {2, "b\nc\n"}, {5, "a\nb\nc\n"}, {0, ""}} {
		var o bytes.Buffer
		if err := r.Logs(ctx, one, LogsOptions{Tail: tt.tail, Stdout: &o}); err != nil {
			t.Fatal(err)
		}
		if o.String() != tt.want {
			t.Errorf("tail %d: got %q, want %q", tt.tail, o.String(), tt.want)
		}
	}
	o.Reset()
	if err := r.Logs(ctx, one, LogsOptions{Tail: -1, Follow: true, Timestamps: true, Stdout: &o}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(o.String()), "\n"); len(lines) != 3 || !strings.HasSuffix(lines[0], "Z a") {
		t.Errorf("timestamps: got %q", o.String())
	}
}
