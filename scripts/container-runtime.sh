#!/usr/bin/env bash
# A container runtime for refsim's container tests (testcontainers and the compose cluster).
#
#   scripts/container-runtime.sh up       # make `docker` and `docker compose` answer
#   eval "$(scripts/container-runtime.sh env)"   # the variables the tests and `docker` need
#   scripts/container-runtime.sh status   # what runs, who started it, which images exist
#   scripts/container-runtime.sh images   # build the local images that are missing (see below)
#   scripts/container-runtime.sh down     # stop what `up` started (by PID), remove what it made
#
# Where Docker already answers (a laptop, a CI runner with Docker) `up` starts nothing, builds
# nothing and `env` prints nothing: the tests use that Docker and the registry's real images.
#
# Otherwise `up` installs Debian's docker.io if dockerd is missing, and starts a private dockerd
# in the background (its own socket, data and state under $REFSIM_RUNTIME_DIR, default
# ${TMPDIR:-/tmp}/refsim-container-runtime) with the flags that work on a VM without bridge
# networking: no iptables, no bridge, so containers use host networking only and listen on
# 127.0.0.1 on ports of their own. It installs the compose v2 plugin when `docker compose
# version` fails: Debian 13's docker-compose package (a static binary), fetched with
# `apt-get download` from the Debian mirror this machine's apt sources already name, through a
# private apt configuration (the system's sources, lists and cache are untouched; signatures
# are checked with the system's Debian keyring), unpacked with `dpkg -x`. Then, for each image
# the project's files name (redis:7, nats:2.10-alpine, node:20-bookworm-slim) that is missing
# and cannot be pulled, it builds a local stand-in with `docker import` of a small root
# filesystem: the host's own binary and the libraries `ldd` lists for it, tagged with that
# name, so the Dockerfile and docker-compose.yml build and run unchanged.
#
# `down` stops the dockerd it started (SIGTERM, then SIGKILL after 30 s; its containers go with
# it) and removes its folder (images, containers, volumes, socket, log). Installed packages
# (docker.io, the compose plugin) stay installed, like any other package CI installs.
set -euo pipefail

RUNTIME_DIR="${REFSIM_RUNTIME_DIR:-${TMPDIR:-/tmp}/refsim-container-runtime}"
SOCKET="$RUNTIME_DIR/docker.sock"
PIDFILE="$RUNTIME_DIR/dockerd.pid"
LOG="$RUNTIME_DIR/dockerd.log"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

# The images the project's files use (Dockerfile FROM, docker-compose.yml, test/support/services.ts).
IMAGES=(redis:7 nats:2.10-alpine node:20-bookworm-slim)

say() { printf '[runtime] %s\n' "$*"; }
die() { printf '[runtime] ERROR: %s\n' "$*" >&2; exit 1; }

# --- the engine ---------------------------------------------------------------------------

ours_running() {
  [ -s "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  # The PID is ours only while it is still a dockerd (a PID can be reused).
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]
}

# A Docker that answers without us: the caller's DOCKER_HOST, or the default socket.
found_docker() {
  command -v docker >/dev/null 2>&1 || return 1
  [ "${DOCKER_HOST:-}" = "unix://$SOCKET" ] && return 1
  timeout 10 docker info >/dev/null 2>&1
}

ours() { DOCKER_HOST="unix://$SOCKET" "$@"; }

apt_install() {
  [ "$(id -u)" -eq 0 ] || die "installing $* needs root (apt-get); install it, or run as root"
  say "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >"$RUNTIME_DIR/apt.log" 2>&1 \
    || { apt-get update >>"$RUNTIME_DIR/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$RUNTIME_DIR/apt.log" 2>&1; } \
    || { tail -n 20 "$RUNTIME_DIR/apt.log" >&2; die "apt-get install $* failed (log above)"; }
}

start_engine() {
  mkdir -p "$RUNTIME_DIR"
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  command -v docker >/dev/null 2>&1 || die "dockerd is installed but the docker client is not"
  [ "$(id -u)" -eq 0 ] || die "starting dockerd needs root"
  say "starting a private dockerd ($(dockerd --version))"
  # setsid: the engine is not in the caller's process group, so a Ctrl-C there does not kill
  # it half-way; `down` stops it by its PID.
  setsid dockerd \
    --host "unix://$SOCKET" --data-root "$RUNTIME_DIR/data" --exec-root "$RUNTIME_DIR/exec" \
    --pidfile "$PIDFILE" \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
    --storage-driver=overlay2 </dev/null >"$LOG" 2>&1 &
  local pid=$!
  local deadline=$((SECONDS + 60))
  until ours timeout 5 docker info >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$LOG" >&2
      die "dockerd exited at start (log above)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill "$pid" 2>/dev/null || true
      tail -n 20 "$LOG" >&2
      die "dockerd did not answer within 60 s (log above)"
    fi
    sleep 0.2
  done
  echo "$pid" >"$PIDFILE"
  say "dockerd $(ours docker version --format '{{.Server.Version}}') answers on $SOCKET (pid $pid)"
}

# --- compose v2 ---------------------------------------------------------------------------

# The Debian mirror the machine's apt sources name for its own release's main component.
debian_mirror() {
  local codename
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  apt-cache policy 2>/dev/null | awk -v s="$codename/main" '$3 == s && $2 ~ /^https?:\/\// { print $2; exit }'
}

install_compose() {
  [ "$(id -u)" -eq 0 ] || die "installing the compose plugin needs root"
  command -v apt-get >/dev/null 2>&1 || die "docker compose is missing and there is no apt-get to fetch it"
  local mirror
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || die "docker compose is missing and no Debian mirror was found in the apt sources"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || die "docker compose is missing and $keyring (to check Debian 13's signatures) is not there"
  say "installing the compose v2 plugin from Debian 13's docker-compose package ($mirror)"
  local apt
  apt="$(mktemp -d "$RUNTIME_DIR/apt.XXXXXX")"
  chmod 755 "$apt"   # apt's download sandbox user must be able to write here
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/deb"
  echo "deb [signed-by=$keyring] $mirror trixie main" >"$apt/sources.list"
  local options=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Acquire::Languages=none")
  apt-get "${options[@]}" update >"$apt/log" 2>&1 || { tail -n 20 "$apt/log" >&2; die "apt-get update (Debian 13 lists) failed"; }
  (cd "$apt/deb" && apt-get "${options[@]}" download docker-compose >>"$apt/log" 2>&1) \
    || { tail -n 20 "$apt/log" >&2; die "apt-get download docker-compose failed"; }
  dpkg -x "$apt"/deb/docker-compose_*.deb "$apt/root"
  install -D -m 755 "$apt/root/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
  rm -rf "$apt"
  docker compose version >/dev/null 2>&1 || die "the compose plugin was installed in $PLUGIN_DIR but \`docker compose version\` still fails"
}

# --- local images -------------------------------------------------------------------------

# Copies a host file into the root filesystem (at DEST, default the same path), with every
# library `ldd` lists for it.
add_binary() {
  local root=$1 src=$2 dest=${3:-$2}
  install -D -m 755 "$(readlink -f "$src")" "$root$dest"
  local lib
  for lib in $(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -e "$root$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$root$lib"
  done
}

# The files every image needs: users (root, and node as uid 1000 like the official images),
# name lookup order, a world-writable /tmp.
base_root() {
  local root=$1
  mkdir -p "$root/etc" "$root/tmp" "$root/root" "$root/home/node"
  chmod 1777 "$root/tmp"
  chown 1000:1000 "$root/home/node"
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
}

need_host_file() {
  [ -e "$1" ] || die "cannot build the local image $2: $1 is missing (apt-get install $3)"
}

build_redis() {
  local root=$1
  need_host_file /usr/bin/redis-server redis:7 redis-server
  need_host_file /usr/bin/redis-cli redis:7 redis-tools
  # /usr/bin/redis-server is a link to redis-check-rdb, which picks its mode from its own
  # name: the copy must be called redis-server.
  add_binary "$root" /usr/bin/redis-server /usr/local/bin/redis-server
  add_binary "$root" /usr/bin/redis-cli /usr/local/bin/redis-cli
  mkdir -p "$root/data"
  IMPORT_CHANGES=("WORKDIR /data" 'CMD ["redis-server"]')
  IMPORT_NOTE="redis-server $(/usr/bin/redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
}

build_nats() {
  local root=$1
  need_host_file /usr/sbin/nats-server nats:2.10-alpine nats-server
  add_binary "$root" /usr/sbin/nats-server /usr/local/bin/nats-server
  # docker-compose.yml's health check asks the monitoring port with wget.
  add_binary "$root" "$(command -v wget)" /usr/bin/wget
  IMPORT_CHANGES=('CMD ["nats-server"]')
  IMPORT_NOTE="nats-server $(/usr/sbin/nats-server --version | awk '{ print $2 }')"
}

build_node() {
  local root=$1 npm_dir
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npm_dir/package.json" ] || die "cannot build node:20-bookworm-slim: npm's folder was not found"
  add_binary "$root" "$(command -v node)" /usr/local/bin/node
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # RUN lines and npm's install scripts need a shell; npm's launcher needs env; the Dockerfile's
  # RUN uses mkdir and chown.
  add_binary "$root" /bin/sh /bin/sh
  local tool
  for tool in env mkdir chown rm ls cat; do add_binary "$root" "$(command -v "$tool")" "/usr/bin/$tool"; done
  IMPORT_CHANGES=('CMD ["node"]')
  # `npm ci` in a build must trust what the host trusts (the registry may be reached through a
  # proxy whose CA is only in the host's store): the image carries the host's CA bundle.
  local bundle=/etc/ssl/certs/ca-certificates.crt
  if [ -r "$bundle" ]; then
    install -D -m 644 "$bundle" "$root$bundle"
    IMPORT_CHANGES+=("ENV NODE_EXTRA_CA_CERTS=$bundle")
  fi
  IMPORT_NOTE="node $(node --version), npm $(npm --version)"
}

# Builds IMAGE with `docker import` from the host's binaries.
build_local_image() {
  local image=$1 root
  root="$(mktemp -d "$RUNTIME_DIR/root.XXXXXX")"
  chmod 755 "$root"
  base_root "$root"
  IMPORT_CHANGES=()
  IMPORT_NOTE=""
  case "$image" in
    redis:*) build_redis "$root" ;;
    nats:*) build_nats "$root" ;;
    node:*) build_node "$root" ;;
    *) die "no recipe for a local $image" ;;
  esac
  local changes=(--change "ENV PATH=/usr/local/bin:/usr/bin:/bin"
    --change "LABEL org.refsim.local-image=\"built from this host's $IMPORT_NOTE\"")
  local change
  for change in "${IMPORT_CHANGES[@]}"; do changes+=(--change "$change"); done
  tar -C "$root" --numeric-owner -cf - . | docker import "${changes[@]}" - "$image" >/dev/null
  rm -rf "$root"
  say "built local $image ($IMPORT_NOTE, $(docker image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

# For each image the project uses: keep it if present, else pull it, else build it locally.
ensure_images() {
  mkdir -p "$RUNTIME_DIR"
  local image
  for image in "${IMAGES[@]}"; do
    if docker image inspect "$image" >/dev/null 2>&1; then
      say "image $image is present"
    elif timeout 60 docker pull -q "$image" >/dev/null 2>&1; then
      say "pulled $image"
    else
      build_local_image "$image"
    fi
  done
}

# --- subcommands --------------------------------------------------------------------------

cmd_up() {
  local start=$SECONDS
  if ours_running && ours timeout 10 docker info >/dev/null 2>&1; then
    say "the private dockerd started earlier answers on $SOCKET (pid $(cat "$PIDFILE"))"
  elif found_docker; then
    say "Docker $(docker version --format '{{.Server.Version}}') already answers (${DOCKER_HOST:-default socket}): nothing to start"
    docker compose version >/dev/null 2>&1 || install_compose
    say "$(docker compose version)"
    return 0
  else
    start_engine
  fi
  export DOCKER_HOST="unix://$SOCKET"
  docker compose version >/dev/null 2>&1 || install_compose
  say "$(docker compose version)"
  ensure_images
  say "ready in $((SECONDS - start)) s; use it with: eval \"\$(scripts/container-runtime.sh env)\""
}

cmd_env() {
  # Only for the engine this script started: a Docker found elsewhere needs nothing.
  ours_running || return 0
  cat <<EOF
export DOCKER_HOST=unix://$SOCKET
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
export REFSIM_CONTAINER_NETWORK=host
EOF
}

cmd_status() {
  if ours_running; then
    say "engine: private dockerd, started by this script, pid $(cat "$PIDFILE"), socket $SOCKET"
    export DOCKER_HOST="unix://$SOCKET"
  elif found_docker; then
    say "engine: Docker $(docker version --format '{{.Server.Version}}') (${DOCKER_HOST:-default socket}), not started by this script"
  else
    say "engine: none answers"
    return 1
  fi
  say "compose: $(docker compose version 2>/dev/null || echo missing)"
  local image
  for image in "${IMAGES[@]}"; do
    say "image $image: $(docker image inspect --format '{{index .Config.Labels "org.refsim.local-image"}}' "$image" 2>/dev/null | sed 's/^$/from a registry/' || echo missing)"
  done
  say "containers running: $(docker ps -q | wc -l)"
}

cmd_images() {
  if ours_running; then export DOCKER_HOST="unix://$SOCKET"; fi
  timeout 10 docker info >/dev/null 2>&1 || die "no Docker answers: run \`$0 up\` first"
  ensure_images
}

cmd_down() {
  if [ ! -e "$RUNTIME_DIR" ]; then
    say "nothing to stop (this script started no engine)"
    return 0
  fi
  if ours_running; then
    local pid
    pid="$(cat "$PIDFILE")"
    say "stopping the private dockerd (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "dockerd (pid $pid) did not stop within 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "dockerd stopped in $((SECONDS - deadline + 30)) s"
  fi
  # Mounts the engine left (a SIGKILLed dockerd leaves its overlays), then its folder.
  local mount
  for mount in $(awk -v d="$RUNTIME_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$mount" 2>/dev/null || umount -l "$mount" || true
  done
  local t0=$SECONDS size
  size="$(du -sm "$RUNTIME_DIR" 2>/dev/null | cut -f1)"
  rm -rf "$RUNTIME_DIR"
  say "removed $RUNTIME_DIR (${size:-?} MB) in $((SECONDS - t0)) s"
}

case "${1:-}" in
  up) cmd_up ;;
  env) cmd_env ;;
  status) cmd_status ;;
  images) cmd_images ;;
  down) cmd_down ;;
  *)
    echo "usage: $0 up|env|status|images|down" >&2
    exit 2
    ;;
esac
