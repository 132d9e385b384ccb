#!/usr/bin/env bash
# make demo: makes a busybox image from Debian's busybox-static with strata
# itself (no other engine, no network) and walks through the image commands.
# It uses a store of its own under .demo/, made afresh on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
strata=${1:-bin/strata}
demo=$PWD/.demo
export STRATA_ROOT=$demo/root
rm -rf "$demo" && mkdir -p "$demo"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$'; printf ' %q' "$@"; printf '\n'; "$@"; }

step "A root filesystem around /bin/busybox (testdata/busybox)"
go run ./testdata/busybox -o "$demo/busybox.tar"
ls -l "$demo/busybox.tar"

step "Import it as an image"
show "$strata" import -m "busybox from Debian's busybox-static" -c 'CMD ["sh"]' "$demo/busybox.tar" busybox:latest
show "$strata" images
show "$strata" history busybox
show "$strata" image inspect --format '{{.Id}} {{.Os}}/{{.Architecture}} layers={{len .RootFS.Layers}} cmd={{json .Config.Cmd}}' busybox

step "Tags, save and load"
show "$strata" tag busybox demo/busybox:1.0
show "$strata" save -o "$demo/busybox-archive.tar" busybox:latest demo/busybox:1.0
show "$strata" rmi demo/busybox:1.0 busybox:latest
show "$strata" images
show "$strata" load -i "$demo/busybox-archive.tar"
show "$strata" images

step "The store is an OCI image layout"
if command -v skopeo >/dev/null; then
  show skopeo inspect --format '{{.Digest}} {{.Layers}}' "oci:$STRATA_ROOT:busybox:latest"
else
  echo "(skopeo is not installed; make deps installs it)"
fi

step "A second image: a different layer, but with the same busybox inside"
mkdir -p "$demo/extra/etc" && echo "Welcome to the demo" > "$demo/extra/etc/motd"
cp "$demo/busybox.tar" "$demo/busybox-motd.tar"
tar --append -f "$demo/busybox-motd.tar" -C "$demo/extra" --owner=0 --group=0 etc/motd
show "$strata" import -c 'CMD ["sh"]' "$demo/busybox-motd.tar" busybox:motd
show "$strata" images
echo "Two layers hold the same files; the object store keeps each content once:"
show "$strata" system df
echo "What layer-, file- and chunk-level deduplication would each store:"
show "$strata" dedup report --top 3 --chunk-size 16KiB

step "Containers: the image's root is a FUSE union mount with a private writable layer"
show "$strata" run --rm busybox sh -c 'echo "hello from $(hostname)"; grep -o " / / .* - fuse[.a-z]*" /proc/self/mountinfo'
id=$("$strata" run -d --name demo-web busybox sh -c 'echo started; while sleep 1; do :; done')
echo "started $id"
show "$strata" ps
show "$strata" exec demo-web sh -c 'echo "changed by exec" > /etc/motd; ls -l /etc/motd'
show "$strata" diff demo-web
show "$strata" inspect -f '{{.Name}} {{.State.Status}} pid={{.State.Pid}} image={{.Config.Image}}' demo-web
show "$strata" stop -t 1 demo-web
show "$strata" commit -m "motd added in a container" demo-web busybox:motd-commit
show "$strata" run --rm busybox:motd-commit cat /etc/motd
show "$strata" history busybox:motd-commit
show "$strata" ps -a
show "$strata" rm demo-web
show "$strata" ps -a

step "Build an image from a Dockerfile (testdata/demo): RUN in containers, COPY straight into layers"
show cat testdata/demo/Dockerfile
show "$strata" build -t demo/site:1 --build-arg TITLE="Hello from strata build" testdata/demo
show "$strata" run --rm demo/site:1
show "$strata" history demo/site:1
echo "Built again, unchanged: every step comes from the cache."
show "$strata" build -t demo/site:1 --build-arg TITLE="Hello from strata build" testdata/demo
show "$strata" builder prune -f

step "Push to a registry and pull into another store (Debian's docker-registry on loopback)"
if [ -x /usr/bin/docker-registry ]; then
  # A free loopback port: one nothing answers on (bash's /dev/tcp, no other tool).
  port=$(shuf -i 20000-60000 -n 1)
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$(shuf -i 20000-60000 -n 1); done
  mkdir -p "$demo/registry"
  printf 'version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "127.0.0.1:%s"}\n' \
    "$demo/registry/data" "$port" > "$demo/registry/config.yml"
  REGISTRY_REPORTING_BUGSNAG_APIKEY= /usr/bin/docker-registry serve "$demo/registry/config.yml" >"$demo/registry/log" 2>&1 &
  registry_pid=$!
  trap 'kill $registry_pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  show "$strata" tag demo/site:1 "127.0.0.1:$port/demo/site:1"
  show "$strata" push "127.0.0.1:$port/demo/site:1"
  show "$strata" search "127.0.0.1:$port/demo"
  echo "A second store pulls it back, with the same image id (the registry's config digest):"
  show env STRATA_ROOT="$demo/second" "$strata" pull "127.0.0.1:$port/demo/site:1"
  show env STRATA_ROOT="$demo/second" "$strata" images --no-trunc
  show "$strata" images --no-trunc demo/site
else
  echo "(docker-registry is not installed; make deps installs it)"
fi

printf '\nThe demo store is %s; remove it with: rm -rf %s\n' "$STRATA_ROOT" "$demo"
