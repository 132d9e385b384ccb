package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptySession is the strata command run on a real terminal: what it
// writes, and the terminal's mode before it ran.
type ptySession struct {
	t      *testing.T
	cmd    *exec.Cmd
	ptmx   *os.File // our end
	tty    *os.File // the command's stdin, stdout and stderr
	before *unix.Termios

	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{} // the reader has seen the end
}

// startPTY runs this test binary as "strata args..." on a new pseudo
// terminal of 30 rows and 100 columns.
func startPTY(t *testing.T, root string, args ...string) *ptySession {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asStrataEnv+"=1", "STRATA_ROOT="+root)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &ptySession{t: t, cmd: cmd, ptmx: ptmx, tty: tty, before: before, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// expect waits until the output holds want, after what an earlier expect
// consumed.
func (s *ptySession) expect(want string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		i := strings.Index(s.out.String(), want)
		if i >= 0 {
			s.out.Next(i + len(want))
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t.Fatalf("got output %q, want it to contain %q", s.out.String(), want)
}

func (s *ptySession) send(keys string) {
	s.t.Helper()
	if _, err := io.WriteString(s.ptmx, keys); err != nil {
		s.t.Fatal(err)
	}
}

// wait waits for the command to end, returns its exit status and checks
// that it left the terminal in the mode it found it in.
func (s *ptySession) wait() int {
	s.t.Helper()
	err := s.cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	after, err := unix.IoctlGetTermios(int(s.tty.Fd()), unix.TCGETS)
	if err != nil {
		s.t.Fatal(err)
	}
	if after.Lflag != s.before.Lflag || after.Iflag != s.before.Iflag || after.Oflag != s.before.Oflag {
		s.t.Errorf("terminal mode not restored: got lflag %#x iflag %#x oflag %#x, want %#x %#x %#x",
			after.Lflag, after.Iflag, after.Oflag, s.before.Lflag, s.before.Iflag, s.before.Oflag)
	}
	return code
}

// ptyStore makes a store with the busybox image, and removes its
// containers when the test ends.
func ptyStore(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: containers run as root here")
	}
	tarball := busyboxTar(t)
	if tarball == "" {
		t.Skip("needs Debian's busybox-static")
	}
	root := filepath.Join(t.TempDir(), "store")
	t.Cleanup(func() { removeContainers(t, root) })
	cmd := exec.Command(os.Args[0], "import", "-c", `CMD ["sh"]`, tarball, "busybox")
	cmd.Env = append(os.Environ(), asStrataEnv+"=1", "STRATA_ROOT="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	return root
}

func TestRunInteractiveTerminal(t *testing.T) {
	root := ptyStore(t)
	s := startPTY(t, root, "run", "-it", "--rm", "busybox", "sh")
	s.expect("# ")
	// While attached, the local terminal is raw: no echo, no line
	// editing, every key goes to the container.
	if tio, err := unix.IoctlGetTermios(int(s.tty.Fd()), unix.TCGETS); err != nil {
		t.Fatal(err)
	} else if tio.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG) != 0 {
		t.Errorf("got lflag %#x while attached, want ECHO, ICANON and ISIG off", tio.Lflag)
	}
	s.send("echo $((6*7))\r")
	s.expect("42")
	// The container's terminal has ours's size, and TERM says what it is.
	s.send("stty size; echo $TERM\r")
	s.expect("30 100")
	s.expect("xterm")
	s.send("exit 3\r")
	if code := s.wait(); code != 3 {
		t.Errorf("got exit status %d, want 3", code)
	}
}

func TestDetachAndAttach(t *testing.T) {
	root := ptyStore(t)
	s := startPTY(t, root, "run", "-it", "--name", "keeper", "busybox", "sh")
	s.expect("# ")
	s.send("echo before-$((1+1))\r")
	s.expect("before-2")
	s.send("\x10\x11") // Ctrl-p Ctrl-q
	if code := s.wait(); code != 0 {
		t.Fatalf("got exit status %d after detaching, want 0", code)
	}

	if got := runStrata(t, root, "ps", "--format", "{{.Names}} {{.State}}"); got != "keeper running\n" {
		t.Fatalf("after detaching, ps shows %q, want keeper running", got)
	}

	a := startPTY(t, root, "attach", "keeper")
	a.send("echo after-$((2+2))\r")
	a.expect("after-4")
	a.send("exit 4\r")
	if code := a.wait(); code != 4 {
		t.Errorf("got exit status %d from attach, want 4", code)
	}
	if got := runStrata(t, root, "ps", "-a", "--format", "{{.Names}} {{.State}} {{.Status}}"); !strings.HasPrefix(got, "keeper exited Exited (4)") {
		t.Errorf("after exit, ps shows %q, want keeper exited", got)
	}
}

// runStrata runs this binary as strata and returns its output.
func runStrata(t *testing.T, root string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asStrataEnv+"=1", "STRATA_ROOT="+root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("strata %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestExecTerminal checks that exec -it gives the command a terminal of
// the local one's size, and follows it when it changes.
func TestExecTerminal(t *testing.T) {
	root := ptyStore(t)
	runStrata(t, root, "run", "-d", "--name", "sizes", "busybox", "sleep", "600")
	t.Cleanup(func() { runStrata(t, root, "rm", "-f", "sizes") })
	s := startPTY(t, root, "exec", "-it", "sizes", "sh")
	s.expect("# ")
	s.send("stty size\r")
	s.expect("30 100")
	if err := pty.Setsize(s.ptmx, &pty.Winsize{Rows: 41, Cols: 123}); err != nil {
		t.Fatal(err)
	}
	// The shell's line editor redraws its prompt when told of the change
	// (busybox sh asks where the cursor is first); then stty sees it.
	s.expect("\x1b[6n")
	s.send("stty size\r")
	s.expect("41 123")
	s.send("exit 5\r")
	if code := s.wait(); code != 5 {
		t.Errorf("got exit status %d, want 5", code)
	}
}

// TestTerminalFromStart checks the terminal a command gets before any
// resize could reach it: the local terminal's size from its first
// instruction, and a pty of the container's own devpts, /dev/pts/0 (not
// the host's, nor /dev/console), for run and for exec alike.
func TestTerminalFromStart(t *testing.T) {
	root := ptyStore(t)
	s := startPTY(t, root, "run", "-it", "--rm", "busybox", "sh", "-c", "stty size; tty; ls /dev/pts")
	s.expect("30 100")
	s.expect("/dev/pts/0")
	s.expect("0")
	s.expect("ptmx")
	if code := s.wait(); code != 0 {
		t.Errorf("run: exit status %d", code)
	}
	runStrata(t, root, "run", "-d", "--name", "first", "busybox", "sleep", "600")
	t.Cleanup(func() { runStrata(t, root, "rm", "-f", "first") })
	e := startPTY(t, root, "exec", "-it", "first", "sh", "-c", "stty size; tty")
	e.expect("30 100")
	e.expect("/dev/pts/0")
	if code := e.wait(); code != 0 {
		t.Errorf("exec: exit status %d", code)
	}
}
