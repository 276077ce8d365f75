#!/usr/bin/env bash
# `make container-check`: build the serving image with podman from a local Debian base and prove it serves.
#
#   1. tools:  podman (+ runc, netavark, iptables, fuse-overlayfs, uidmap, slirp4netns), debootstrap and curl,
#              from Debian's packages when missing (needs root, or sudo);
#   2. base:   no container registry is reachable here, so the base image is a Debian bookworm minbase rootfs
#              made by debootstrap from this machine's apt mirror (python3 = 3.11, python3-venv,
#              ca-certificates, libgomp1 for LightGBM), imported as $BASE_IMAGE; skipped when it exists;
#   3. world:  a tiny seeded world (100 accounts) simulated, trained, imported and scored in a temp folder;
#   4. build:  the Dockerfile with BASE_IMAGE=$BASE_IMAGE; the host's CA bundle goes in as the build secret
#              `cacert` when HTTPS goes through a proxy with its own CA (never copied into the image);
#   5. checks: the CA bundle is nowhere in the image, no dev tools or extras, no start without a token;
#   6. run:    the runtime image with the world mounted (models + store), then the `baked` target; each waits
#              for /readyz, runs the image's HEALTHCHECK, scores an account with the token, and is removed
#              (a trap removes the containers and temp folders on any exit).
#
# Settings (environment): PYTHON_CSAT (the csat CLI used to make the world, default .venv/bin/csat),
# IMAGE (default localhost/csat-risk:check), BASE_IMAGE (default localhost/csat-base:bookworm-py311),
# CONTAINER_WORK (default /var/tmp/csat-container), DEBIAN_MIRROR (default: this machine's apt mirror),
# WORLD_DIR (reuse a world made as below: bentoml/models, store/, data/raw/), CHECK_BAKED=0 to skip the
# baked variant, KEEP_IMAGES=0 to remove the built images (kept by default: their layers are the next build's
# cache), READY_TIMEOUT (s, 180), PODMAN_RUN_LIMITS (the --ulimit options of podman run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CSAT="${PYTHON_CSAT:-$ROOT/.venv/bin/csat}"
IMAGE="${IMAGE:-localhost/csat-risk:check}"
BASE_IMAGE="${BASE_IMAGE:-localhost/csat-base:bookworm-py311}"
WORK="${CONTAINER_WORK:-/var/tmp/csat-container}"
READY_TIMEOUT="${READY_TIMEOUT:-180}"
CHECK_BAKED="${CHECK_BAKED:-1}"
SUITE=bookworm

T0=$SECONDS
STAGE_T=$SECONDS
STAGE_NAME=""
TIMINGS=()
stage() {  # stage NAME: close the previous stage's timer and open a new one
    if [[ -n "$STAGE_NAME" ]]; then TIMINGS+=("$(printf '%-34s %5ds' "$STAGE_NAME" $((SECONDS - STAGE_T)))"); fi
    STAGE_NAME="$1"
    STAGE_T=$SECONDS
    [[ -n "$1" ]] && echo "== $1"
    return 0
}
say() { echo "   $*"; }
die() { echo "container-check: $*" >&2; exit 1; }

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "needs root (podman build with a debootstrap base, apt-get): run as root"
    SUDO=(sudo)
fi

"${SUDO[@]}" mkdir -p "$WORK"

# Podman flags for this kind of machine (a VM, root, no systemd as PID 1, cgroup v1 hybrid, no
# CAP_SYS_RESOURCE); each was needed here, and all are harmless on an ordinary host:
#  --cgroup-manager=cgroupfs  no systemd to ask for cgroups;
#  --events-backend=file      no journald to log events to;
#  --runtime runc             crun 1.8 (Debian 12's default) refuses a cgroup v1/v2 hybrid whose v2 hierarchy
#                             holds a controller ("cgroups in hybrid mode not supported, drop all controllers
#                             from cgroupv2"; here hugetlb); runc handles it, for RUN steps and containers;
#  --ulimit nofile/nproc      podman asks for nofile=nproc=1048576 (and conmon starts with nproc 32768),
#                             raising a hard limit needs CAP_SYS_RESOURCE, which this root lacks: EPERM from
#                             runc's setrlimit; the container gets the host's nofile and nproc 4096 instead;
#  --network host (build)     the RUN steps' pip reaches PyPI exactly as the host does; containers run on
#                             podman's bridge (netavark, which needs the iptables package: installed below)
#                             with the service's port 3000 published on 127.0.0.1 only;
#  --format docker            (build) OCI image configs have no HEALTHCHECK: podman drops it otherwise.
# Storage stays podman's default (native overlay as root on ext4). The HEALTHCHECK's timer needs systemd:
# podman logs "unable to get systemd connection to add healthchecks" and goes on; the check runs it by hand.
PODMAN=("${SUDO[@]}" podman --cgroup-manager=cgroupfs --events-backend=file --runtime runc)
pm() {  # podman with the flags above, without the healthcheck-timer complaints (expected here, see above)
    "${PODMAN[@]}" "$@" 2> >(grep -v --line-buffered 'systemd connection' >&2)
}
nofile="$(ulimit -Hn)"; [[ "$nofile" == unlimited || "$nofile" -gt 65536 ]] && nofile=65536
RUN_LIMITS=(${PODMAN_RUN_LIMITS:---ulimit nofile=$nofile:$nofile --ulimit nproc=4096:4096})

# ---------------------------------------------------------------------------------------------------- tools
stage "tools (apt-get when missing)"
need=()
for pair in podman:podman runc:runc netavark:/usr/lib/podman/netavark fuse-overlayfs:fuse-overlayfs \
            uidmap:newuidmap slirp4netns:slirp4netns iptables:iptables debootstrap:debootstrap curl:curl; do
    pkg="${pair%%:*}"; probe="${pair#*:}"
    if [[ "$probe" == /* ]]; then [[ -x "$probe" ]] || need+=("$pkg")
    else PATH="$PATH:/usr/sbin:/sbin" command -v "$probe" >/dev/null 2>&1 || need+=("$pkg"); fi
done
if ((${#need[@]})); then
    say "installing: ${need[*]}"
    { "${SUDO[@]}" apt-get update -q \
      && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
             "${need[@]}" aardvark-dns catatonit conmon; } > "$WORK.apt.log" 2>&1 \
        || { tail -20 "$WORK.apt.log" >&2; die "apt-get install failed (log: $WORK.apt.log)"; }
    rm -f "$WORK.apt.log"
fi
say "$(podman --version), $(runc --version | head -1)"

# ----------------------------------------------------------------------------------------------------- base
stage "base image (debootstrap)"
if pm image exists "$BASE_IMAGE"; then
    say "$BASE_IMAGE exists: skipped (remove it with 'podman rmi $BASE_IMAGE' to rebuild)"
else
    # The mirror this machine's apt uses (deb822 .sources or one-line sources.list), and its proxy if any.
    mirror="${DEBIAN_MIRROR:-}"
    if [[ -z "$mirror" ]]; then
        mirror="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' \
                  | grep -v -- '-security' | head -1 || true)"
    fi
    if [[ -z "$mirror" ]]; then
        mirror="$(grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                  | grep -v -- '-security' | awk '{print $2}' | head -1 || true)"
    fi
    mirror="${mirror:-http://deb.debian.org/debian}"
    apt_proxy="$(apt-config dump 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p' | head -1)"
    [[ -n "$apt_proxy" && -z "${http_proxy:-}" ]] && export http_proxy="$apt_proxy"
    say "debootstrap $SUITE (minbase) from $mirror${apt_proxy:+ via $apt_proxy}"
    rootfs="$WORK/rootfs"
    "${SUDO[@]}" rm -rf "$rootfs"
    "${SUDO[@]}" mkdir -p "$WORK"
    "${SUDO[@]}" debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,libgomp1 \
        "$SUITE" "$rootfs" "$mirror" > "$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log: $WORK/debootstrap.log)"; }
    "${SUDO[@]}" chroot "$rootfs" python3 -c 'import sys, venv, ssl; assert sys.version_info[:2] == (3, 11)'
    "${SUDO[@]}" rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*
    "${SUDO[@]}" tar --numeric-owner --xattrs -C "$rootfs" -cf "$WORK/rootfs.tar" .
    pm import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' \
        --message "debian $SUITE minbase + python3 (3.11) from $mirror" \
        "$WORK/rootfs.tar" "$BASE_IMAGE" > "$WORK/import.log" 2>&1 \
        || { cat "$WORK/import.log" >&2; die "podman import failed"; }
    "${SUDO[@]}" rm -rf "$rootfs" "$WORK/rootfs.tar" "$WORK/import.log"
    say "imported $BASE_IMAGE ($(pm image inspect --format '{{.Size}}' "$BASE_IMAGE" \
        | awk '{printf "%.0f MB", $1/1e6}'))"
fi

# ---------------------------------------------------------------------------------------------------- world
stage "tiny world (simulate/train/import)"
[[ -x "$CSAT" ]] || die "no csat CLI at $CSAT (run 'make install' first, or set PYTHON_CSAT)"
WORLD="${WORLD_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/csat-container-world.XXXXXX")}"
CTX="$(mktemp -d "${TMPDIR:-/tmp}/csat-container-ctx.XXXXXX")"
CONTAINERS=()
cleanup() {
    local rc=$?
    for c in "${CONTAINERS[@]}"; do pm rm -f -t 5 "$c" >/dev/null 2>&1 || true; done
    if [[ "${KEEP_IMAGES:-1}" != 1 ]]; then
        pm rmi -f "$IMAGE" "$IMAGE-baked" >/dev/null 2>&1 || true
    fi
    [[ -n "${WORLD_DIR:-}" ]] || rm -rf "$WORLD"
    rm -rf "$CTX"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [[ -n "${WORLD_DIR:-}" ]]; then
    say "reusing the world in $WORLD_DIR (WORLD_DIR): not rebuilt, not removed"
else (
    cd "$WORLD"
    export BENTOML_HOME="$WORLD/bentoml" CSAT_STORE_DIR="$WORLD/store" CSAT_DATA_DIR="$WORLD/data/raw" \
        CSAT_MLFLOW_TRACKING_URI="sqlite:///$WORLD/mlruns/mlflow.db" \
        CSAT_MLFLOW_ARTIFACT_ROOT="$WORLD/mlruns/artifacts" \
        MLFLOW_DISABLE_TELEMETRY=true BENTOML_DO_NOT_TRACK=true
    unset CSAT_API_TOKEN
    "$CSAT" simulate --accounts 100 --months 24 --seed 11 --out data/raw
    "$CSAT" features build
    "$CSAT" train --target all --candidates 1 --n-boot 20 --threads 2
    "$CSAT" serving import
    "$CSAT" score-all
) > "$WORLD.log" 2>&1 || { tail -30 "$WORLD.log" >&2; die "building the tiny world failed (log: $WORLD.log)"; }
rm -f "$WORLD.log"
fi
ACCOUNT="$("$(dirname "$CSAT")/python" -c "import pyarrow.parquet as pq, sys
print(pq.read_table(sys.argv[1], columns=['account_id']).column(0)[0].as_py())" "$WORLD/data/raw/accounts.parquet")"
say "world in $WORLD: models $(ls "$WORLD/bentoml/models" | tr '\n' ' '); account $ACCOUNT"
# the service runs as uid 10001 in the container: the mounted world must be readable by it
chmod -R a+rX "$WORLD"

# ---------------------------------------------------------------------------------------------------- build
stage "image build (deps + project)"
# Build context, staged in a temp folder so that nothing is written into the working tree: the files the
# Dockerfile's COPY lines name (read from it), the Dockerfile and .dockerignore, plus bake/ for the baked target.
mapfile -t sources < <(awk 'toupper($1) == "COPY" && !/--from/ {
    for (i = 2; i < NF; i++) if ($i !~ /^--/ && $i !~ /^bake\//) print $i }' "$ROOT/Dockerfile" | sort -u)
say "build context: ${sources[*]}"
tar -C "$ROOT" -cf - --exclude='__pycache__' --exclude='*.pyc' Dockerfile .dockerignore "${sources[@]}" \
    | tar -C "$CTX" -xf -
mkdir -p "$CTX/bake/store"
cp -a "$WORLD/bentoml/models" "$CTX/bake/models"
cp -a "$WORLD/store/online" "$CTX/bake/store/online"
[[ -d "$WORLD/store/scores" ]] && cp -a "$WORLD/store/scores" "$CTX/bake/store/scores"

build_args=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
for v in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    # proxy variables are build arguments Docker and podman predefine: used by RUN, kept out of the history
    [[ -n "${!v:-}" ]] && build_args+=(--build-arg "$v=${!v}")
done
# The CA bundle pip must trust: the host's when its HTTPS goes through a proxy with its own CA (a proxy set in
# the environment, a CA bundle named by pip/requests/OpenSSL variables, or a PyPI certificate that the
# base image's own CA list does not know). Passed as a build secret: mounted for the RUN steps that need it.
ca_bundle=""
for f in "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}" \
         "$(pip config get global.cert 2>/dev/null || true)" /etc/ssl/certs/ca-certificates.crt; do
    if [[ -n "$f" && -s "$f" ]]; then ca_bundle="$f"; break; fi
done
secret=()
if [[ -n "$ca_bundle" ]]; then
    issuer="$(openssl s_client -connect pypi.org:443 -servername pypi.org </dev/null 2>/dev/null \
              | openssl x509 -noout -issuer 2>/dev/null || true)"
    say "CA bundle $ca_bundle passed as build secret 'cacert'${issuer:+ (PyPI certificate $issuer)}"
    secret=(--secret "id=cacert,src=$ca_bundle")
fi
build() {  # build TARGET TAG
    pm build --format docker --network host --layers \
        "${build_args[@]}" "${secret[@]}" --target "$1" -t "$2" -f "$CTX/Dockerfile" "$CTX"
}
set +e
build runtime "$IMAGE" 2>&1 | tee "$WORK.build.log" \
    | grep --line-buffered -E '^(STEP|COMMIT)|pins, all|Successfully (built|tagged)' \
    | awk '{ print substr($0, 1, 118); fflush() }'
rc=${PIPESTATUS[0]}
set -e
((rc == 0)) || { tail -30 "$WORK.build.log" >&2; die "podman build failed (log: $WORK.build.log)"; }
rm -f "$WORK.build.log"
say "image $IMAGE: $(pm image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
stage "image checks"
if ((${#secret[@]})); then
    # the CA bundle was a build secret: no certificate of it that the base lacks may be anywhere in the image
    extra="$(pm run --rm "${RUN_LIMITS[@]}" --network none --entrypoint /bin/cat "$IMAGE" \
        /etc/ssl/certs/ca-certificates.crt | python3 -c 'import re, sys
pem = lambda t: set(re.findall(r"-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----", t))
image = pem(sys.stdin.read()); host = pem(open(sys.argv[1]).read())
print(next((c.split()[3] for c in sorted(host - image)), ""))' "$ca_bundle")"
    if [[ -n "$extra" ]]; then
        if pm run --rm "${RUN_LIMITS[@]}" --network none --user 0 --entrypoint /bin/grep "$IMAGE" \
                -rlF --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -- "$extra" / ; then
            die "the build secret's CA certificate was found in the image"
        fi
        say "the host's own CA certificates (not in the base) are nowhere in the image: the secret stayed out"
    fi
fi

# ------------------------------------------------------------------------------------------------------ run
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TOKEN="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"

check_container() {  # check_container NAME IMAGE [podman run options...]: start, ready, healthcheck, score
    local name="$1" image="$2"; shift 2
    local port; port="$(free_port)"
    CONTAINERS+=("$name")
    pm rm -f -t 5 "$name" >/dev/null 2>&1 || true
    # the image as built: its own CMD (csat serve on 0.0.0.0:3000), published on a free loopback port
    pm run -d --name "$name" "${RUN_LIMITS[@]}" -p "127.0.0.1:$port:3000" \
        -e CSAT_API_TOKEN="$TOKEN" "$@" "$image" >/dev/null
    local t=$SECONDS code=""
    while ((SECONDS - t < READY_TIMEOUT)); do
        code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)"
        [[ "$code" == 200 ]] && break
        [[ "$(pm inspect --format '{{.State.Running}}' "$name")" == true ]] || break
        sleep 2
    done
    if [[ "$code" != 200 ]]; then
        pm logs --tail 40 "$name" >&2 || true
        die "$name: /readyz not 200 after $((SECONDS - t))s (last: ${code:-no answer})"
    fi
    say "$name: /readyz 200 after $((SECONDS - t))s (published on 127.0.0.1:$port)"
    # the image's own HEALTHCHECK, run once by hand (podman's timer for it needs systemd, absent here)
    pm healthcheck run "$name" 2>/dev/null || die "$name: HEALTHCHECK failed"
    say "$name: HEALTHCHECK $(pm inspect --format '{{.State.Health.Status}}' "$name")"
    local unauth body
    unauth="$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/score" \
        -H 'Content-Type: application/json' -d "{\"account_ids\": [\"$ACCOUNT\"]}")"
    [[ "$unauth" == 401 ]] || die "$name: /score without the token answered $unauth, not 401"
    body="$(curl -sf -X POST "http://127.0.0.1:$port/score" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d "{\"account_ids\": [\"$ACCOUNT\"], \"top_k\": 3}")" \
        || die "$name: POST /score with the token failed"
    python3 -c 'import json, sys
def find(o):
    if isinstance(o, dict):
        if "satisfaction_probability" in o:
            return o
        o = list(o.values())
    if isinstance(o, list):
        for v in o:
            r = find(v)
            if r:
                return r
    return None
r = find(json.loads(sys.argv[1]))
assert r is not None, "no satisfaction_probability in " + sys.argv[1][:500]
p = r["satisfaction_probability"]
assert 0.0 <= p <= 1.0, p
c = r.get("churn_probability")
print("   /score (401 without the token, 200 with it):", r.get("account_id"), "satisfaction_probability",
      round(p, 4), "churn_probability", None if c is None else round(c, 4), "risk_band", r.get("risk_band"))
' "$body"
    pm rm -f -t 5 "$name" >/dev/null
    say "$name: removed"
}

# no dev tools, no optional extras in the image; and no token, no listening on 0.0.0.0 (exit 2 with the reason)
pm run --rm "${RUN_LIMITS[@]}" --network none "$IMAGE" python -c 'import importlib.util as u, sys
bad = [m for m in ("pytest", "playwright", "mypy", "ruff", "pyspark", "py4j") if u.find_spec(m)]
sys.exit(f"in the image but not for serving: {bad}") if bad else print("   no dev tools or optional extras in the image")'
set +e
refusal="$(pm run --rm "${RUN_LIMITS[@]}" --network none "$IMAGE" 2>&1)"
rc=$?
set -e
[[ $rc -eq 2 && "$refusal" == *"refusing to listen on 0.0.0.0"* ]] \
    || die "started without CSAT_API_TOKEN the image should refuse (exit 2), got $rc: $refusal"
say "without CSAT_API_TOKEN the image refuses to listen on 0.0.0.0 (exit 2)"

stage "run: models + store mounted"
pm image inspect --format '{{.Config.Healthcheck.Test}}' "$IMAGE" | grep -q readyz \
    || die "$IMAGE has no HEALTHCHECK on /readyz (podman build needs --format docker)"
pm image inspect --format '{{.Config.User}} {{.Config.Cmd}}' "$IMAGE" | sed 's/^/   user, cmd: /'
check_container csat-check-mounted "$IMAGE" \
    -v "$WORLD/bentoml/models:/app/bentoml/models:ro" -v "$WORLD/store:/app/store:ro" \
    -v "$WORLD/data/raw:/app/data/raw:ro"

if [[ "$CHECK_BAKED" == 1 ]]; then
    stage "baked image: build + run"
    build baked "$IMAGE-baked" > "$WORK.build.log" 2>&1 \
        || { tail -30 "$WORK.build.log" >&2; die "podman build --target baked failed"; }
    rm -f "$WORK.build.log"
    say "image $IMAGE-baked: $(pm image inspect --format '{{.Size}}' "$IMAGE-baked" \
        | awk '{printf "%.0f MB", $1/1e6}')"
    check_container csat-check-baked "$IMAGE-baked"
fi

stage ""
echo "== timings"
printf '   %s\n' "${TIMINGS[@]}"
printf '   %-34s %5ds\n' "total" $((SECONDS - T0))
echo "container-check: passed ($IMAGE from $BASE_IMAGE)"
