package build

import (
	"errors"
	"reflect"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	tests := []struct {
		name    string
		start   ocispec.ImageConfig
		changes []string
		want    ocispec.ImageConfig
	}{
		{"cmd exec form", ocispec.ImageConfig{}, []string{`CMD ["sh", "-c", "echo hi"]`},
			ocispec.ImageConfig{Cmd: []string{"sh", "-c", "echo hi"}}},
		{"cmd shell form", ocispec.ImageConfig{}, []string{`CMD echo hi`},
			ocispec.ImageConfig{Cmd: []string{"/bin/sh", "-c", "echo hi"}}},
		{"entrypoint", ocispec.ImageConfig{}, []string{`ENTRYPOINT ["/bin/busybox"]`},
			ocispec.ImageConfig{Entrypoint: []string{"/bin/busybox"}}},
		{"env replaces and expands", ocispec.ImageConfig{Env: []string{"A=1", "B=2"}}, []string{`ENV A=x$B C=3`},
			ocispec.ImageConfig{Env: []string{"A=x2", "B=2", "C=3"}}},
		{"expose", ocispec.ImageConfig{}, []string{`EXPOSE 80 53/udp`},
			ocispec.ImageConfig{ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}}}},
		{"label user volume stopsignal", ocispec.ImageConfig{}, []string{`LABEL a=b`, `USER nobody`, `VOLUME /data`, `STOPSIGNAL SIGINT`},
			ocispec.ImageConfig{Labels: map[string]string{"a": "b"}, User: "nobody", Volumes: map[string]struct{}{"/data": {}}, StopSignal: "SIGINT"}},
		{"relative workdir", ocispec.ImageConfig{WorkingDir: "/srv"}, []string{`WORKDIR app`, `WORKDIR ../x`},
			ocispec.ImageConfig{WorkingDir: "/srv/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.start
			if err := ApplyChanges(&cfg, tt.changes); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, tt.want) {
				t.Errorf("got %+v, want %+v", cfg, tt.want)
			}
		})
	}
}

func TestApplyChangesRejects(t *testing.T) {
	for _, ch := range []string{`RUN echo hi`, `COPY a b`, `FROM scratch`, `BOGUS x`, "CMD a\nCMD b", ``,
		`EXPOSE http`, `EXPOSE 80/xyz`, `EXPOSE 0`, `EXPOSE 70000`, `ENV`, `LABEL a="b`} {
		t.Run(ch, func(t *testing.T) {
			cfg := ocispec.ImageConfig{}
			err := ApplyChanges(&cfg, []string{ch})
			if !errors.Is(err, ErrInvalidChange) {
				t.Fatalf("got %v, want ErrInvalidChange", err)
			}
		})
	}
}

// FuzzApplyChanges feeds arbitrary --change text to the parser: it must
// return an error or a config, never panic.
func FuzzApplyChanges(f *testing.F) {
	for _, s := range []string{`CMD ["sh"]`, `ENV A=1 B="two words"`, `EXPOSE 80 53/udp 1000-2000`, `LABEL "k"="v"`,
		`WORKDIR /a/../b`, `ENTRYPOINT echo $HOME`, `ONBUILD RUN make`, `VOLUME ["/data", "/logs"]`, "CMD \\\n sh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, change string) {
		var cfg ocispec.ImageConfig
		ApplyChanges(&cfg, []string{change})
	})
}
