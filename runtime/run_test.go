package runtime

import (
	"errors"
	"strings"
	"testing"
)

func TestRunOutputAndExitCode(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	out, code, err := run(t, r, CreateOptions{Cmd: []string{"/bin/sh", "-c", "echo hi; echo err >&2; exit 3"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Errorf("exit code: got %d, want 3", code)
	}
	if !strings.Contains(out, "hi\n") || !strings.Contains(out, "err\n") {
		t.Errorf("output: got %q, want hi and err", out)
	}
}

// TestSandbox checks what a command sees inside the container.
func TestSandbox(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	sh := func(s string) []string { return []string{"/bin/sh", "-c", s} }
	tests := []struct {
		name string
		opts CreateOptions
		want []string // substrings of the output, in order
	}{
		{"hostname", CreateOptions{Hostname: "box1", Cmd: sh("hostname; cat /etc/hostname")},
			[]string{"box1\n", "box1\n"}},
		{"pid namespace", CreateOptions{Cmd: sh("test -d /proc/1 && echo has1; ls /proc | grep -c '^[0-9]*$'; readlink /proc/self")},
			[]string{"has1\n"}},
		{"capabilities root", CreateOptions{Cmd: sh("grep -E '^Cap(Eff|Prm|Bnd|Inh|Amb)' /proc/self/status")},
			[]string{"CapInh:\t0000000000000000", "CapPrm:\t00000000a80425fb", "CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb", "CapAmb:\t0000000000000000"}},
		{"capabilities nobody", CreateOptions{User: "nobody", Cmd: sh("grep -E '^Cap(Eff|Bnd)' /proc/self/status")},
			[]string{"CapEff:\t0000000000000000", "CapBnd:\t00000000a80425fb"}},
		{"no_new_privs", CreateOptions{Cmd: sh("grep NoNewPrivs /proc/self/status")},
			[]string{"NoNewPrivs:\t1"}},
		// Paths this kernel lacks (kcore, sched_debug) are skipped by
		// the runtime; the ones present must be empty.
		{"masked paths", CreateOptions{Cmd: sh("wc -c < /proc/keys; wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; grep -c -e ' /proc/keys ' -e ' /sys/firmware ' /proc/mounts")},
			[]string{"0\n", "0\n", "0\n", "2\n"}},
		{"read-only sys and proc/sys", CreateOptions{Cmd: sh("touch /sys/x 2>/dev/null || echo sys-ro; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo procsys-ro; echo > /proc/sysrq-trigger 2>/dev/null || echo sysrq-ro")},
			[]string{"sys-ro\n", "procsys-ro\n", "sysrq-ro\n"}},
		{"user nobody", CreateOptions{User: "nobody", Cmd: []string{"id"}},
			[]string{"uid=65534(nobody) gid=65534(nobody)"}},
		{"user uid:gid", CreateOptions{User: "1000:1001", Cmd: sh("id -u; id -g; echo $HOME")},
			[]string{"1000\n", "1001\n", "/\n"}},
		{"env and workdir", CreateOptions{Env: []string{"FOO=bar"}, WorkingDir: "/tmp/work/dir", Hostname: "h2",
			Cmd: sh("pwd; echo $FOO $HOSTNAME $HOME; echo $PATH")},
			[]string{"/tmp/work/dir\n", "bar h2 /root\n", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"}},
		{"devices", CreateOptions{Cmd: sh("ls /dev; echo x > /dev/null && head -c 4 /dev/zero | wc -c; readlink /dev/ptmx; grep devpts /proc/mounts")},
			[]string{"full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero", "4\n", "pts/ptmx\n", "ptmxmode=666"}},
		{"network none", CreateOptions{Cmd: sh("ls /sys/class/net")},
			[]string{"lo\n"}},
		{"etc files", CreateOptions{Hostname: "h3", Cmd: sh("grep -c localhost /etc/hosts; grep ' /etc/hostname ' /proc/mounts | wc -l")},
			[]string{"2\n", "1\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code, err := run(t, r, tt.opts, "")
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if code != 0 {
				t.Errorf("exit code: got %d, want 0 (output %q)", code, out)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output: got %q, want %q (in order)", out, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	tests := []struct {
		name     string
		cmd      []string
		code     int
		contains string
	}{
		{"not found on PATH", []string{"nosuchcommand"}, 127, `exec: "nosuchcommand": executable file not found in $PATH`},
		{"no such path", []string{"/nosuch"}, 127, "no such file or directory"},
		{"not executable", []string{"/etc/noexec"}, 126, "permission denied"},
		{"directory", []string{"/etc"}, 126, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, r, CreateOptions{Cmd: tt.cmd}, "")
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("got error %v, want a *StartError", err)
			}
			if se.Code != tt.code || !strings.Contains(se.Msg, tt.contains) {
				t.Errorf("got %d %q, want %d containing %q", se.Code, se.Msg, tt.code, tt.contains)
			}
		})
	}
}

func TestStdin(t *testing.T) {
	needRoot(t)
	r := newRuntime(t)
	out, code, err := run(t, r, CreateOptions{OpenStdin: true, Cmd: []string{"/bin/sh", "-c", "tr a-z A-Z; exit 5"}}, "hello\n")
	if err != nil {
		t.Fatal(err)
	}
	if out != "HELLO\n" || code != 5 {
		t.Errorf("got %q, %d; want %q, 5", out, code, "HELLO\n")
	}
}
