#!/usr/bin/env bash
# Arena set-up on a Debian 12 machine: Docker engine, virtual environment, example images.
# Safe to run again: every step checks first and does only what is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${ARENA_VENV:-$ROOT/.venv}
BASE_IMAGE=${ARENA_BASE_IMAGE:-arena/python-base:bookworm}
LOG_DIR=${ARENA_SETUP_LOG_DIR:-/var/log}

say() { printf '\033[1m[arena setup]\033[0m %s\n' "$*"; }
die() { printf '[arena setup] error: %s\n' "$*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root; run this script as root or install it yourself"
}

apt_install() {
  need_root "installing $*"
  if [ -z "${ARENA_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    export ARENA_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

engine_answers() { docker info >/dev/null 2>&1; }

ensure_docker() {
  if engine_answers; then say "Docker engine answers"; return; fi
  command -v dockerd >/dev/null 2>&1 || { say "installing Debian's docker.io"; apt_install docker.io; }
  command -v docker >/dev/null 2>&1 || die "the docker client is missing after installing docker.io"
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker || true
  fi
  if ! engine_answers; then
    need_root "starting dockerd"
    say "starting dockerd (--bridge=none --iptables=false), log in $LOG_DIR/arena-dockerd.log"
    nohup dockerd --bridge=none --iptables=false >"$LOG_DIR/arena-dockerd.log" 2>&1 &
  fi
  for _ in $(seq 1 60); do engine_answers && { say "Docker engine answers"; return; }; sleep 1; done
  die "the Docker engine did not answer within 60 s; see $LOG_DIR/arena-dockerd.log"
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment in $VENV"
    python3 -m venv "$VENV" || { apt_install python3-venv; python3 -m venv "$VENV"; }
  fi
  local stamp="$VENV/.arena-installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    say "installing Arena and its dependencies into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT[test]"
    touch "$stamp"
  fi
}

ensure_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then say "base image $BASE_IMAGE present"; return; fi
  command -v debootstrap >/dev/null 2>&1 || { say "installing debootstrap"; apt_install debootstrap; }
  need_root "debootstrap"
  local dir
  dir=$(mktemp -d /tmp/arena-rootfs.XXXXXX)
  say "building $BASE_IMAGE with debootstrap (minimal bookworm, python3, numpy; about a minute)"
  debootstrap --variant=minbase --include=python3-minimal,python3-numpy bookworm "$dir" \
    >"$LOG_DIR/arena-debootstrap.log" 2>&1 || die "debootstrap failed; see $LOG_DIR/arena-debootstrap.log"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$dir"
  say "base image $BASE_IMAGE built"
}

# PostgreSQL for production-mode tests: Debian's server, a role "arena" that may create the
# databases the tests make, on 127.0.0.1:5432. ARENA_SETUP_SERVICES names what to set up.
PG_URL=${ARENA_TEST_POSTGRES_URL:-postgresql+psycopg://arena:arena@127.0.0.1:5432/arena}

pg() { runuser -u postgres -- psql -qtAX "$@"; }

ensure_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || { say "installing Debian's postgresql"; apt_install postgresql; }
  need_root "starting PostgreSQL"
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql/*/bin/postgres | sed 's|/usr/lib/postgresql/||; s|/.*||' | sort -V | tail -1)
    pg_createcluster "$version" main >/dev/null
  fi
  pg_ctlcluster "$version" main start 2>/dev/null || true
  for _ in $(seq 1 30); do pg -c "select 1" >/dev/null 2>&1 && break; sleep 1; done
  pg -c "select 1" >/dev/null 2>&1 || die "PostgreSQL $version did not start; see /var/log/postgresql/"
  [ "$(pg -c "select 1 from pg_roles where rolname = 'arena'")" = 1 ] || \
    pg -c "create role arena login createdb password 'arena'"
  [ "$(pg -c "select 1 from pg_database where datname = 'arena'")" = 1 ] || pg -c "create database arena owner arena"
  say "PostgreSQL $version answers at $PG_URL"
}

# Browser tests: Debian's Chromium (driven by Playwright, no browser download) and axe-core from
# the npm registry (the accessibility checks), kept in .cache/axe.
ensure_browser() {
  command -v chromium >/dev/null 2>&1 || { say "installing Debian's chromium"; apt_install chromium; }
  if [ ! -f "$ROOT/.cache/axe/node_modules/axe-core/axe.min.js" ]; then
    command -v npm >/dev/null 2>&1 || { say "installing Debian's npm"; apt_install npm; }
    say "installing axe-core into .cache/axe"
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.cache/axe" axe-core@4 >/dev/null
  fi
  say "Chromium $(chromium --version 2>/dev/null | awk '{print $2}') and axe-core ready"
}

# Node.js runs the second, JavaScript verifier of the public log (verifiers/js) in the tests.
ensure_node() {
  command -v node >/dev/null 2>&1 || { say "installing Debian's nodejs"; apt_install nodejs; }
  say "Node.js $(node --version) ready (verifiers/js)"
}

# Rootless Podman for the Podman runner's tests: Debian's podman 4.3 (with uidmap for the user
# namespace, fuse-overlayfs for its storage, catatonit for --init), and an unprivileged user with
# subordinate ids that runs it. Where / is not a shared mount (a container without systemd), mounts
# made after podman started (the job folders' tmpfs) would stay invisible to it: make it shared,
# as systemd does on any ordinary host.
PODMAN_USER=${ARENA_TEST_PODMAN_USER:-arena-podman}

ensure_podman() {
  command -v podman >/dev/null 2>&1 && command -v newuidmap >/dev/null 2>&1 && [ -x /usr/libexec/podman/catatonit ] || {
    say "installing Debian's podman, uidmap, slirp4netns, fuse-overlayfs and catatonit"
    apt_install podman uidmap slirp4netns fuse-overlayfs catatonit
  }
  need_root "creating the user $PODMAN_USER"
  id "$PODMAN_USER" >/dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin "$PODMAN_USER"
  grep -q "^$PODMAN_USER:" /etc/subuid || usermod --add-subuids 200000-265535 --add-subgids 200000-265535 "$PODMAN_USER"
  local home conf
  home=$(getent passwd "$PODMAN_USER" | cut -d: -f6)
  conf="$home/.config/containers/storage.conf"
  if [ ! -f "$conf" ]; then
    mkdir -p "$(dirname "$conf")"
    printf '[storage]\ndriver = "overlay"\n[storage.options.overlay]\nmount_program = "/usr/bin/fuse-overlayfs"\n' > "$conf"
    chown -R "$PODMAN_USER:" "$home/.config"
  fi
  if [ "$(findmnt -no PROPAGATION /)" != shared ]; then
    say "making / a shared mount (podman's rootless containers then see new job folders)"
    mount --make-rshared /
    (cd / && runuser -u "$PODMAN_USER" -- podman system migrate >/dev/null 2>&1) || true
  fi
  (cd / && runuser -u "$PODMAN_USER" -- podman info >/dev/null 2>&1) || die "rootless podman does not run as $PODMAN_USER"
  say "rootless Podman $(podman --version | awk '{print $3}') runs as $PODMAN_USER"
}

build_examples() {
  # The tiny example model needs a static busybox (Debian's busybox-static, about 1 MB).
  dpkg -s busybox-static >/dev/null 2>&1 || { say "installing Debian's busybox-static"; apt_install busybox-static; }
  say "building the example model, scorer and environment images"
  "$VENV/bin/python" "$ROOT/examples/build_images.py" --base "$BASE_IMAGE"
}

ensure_docker
ensure_venv
ensure_node
ensure_base_image
build_examples
for service in ${ARENA_SETUP_SERVICES:-}; do
  case "$service" in
    postgres) ensure_postgres ;;
    slurm) bash "$ROOT/scripts/slurm.sh" ;;
    browser) ensure_browser ;;
    podman) ensure_podman ;;
    *) die "unknown service $service in ARENA_SETUP_SERVICES (known: postgres slurm browser podman)" ;;
  esac
done
say "set-up complete"
