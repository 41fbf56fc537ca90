#!/usr/bin/env bash
# The Debian package end to end, short of installing it: scripts/package makes it (from PACKAGE_BINARY, the
# binary the test command built, when set); its control data and
# file list are checked (dpkg-deb -I / -c); it is unpacked into a temporary directory, where the binary
# runs (--version, --check-config on the shipped configs), tells a fake systemd READY/RELOADING/STOPPING
# (notify_check.py), the man page renders without warnings, `systemd-analyze verify` accepts the unit
# and `logrotate -d` the snippet.
#
# Usage: tests/ops/package_test.sh SOURCE_DIR PACKAGE_BUILD_DIR VERSION
#
# systemd-analyze verify needs no running systemd (this runs in containers without it as PID 1), but it
# checks that ExecStart's binary exists on this machine and runs man(1) for Documentation=: the unit is
# verified with ExecStart pointing at the unpacked binary and --man=no. It exits 0 on unknown keys and
# bad values (it logs them and goes on), so any output at all fails the test.
set -euo pipefail

source_dir="$1"
package_build_dir="$2"
version="$3"
fail() { echo "FAIL: $*" >&2; exit 1; }

deb="$(PACKAGE_BUILD_DIR="$package_build_dir" "$source_dir/scripts/package" | tail -n 1)"
[[ "$(basename "$deb")" == "pgtenant_${version}_amd64.deb" ]] || fail "package named $(basename "$deb")"
echo "built $deb ($(stat -c %s "$deb") bytes)"

work="$(mktemp -d /tmp/pgtenant-package-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# Control data.
info="$(dpkg-deb -I "$deb")"
field() { dpkg-deb -f "$deb" "$1"; }
[[ "$(field Package)" == pgtenant ]] || fail "Package: $(field Package)"
[[ "$(field Version)" == "$version" ]] || fail "Version: $(field Version), project version $version"
[[ "$(field Architecture)" == amd64 ]] || fail "Architecture: $(field Architecture)"
depends="$(field Depends)"
[[ "$depends" == *adduser* ]] || fail "Depends lacks adduser (postinst runs it): $depends"
mkdir "$work/control"
dpkg-deb -e "$deb" "$work/control"
for script in postinst prerm postrm; do
  [[ -x "$work/control/$script" ]] || fail "maintainer script $script missing or not executable"
  sh -n "$work/control/$script" || fail "$script is not valid sh"
done
grep -q 'adduser --system' "$work/control/postinst" || fail "postinst does not create the pgtenant user"
diff <(sort "$work/control/conffiles") <(printf '%s\n' /etc/logrotate.d/pgtenant /etc/pgtenant/pgtenant.yaml) ||
  fail "conffiles"
grep -q '^ *[0-9]* bytes, *[0-9]* lines *conffiles' <<<"$info" || fail "dpkg-deb -I lists no conffiles"

# Files.
contents="$(dpkg-deb -c "$deb" | awk '{print $6}')"
for path in ./usr/bin/pgtenant ./usr/share/man/man8/pgtenant.8.gz ./usr/lib/systemd/system/pgtenant.service \
            ./etc/pgtenant/pgtenant.yaml ./etc/logrotate.d/pgtenant \
            ./usr/share/doc/pgtenant/examples/minimal.yaml ./usr/share/doc/pgtenant/examples/full.yaml \
            ./usr/share/doc/pgtenant/examples/demo.yaml; do
  grep -qxF "$path" <<<"$contents" || fail "the package lacks $path"
done
if grep -v -e '^\./etc/' -e '^\./usr/' <<<"$contents" | grep -qv '^\./$'; then
  fail "files outside /etc and /usr: $(grep -v -e '^\./etc/' -e '^\./usr/' <<<"$contents" | grep -v '^\./$')"
fi

# The unpacked binary.
root="$work/root"
dpkg-deb -x "$deb" "$root"
binary="$root/usr/bin/pgtenant"
# Depends names the Debian package of every shared library the binary links directly (NEEDED).
for soname in $(objdump -p "$binary" | awk '$1 == "NEEDED" {print $2}'); do
  library="$(ldd "$binary" | awk -v soname="$soname" '$1 == soname {print $3}')"
  [[ -n "$library" ]] || fail "ldd does not find $soname"
  owner="$(dpkg -S "$(readlink -f "$library")" 2>/dev/null || dpkg -S "$library" 2>/dev/null || true)"
  [[ -n "$owner" ]] || fail "no Debian package owns $library"
  package="${owner%%:*}"
  [[ "$depends" =~ (^|, )"$package"( |,|$) ]] || fail "Depends lacks $package (for $library): $depends"
done
echo "Depends: $depends"
"$binary" --version | tee "$work/version"
grep -q "^pgtenant ${version//./\\.}\b" "$work/version" || fail "--version does not print $version"
! file "$binary" | grep -q 'not stripped' || fail "the packaged binary is not stripped"
"$binary" --check-config "$root/usr/share/doc/pgtenant/examples/minimal.yaml"
"$binary" --check-config "$root/etc/pgtenant/pgtenant.yaml"
python3 "$source_dir/tests/ops/notify_check.py" "$binary" "$root/etc/pgtenant/pgtenant.yaml"

# The man page: renders, no groff warnings, version filled in.
zcat "$root/usr/share/man/man8/pgtenant.8.gz" > "$work/pgtenant.8"
grep -q "\"pgtenant $version\"" "$work/pgtenant.8" || fail "the man page does not carry version $version"
warnings="$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$work/pgtenant.8" 2>&1)"
[[ -z "$warnings" ]] || fail "groff warns about the man page: $warnings"

# The unit, as installed, with ExecStart at the unpacked binary.
mkdir "$work/units"
sed "s#/usr/bin/pgtenant#$binary#g" "$root/usr/lib/systemd/system/pgtenant.service" > "$work/units/pgtenant.service"
grep -q "^ExecStart=$binary --config /etc/pgtenant/pgtenant.yaml$" "$work/units/pgtenant.service" ||
  fail "the installed unit's ExecStart is not /usr/bin/pgtenant --config /etc/pgtenant/pgtenant.yaml"
verify="$(systemd-analyze verify --man=no "$work/units/pgtenant.service" 2>&1)" || fail "systemd-analyze verify: $verify"
[[ -z "$verify" ]] || fail "systemd-analyze verify complains: $verify"
echo "systemd-analyze verify: OK"

# The logrotate snippet parses (debug mode: nothing is rotated).
rotate="$(logrotate -d -s "$work/logrotate.state" "$root/etc/logrotate.d/pgtenant" 2>&1)" || fail "logrotate: $rotate"
if grep -qi 'error' <<<"$rotate"; then fail "logrotate -d reports an error: $rotate"; fi
echo "logrotate -d: OK"
echo "package test: OK"
