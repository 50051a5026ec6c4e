# Sourced by the image scripts: one way to make a reproducible tar, so that the same files give the
# same bytes on every machine and every day: entries sorted by name, every mtime SOURCE_DATE_EPOCH,
# numeric owners, no atime/ctime, no "./" prefix, gzip without a name or time stamp.

# deterministic_tar <dir> [members...]: a tar of <dir>'s members (default: all of its entries) on stdout.
deterministic_tar() {
  local dir=$1; shift
  local members=("$@")
  if [ ${#members[@]} -eq 0 ]; then
    mapfile -t members < <(cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort)
  fi
  LC_ALL=C tar --sort=name --format=posix \
    --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' \
    --mtime="@${SOURCE_DATE_EPOCH:?}" --numeric-owner \
    -C "$dir" -cf - -- "${members[@]}"
}

# deterministic_tar_gz <dir> [members...]: the same, gzip'd.
deterministic_tar_gz() {
  deterministic_tar "$@" | nice -n 19 gzip -n -6
}
