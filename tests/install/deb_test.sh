#!/usr/bin/env bash
# The Debian package on a fresh Debian 12: `cmake --build --target package` makes the .deb files,
# a minimal bookworm (debootstrap --variant=minbase, kept in the build tree after the first run)
# installs docker-delta with apt-get, which pulls in only its Depends; the tool runs there,
# and purging it leaves none of its files behind.
#   deb_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(readlink -f "$1") src=$(readlink -f "$2")
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v debootstrap >/dev/null || fail "debootstrap is missing (bash scripts/install-deps.sh --test installs it)"

cmake --build "$build" --target package >/dev/null 2>&1 || fail "cmake --build --target package failed"
deb=$(ls "$build"/docker-delta_*_*.deb) dev=$(ls "$build"/docker-delta-dev_*_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
[[ $depends == *libarchive13* && $depends == *libzstd1* && $depends == *libc6* ]] || fail "Depends lacks the shared libraries: $depends"
[[ $depends != *-dev* ]] || fail "the tool's package depends on -dev packages: $depends"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/docker_delta ./usr/libexec/docker/cli-plugins/docker-delta ./usr/share/bash-completion/completions/docker_delta \
         ./usr/share/man/man1/docker_delta.1.gz ./usr/share/doc/docker-delta/README.md; do
  grep -q " $f\( \|$\)" <<<"$contents" || fail "$(basename "$deb") lacks $f"
done
# Whole listings, read before grep: grep -q stopping early would kill dpkg-deb's tar with SIGPIPE.
dev_contents=$(dpkg-deb -c "$dev")
grep -q " ./usr/include/docker_delta/pipeline/stage.h\( \|$\)" <<<"$dev_contents" || fail "the -dev package lacks the headers"

# A pristine minimal Debian 12, made once per build tree; each run works on a copy.
pristine=$build/test-debian/bookworm-minbase
if [[ ! -f $pristine/.done ]]; then
  rm -rf "$pristine"; mkdir -p "$pristine"
  mirror=$(sed -n 's/^URIs: *\(\S*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  [[ -n $mirror ]] || mirror=$(awk '$1=="deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  # apt's proxy, if it has one, is debootstrap's too.
  proxy=$(apt-config dump 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p' | head -1)
  if [[ -n $proxy && -z ${http_proxy:-} ]]; then export http_proxy=$proxy; fi
  debootstrap --variant=minbase bookworm "$pristine" "${mirror:-http://deb.debian.org/debian}" >"$build/test-debian/debootstrap.log" 2>&1 \
    || fail "debootstrap failed: $(tail -3 "$build/test-debian/debootstrap.log")"
  touch "$pristine/.done"
fi
root=$(mktemp -d "$build/test-debian/root.XXXXXX")
cleanup() { umount "$root/proc" 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT
cp -a "$pristine/." "$root/"
mount -t proc proc "$root/proc"
# The host's package sources and apt settings (mirror, proxy), so the chroot reaches what it does.
cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" 2>/dev/null || true
[[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
cp -a /etc/apt/apt.conf.d/. "$root/etc/apt/apt.conf.d/" 2>/dev/null || true
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }

cp "$deb" "$root/tmp/"
in_root dpkg-query -W -f='${Package}\n' | sort >"$root/tmp/before"
in_root apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed in the chroot"
in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" >"$root/tmp/install.log" 2>&1 \
  || fail "apt-get install of the package failed: $(tail -3 "$root/tmp/install.log")"
in_root dpkg-query -W -f='${Package}\n' | sort >"$root/tmp/after"
added=$(comm -13 "$root/tmp/before" "$root/tmp/after" | tr '\n' ' ')
! grep -qE -- '-dev$|^g\+\+|^gcc|^cmake$' <(comm -13 "$root/tmp/before" "$root/tmp/after") || fail "installing pulled in build tools: $added"
echo "installed with: $added"

# The tool works there: a sample image converted, verified, searched; the plugin answers.
bash "$src/scripts/make-sample-archive.sh" "$root/tmp/sample.tar" >/dev/null
in_root docker_delta --version >/dev/null || fail "docker_delta does not run in the chroot"
in_root docker_delta -q process /tmp/sample.tar /tmp/out.tar || fail "process failed in the chroot"
in_root docker_delta inspect --verify /tmp/out.tar >/dev/null || fail "inspect --verify failed in the chroot"
in_root docker_delta process /tmp/out.tar /tmp/layout.d/ -q || fail "writing an OCI layout failed in the chroot"
in_root /usr/libexec/docker/cli-plugins/docker-delta docker-cli-plugin-metadata | grep '"SchemaVersion":"0.1.0"' >/dev/null \
  || fail "the docker CLI plugin link does not answer its metadata"

# Purged, nothing of it remains.
files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\.||')
in_root apt-get purge -y -qq docker-delta >/dev/null 2>&1 || fail "apt-get purge failed"
for f in $files; do
  [[ ! -e $root$f && ! -L $root$f ]] || fail "$f is left after purge"
done
[[ ! -e $root/usr/share/doc/docker-delta && ! -e $root/usr/libexec/docker/cli-plugins ]] || fail "directories of the package are left after purge"
# The README's way to carry it to an air-gapped site: the closure fetched here, installed there
# with no network at all.
carry=$root/carry; mkdir -p "$carry"; cp "$deb" "$carry/"
deps=$( (dpkg-deb -f "$deb" Depends; dpkg-deb -f "$deb" Recommends) | sed 's/([^)]*)//g; s/[,|]/ /g')
# shellcheck disable=SC2046,SC2086
(cd "$carry" && apt-get download $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
   --no-breaks --no-replaces --no-enhances $deps | grep '^[a-z0-9]' | sort -u) >"$root/tmp/download.log" 2>&1) \
  || fail "apt-get download of the closure failed: $(tail -2 "$root/tmp/download.log")"
rm -f "$root/etc/resolv.conf" "$root"/etc/apt/sources.list.d/* "$root/etc/apt/sources.list"
rm -rf "$root"/var/lib/apt/lists/*
in_root sh -c 'cd /carry && apt-get install -y -qq ./*.deb' >"$root/tmp/offline.log" 2>&1 \
  || fail "the carried folder does not install offline: $(tail -3 "$root/tmp/offline.log")"
in_root docker_delta inspect --verify /tmp/sample.tar >/dev/null || fail "docker_delta from the carried folder does not run"
in_root sh -c 'command -v xdelta3 && command -v bsdiff' >/dev/null || fail "the carried folder lacks the Recommends"
echo "deb: installs on a fresh Debian 12 with its Depends, runs, purges clean, and installs offline from the carried closure"
