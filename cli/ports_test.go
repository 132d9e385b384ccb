package cli

import (
	"testing"

	"github.com/strata-engine/strata/runtime/spec"
)

func TestParsePublish(t *testing.T) {
	tests := []struct {
		in   string
		want spec.PortBinding
		err  string
	}{
		{in: "80", want: spec.PortBinding{ContainerPort: 80, Proto: "tcp"}},
		{in: "8080:80", want: spec.PortBinding{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
		{in: "127.0.0.1:8080:80/udp", want: spec.PortBinding{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "udp"}},
		{in: "127.0.0.1::80", want: spec.PortBinding{HostIP: "127.0.0.1", ContainerPort: 80, Proto: "tcp"}},
		{in: "80/sctp", err: "invalid proto: sctp"},
		{in: "0", err: "invalid containerPort: 0"},
		{in: "70000:80", err: "invalid hostPort: 70000"},
		{in: "host:80:80", err: "invalid IP address: host"},
		{in: "8000-8010:80", err: "invalid port format for --publish: 8000-8010:80: port ranges are not supported"},
		{in: "1:2:3:4", err: "invalid port format for --publish: 1:2:3:4"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parsePublish(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got %v, want error %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func TestPortsColumn(t *testing.T) {
	got := portsColumn([]spec.PortBinding{
		{HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Proto: "udp"},
	}, []string{"53/udp", "80/tcp", "443/tcp"})
	if want := "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp, 443/tcp"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestResources(t *testing.T) {
	tests := []struct {
		name string
		o    resourceOptions
		want *spec.Resources
		err  string
	}{
		{name: "none", want: nil},
		{name: "memory doubles as swap", o: resourceOptions{memory: "64m"}, want: &spec.Resources{Memory: 64 << 20, MemorySwap: 128 << 20}},
		{name: "unlimited swap", o: resourceOptions{memory: "64m", memorySwap: "-1"}, want: &spec.Resources{Memory: 64 << 20, MemorySwap: -1}},
		{name: "cpus", o: resourceOptions{cpus: "0.5", cpuShares: 512}, want: &spec.Resources{NanoCPUs: 5e8, CPUShares: 512}},
		{name: "pids -1 is unlimited", o: resourceOptions{pidsLimit: -1}, want: nil},
		{name: "ulimit", o: resourceOptions{ulimits: []string{"nofile=10:20"}}, want: &spec.Resources{Ulimits: []spec.Ulimit{{Name: "nofile", Soft: 10, Hard: 20}}}},
		{name: "tiny memory", o: resourceOptions{memory: "1m"}, err: "Minimum memory limit allowed is 6MB"},
		{name: "swap alone", o: resourceOptions{memorySwap: "1g"}, err: "You should always set the Memory limit when using Memoryswap limit, see usage"},
		{name: "swap below memory", o: resourceOptions{memory: "1g", memorySwap: "512m"}, err: "Minimum memoryswap limit should be larger than memory limit, see usage"},
		{name: "bad size", o: resourceOptions{memory: "lots"}, err: `invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'`},
		{name: "bad cpus", o: resourceOptions{cpus: "x"}, err: `invalid argument "x" for "--cpus" flag: failed to parse x as a rational number`},
		{name: "negative shares", o: resourceOptions{cpuShares: -1}, err: "invalid CPU shares (-1): must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.o.resources()
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got %v, want error %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || got != nil && (got.Memory != tt.want.Memory || got.MemorySwap != tt.want.MemorySwap ||
				got.NanoCPUs != tt.want.NanoCPUs || got.CPUShares != tt.want.CPUShares || got.PidsLimit != tt.want.PidsLimit || len(got.Ulimits) != len(tt.want.Ulimits)) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
