#!/usr/bin/env bash
# Nothing lost, nothing outside the destination touched: runs killed with SIGKILL at many points
# leave the destination absent or whole, only marked temporaries beside it, and the next run
# removes those and succeeds; a full destination or TMPDIR ends in one "no space left" line with
# nothing partial; --force replaces only what docker_delta writes; outputs honour the umask.
. "$(dirname "$0")/lib.sh"

A1=$FIXTURES/app-v1.buildah.docker.tar
A2=$FIXTURES/app-v2.buildah.docker.tar
KILL_POINTS=${KILL_POINTS:-22}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# left_beside DEST: every entry of DEST's directory other than DEST (and the case's own files)
left_beside() {
    local dir base
    dir=$(dirname "$1"); base=$(basename "$1")
    (cd "$dir" && find . -mindepth 1 -maxdepth 1 ! -name '.std*' ! -name "$base" ! -name tmp ! -name in -printf '%P\n' | sort)
}

# valid KIND DEST: the destination is whole, read by an independent reader where there is one
valid() {
    case $1 in
        package) "$DOCKER_DELTA" info "$2" >/dev/null 2>&1 ;;
        oci) "${SKOPEO[@]}" inspect "oci:$2" >/dev/null 2>&1 && "$DOCKER_DELTA" inspect "oci:$2" >/dev/null 2>&1 ;;
        docker-archive) "${SKOPEO[@]}" inspect "docker-archive:$2" >/dev/null 2>&1 && "$DOCKER_DELTA" inspect "$2" >/dev/null 2>&1 ;;
        oci-archive) "${SKOPEO[@]}" inspect "oci-archive:$2" >/dev/null 2>&1 && "$DOCKER_DELTA" inspect "oci-archive:$2" >/dev/null 2>&1 ;;
    esac
}

# killed KIND DEST ARGS...: measures whole runs, then kills runs at delays spread over one until
# KILL_POINTS were killed midway; after each: DEST absent or valid, only marked temporaries beside it; then
# a run to the end succeeds and leaves nothing beside DEST.
killed() {
    local kind=$1 dest=$2; shift 2
    export TMPDIR=$CASE_DIR/tmp
    mkdir -p "$TMPDIR"
    local start full=0 took i delay rc left killed_midway=0 whole=0
    # The shortest of three whole runs: the kill points fall inside even a quick run.
    for i in 1 2 3; do
        rm -rf "$dest"
        start=$(now_ms)
        expect_ok "$@"
        took=$(($(now_ms) - start))
        ((full == 0 || took < full)) && full=$took
        valid "$kind" "$dest" || fail "an uninterrupted run gave an invalid $dest"
    done
    # A kill that comes after a run ended finds the run quicker than measured: the later points
    # move in, so that KILL_POINTS runs are killed midway even on a machine whose speed varies.
    local span=$full attempts=0
    for ((i = 0; killed_midway < KILL_POINTS && attempts < 3 * KILL_POINTS; i++, attempts++)); do
        rm -rf "$dest"
        delay=$((span * (i % KILL_POINTS) / KILL_POINTS))
        rc=0
        timeout -s KILL "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))" "$DOCKER_DELTA" "$@" >/dev/null 2>&1 </dev/null || rc=$?
        if ((rc == 137)); then
            killed_midway=$((killed_midway + 1))
        elif ((rc == 0)); then
            span=$((span * 3 / 4))
        else
            fail "run killed after ${delay} ms exited $rc, not 0 or SIGKILL: $*"
        fi
        if [[ -e $dest ]]; then
            valid "$kind" "$dest" || fail "killed after ${delay} ms (rc $rc): $dest exists but is not whole"
            whole=$((whole + 1))
        fi
        left=$(left_beside "$dest")
        if [[ -n $left ]] && grep -vq "^\.$(basename "$dest")\.docker_delta-" <<<"$left"; then
            fail "killed after ${delay} ms: unmarked files beside $dest: $left"
        fi
        [[ -z $(ls -A "$TMPDIR") ]] || fail "killed after ${delay} ms: left in TMPDIR: $(ls -A "$TMPDIR")"
        # The next run writes the same destination: it removes what the killed one left.
        expect_ok "$@" --force
        valid "$kind" "$dest" || fail "the run after a kill at ${delay} ms gave an invalid $dest"
        assert_eq "beside $dest after the next run (kill at ${delay} ms)" "" "$(left_beside "$dest")"
    done
    echo "  $kind: whole run ${full} ms; $killed_midway of $attempts runs killed midway, $whole left a whole $dest" >&2
    ((killed_midway >= KILL_POINTS)) || fail "only $killed_midway of $attempts runs were killed midway (want $KILL_POINTS)"
}
# $CASE_DIR exists only inside a case, so each case is a function.
create_killed() { killed package "$CASE_DIR/pkg.dd" create --base "$A1" "$A2" "$CASE_DIR/pkg.dd"; }
t "create killed at $KILL_POINTS points" create_killed
make_package() { "$DOCKER_DELTA" create --base "$A1" "$A2" "$1" >/dev/null 2>&1 || fail "cannot make a package"; }
apply_killed() {
    mkdir -p "$CASE_DIR/in"
    make_package "$CASE_DIR/in/pkg.dd"
    killed oci "$CASE_DIR/out.d" apply --base "$A1" "$CASE_DIR/in/pkg.dd" "oci:$CASE_DIR/out.d"
}
t "apply (oci) killed at $KILL_POINTS points" apply_killed
process_oci_archive_killed() {
    killed oci-archive "$CASE_DIR/out.tar" process "$A2" "oci-archive:$CASE_DIR/out.tar" --compress gzip
}
process_docker_archive_killed() {
    killed docker-archive "$CASE_DIR/out.tar" process "oci-archive:$FIXTURES/app-v1.podman.oci.tar" "docker-archive:$CASE_DIR/out.tar"
}
t "process (oci-archive, gzip) killed at $KILL_POINTS points" process_oci_archive_killed
t "process (docker-archive) killed at $KILL_POINTS points" process_docker_archive_killed

# ---- full disk ------------------------------------------------------------------------------
small_dir() { # small_dir DIR SIZE: a tmpfs of SIZE at DIR
    mkdir -p "$1"
    mount -t tmpfs -o size="$2" tmpfs "$1" 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
}
full_destination() {
    small_dir "$CASE_DIR/small" 2m
    local dest
    for dest in "oci:$CASE_DIR/small/out.d" "oci-archive:$CASE_DIR/small/out.tar" "docker-archive:$CASE_DIR/small/out.tar"; do
        expect_fail 1 'no space left' process "$A2" "$dest"
        assert_match "the message names the path" "$CASE_DIR/small/" "$ERR"
        assert_eq "left in the full directory after $dest" "" "$(ls -A "$CASE_DIR/small")"
    done
    make_package "$CASE_DIR/pkg.dd"
    expect_fail 1 'no space left' apply --base "$A1" "$CASE_DIR/pkg.dd" "docker-archive:$CASE_DIR/small/out.tar"
    assert_eq "left in the full directory after apply" "" "$(ls -A "$CASE_DIR/small")"
    expect_fail 1 'no space left' create -m layer -c none "$A2" "$CASE_DIR/small/pkg.dd"
    assert_eq "left in the full directory after create" "" "$(ls -A "$CASE_DIR/small")"
}
t "full destination directory" full_destination
full_tmpdir() {
    small_tmpdir 2m
    # A compressed archive is decompressed into a temporary file before it is read.
    gzip -1c "$A2" >"$CASE_DIR/app-v2.tar.gz"
    expect_fail 1 'no space left' process "$CASE_DIR/app-v2.tar.gz" "oci:$CASE_DIR/out.d"
    assert_match "the message names the full TMPDIR" " in $TMPDIR: " "$ERR"
    assert_absent "$CASE_DIR/out.d"
    assert_eq "left beside the destination" "" "$(left_beside "$CASE_DIR/out.d" | grep -v '^small-tmp$' | grep -v 'app-v2.tar.gz' || true)"
    assert_eq "left in TMPDIR" "" "$(ls -A "$TMPDIR")"
}
t "full TMPDIR" full_tmpdir

# ---- --force replaces only what docker_delta writes -------------------------------------------
force_refuses() {
    mkdir -p home/documents; echo mine >home/notes.txt
    expect_fail 1 'replaces only what docker_delta writes.*not an OCI layout|oci-layout' process "$A1" "oci:$CASE_DIR/home" --force
    [[ -f home/notes.txt && -d home/documents ]] || fail "--force touched a directory that is not an OCI layout"
    echo "my text" >notes.txt
    expect_fail 1 'not a tar archive' process "$A1" "docker-archive:$CASE_DIR/notes.txt" --force
    expect_fail 1 'not a tar archive' process "$A1" "oci-archive:$CASE_DIR/notes.txt" --force
    expect_fail 1 'not a docker_delta package' create --base "$A1" "$A2" "$CASE_DIR/notes.txt" --force
    assert_eq "notes.txt after refusals" "my text" "$(cat notes.txt)"
    expect_fail 1 'not an OCI layout|not a directory' process "$A1" "oci:$CASE_DIR/notes.txt" --force
    ln -s home link.d
    expect_fail 1 'symbolic link' process "$A1" "oci:$CASE_DIR/link.d" --force
    [[ -L link.d ]] || fail "the symlink was replaced"
    # What docker_delta wrote is replaced.
    expect_ok process "$A1" "oci:$CASE_DIR/out.d"
    expect_ok process "$A2" "oci:$CASE_DIR/out.d" --force
    verify_image "oci:$CASE_DIR/out.d" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    tar -cf other.tar notes.txt
    expect_ok process "$A2" "docker-archive:$CASE_DIR/other.tar" --force
    verify_image "docker-archive:$CASE_DIR/other.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    make_package pkg.dd
    expect_ok create -m layer "$A2" "$CASE_DIR/pkg.dd" --force
    assert_eq "beside the destinations" "home link.d notes.txt other.tar out.d pkg.dd" \
        "$(find . -mindepth 1 -maxdepth 1 ! -name '.std*' -printf '%P\n' | sort | tr '\n' ' ' | sed 's/ $//')"
}
t "--force replaces only what docker_delta writes" force_refuses

umask_honoured() {
    umask 027
    expect_ok process "$A1" "oci:$CASE_DIR/out.d"
    expect_ok process "$A1" "docker-archive:$CASE_DIR/out.tar"
    expect_ok create -m layer "$A1" "$CASE_DIR/pkg.dd"
    assert_eq "mode of the layout" 750 "$(stat -c %a out.d)"
    assert_eq "mode of index.json" 640 "$(stat -c %a out.d/index.json)"
    assert_eq "modes of the blobs" 640 "$(stat -c %a out.d/blobs/sha256/* | sort -u | tr '\n' ' ' | sed 's/ $//')"
    assert_eq "mode of the archive" 640 "$(stat -c %a out.tar)"
    assert_eq "mode of the package" 640 "$(stat -c %a pkg.dd)"
    umask 022
    expect_ok process "$A1" "oci:$CASE_DIR/out2.d"
    assert_eq "mode of the layout (umask 022)" 755 "$(stat -c %a out2.d)"
    assert_eq "modes of the blobs (umask 022)" 644 "$(stat -c %a out2.d/blobs/sha256/* | sort -u | tr '\n' ' ' | sed 's/ $//')"
}
t "outputs honour the umask" umask_honoured

# ---- durability: every output file and directory is synced before and after its rename -------
synced() {
    command -v strace >/dev/null || skip "strace is not installed"
    strace -f -qq -y -e trace=fsync,rename,renameat2 -o trace.txt "$DOCKER_DELTA" process "$A1" "oci:$CASE_DIR/out.d" 2>/dev/null \
        || fail "process under strace failed"
    # The last rename puts the layout in place. Before it, every file in the layout and its
    # directories are synced (under the temporary name); after it, the parent directory.
    local rename_line f name
    rename_line=$(grep -nE ' (rename|renameat2?)\(' trace.txt | tail -1 | cut -d: -f1)
    sed -n "${rename_line}p" trace.txt | grep -q "out.d\"" || fail "the last rename is not the layout's: $(sed -n "${rename_line}p" trace.txt)"
    for f in index.json oci-layout blobs blobs/sha256 $(cd out.d && ls blobs/sha256 | sed 's#^#blobs/sha256/#'); do
        name=$(basename "$f")
        head -n "$rename_line" trace.txt | grep -E "fsync\([0-9]+<[^>]*docker_delta-tmp-[^>]*/${f//\//\\/}>\)" >/dev/null \
            || fail "$f not synced before the rename: $(head -n "$rename_line" trace.txt | grep fsync | head -20)"
    done
    tail -n +"$rename_line" trace.txt | grep -E "fsync\([0-9]+<$CASE_DIR>\)" >/dev/null || fail "the parent directory is not synced after the rename: $(tail -n +"$rename_line" trace.txt)"
}
t "outputs are synced before and after the rename" synced

finish
