#!/usr/bin/env bash
# Checks the package scripts/build-deb.sh made (make deb-check), without touching this
# machine's own dpkg database or systemd:
#   1. its contents: /usr/bin/levee, the conffile /etc/levee/levee.toml, levee.service;
#   2. systemd-analyze verify prints nothing about levee.service (verify only warns, exit 0,
#      about an unknown key, so any output fails), and its `security --offline` exposure;
#   3. lintian finds no error (warnings are printed, not fatal);
#   4. dpkg installs it into a scratch root, keeps an edited conffile through remove and
#      reinstall, and purge leaves nothing behind;
#   5. the packaged binary, started as the unit starts it, sends READY=1 to $NOTIFY_SOCKET
#      once it listens, and STOPPING=1 on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$PWD/build-deb/levee_${version}_${arch}.deb
[ -f "$deb" ] || { echo "check-deb: no $deb; run make deb" >&2; exit 1; }
work=$(mktemp -d)
levee_pid=
cleanup() {
  if [ -n "$levee_pid" ]; then kill "$levee_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "contents of $(basename "$deb") ($(du -h "$deb" | cut -f1))"
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
for path in ./usr/bin/levee ./etc/levee/levee.toml ./lib/systemd/system/levee.service; do
  grep -qxF "$path" <<<"$contents" || fail "$path is not in the package"
done
dpkg-deb -I "$deb" conffiles | grep -qxF /etc/levee/levee.toml ||
  fail "/etc/levee/levee.toml is not a conffile"
echo "usr/bin/levee, etc/levee/levee.toml (conffile), lib/systemd/system/levee.service"

# verify resolves ExecStart= and the units levee.service names inside --root: the unpacked
# package, this machine's systemd units and /bin/kill (ExecReload=).
step "systemd-analyze verify levee.service"
root=$work/verify
mkdir -p "$root/usr/bin" "$root/usr/lib/systemd"
ln -s usr/bin "$root/bin"
cp -a /lib/systemd/system "$root/usr/lib/systemd/"
cp /usr/bin/kill "$root/usr/bin/"
dpkg-deb -x "$deb" "$work/unpacked"
cp -a "$work/unpacked/." "$root/"
verify=$(cd "$work" && systemd-analyze verify --root="$root" levee.service 2>&1) ||
  fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"
echo "clean"
systemd-analyze security --offline=yes --root="$root" levee.service 2>&1 | tail -n 1

step "lintian"
lintian_status=0
lintian --fail-on error --display-info build-deb/levee*_"${version}"_"${arch}".deb ||
  lintian_status=$?
[ "$lintian_status" -eq 0 ] || fail "lintian reports errors"
echo "no errors"

# --force-script-chrootless runs the maintainer scripts here with DPKG_ROOT set, which
# deb-systemd-helper honours (it enables the unit inside the scratch root and skips
# systemctl). The scratch database starts as a copy of this machine's status file, so the
# package's Depends are checked against what is really installed.
step "dpkg install, remove, reinstall, purge in a scratch root"
scratch=$work/root
admin=$scratch/var/lib/dpkg
mkdir -p "$admin/info" "$admin/updates"
cp /var/lib/dpkg/status "$admin/status"
touch "$admin/available"
dpkg_scratch() {
  dpkg --root="$scratch" --force-script-chrootless --force-not-root "$@" 2>&1 |
    grep -v "^dpkg: warning: files list file for package '.*' missing" || true
  return "${PIPESTATUS[0]}"
}
conffile=$scratch/etc/levee/levee.toml
wants=$scratch/etc/systemd/system/multi-user.target.wants/levee.service
installed() {
  local status
  status=$(dpkg-query --admindir="$admin" -W -f='${Status}' levee 2>/dev/null || true)
  echo "${status:-not known to dpkg}"
}

dpkg_scratch -i "$deb" || fail "dpkg -i"
[ "$(installed)" = "install ok installed" ] || fail "levee is $(installed) after dpkg -i"
[ -x "$scratch/usr/bin/levee" ] || fail "no usr/bin/levee after install"
[ -L "$wants" ] || fail "levee.service is not enabled after install"
"$scratch/usr/bin/levee" check --config "$conffile" || fail "the shipped config fails levee check"
echo "installed: $(installed), unit enabled, shipped config passes levee check"

echo "# edited by check-deb" >>"$conffile"
dpkg_scratch -r levee || fail "dpkg -r"
[ ! -e "$scratch/usr/bin/levee" ] || fail "usr/bin/levee left after remove"
[ ! -e "$scratch/lib/systemd/system/levee.service" ] || fail "levee.service left after remove"
grep -q "edited by check-deb" "$conffile" || fail "remove did not keep the edited conffile"
echo "removed: $(installed), binary and unit gone, edited conffile kept"

dpkg_scratch -i "$deb" || fail "dpkg -i (reinstall)"
grep -q "edited by check-deb" "$conffile" || fail "reinstall replaced the edited conffile"
echo "reinstalled: $(installed), edited conffile kept"

dpkg_scratch -P levee || fail "dpkg -P"
[ ! -e "$scratch/etc/levee" ] || fail "etc/levee left after purge"
[ ! -e "$wants" ] || fail "the enable symlink is left after purge"
left=$(cd "$scratch" && find . -path ./var/lib/dpkg -prune -o -path ./var/lib/systemd -prune \
  -o \( -type f -o -type l \) -print)
[ -z "$left" ] || fail "purge left files: $left"
echo "purged: $(installed), no file left outside dpkg's and deb-systemd-helper's state"

# The unit's ExecStart with ports 0 (other checks may hold 8080 and 9901 on this machine).
step "the packaged levee speaks sd_notify"
notify=$work/notify.sock
/usr/bin/python3 - "$notify" "$work/unpacked" <<'PY' || fail "sd_notify"
import os, socket, subprocess, sys
path, tree = sys.argv[1], sys.argv[2]
manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
manager.bind(path)
manager.settimeout(60)
env = dict(os.environ, NOTIFY_SOCKET=path, LEVEE_SERVER__LISTEN="127.0.0.1:0",
           LEVEE_SERVER__ADMIN_LISTEN="127.0.0.1:0")
levee = subprocess.Popen([tree + "/usr/bin/levee", "serve", "--config",
                          tree + "/etc/levee/levee.toml"], env=env, stdout=subprocess.DEVNULL)
try:
    ready = manager.recv(256).decode()
    print("received", ready)
    if ready != "READY=1":
        sys.exit(1)
    levee.terminate()
    stopping = manager.recv(256).decode()
    print("received", stopping, "after SIGTERM")
    if stopping != "STOPPING=1":
        sys.exit(1)
    print("levee exited with", levee.wait(timeout=60))
finally:
    if levee.poll() is None:
        levee.kill()
PY
echo "check-deb: ok"
