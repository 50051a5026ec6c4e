#!/bin/busybox sh
# The Loam e2e guest agent: runs the host's commands and reports exit code, stdout and stderr, over
# the virtio-serial port named loam.agent. One request or reply per line (see harness/agent.ts):
#   host -> guest   PING <id>
#                   RUN <id> <timeout seconds> <base64 of a bash script>
#   guest -> host   PONG <id>
#                   RES <id> <exit code> <base64 of stdout> <base64 of stderr>
# Each RUN goes to the background, so a long command (a listener, say) does not block the next one;
# replies are written under a lock so two of them never interleave on the port.
bb=/bin/busybox
state=/run/loam-agent
mkdir -p "$state"

port=
for dev in /sys/class/virtio-ports/*; do
  [ "$(cat "$dev/name" 2>/dev/null)" = loam.agent ] && port=/dev/$($bb basename "$dev")
done
[ -n "$port" ] || { echo "loam-agent: no virtio-serial port named loam.agent"; echo o >/proc/sysrq-trigger; $bb sleep 10; }

# A virtio-serial port may be opened once only, so one descriptor serves both directions.
exec 3<>"$port"

reply() {
  # $1: file holding one complete reply line
  flock "$state/lock" $bb cat "$1" >&3
}

run_request() {
  id=$1; timeout=$2; script=$3
  dir=$state/$id
  mkdir -p "$dir"
  echo "$script" | $bb base64 -d >"$dir/script"
  (cd / && exec $bb timeout -s KILL "$timeout" /bin/bash "$dir/script" >"$dir/out" 2>"$dir/err" </dev/null 3>&-)
  code=$?
  {
    printf 'RES %s %s ' "$id" "$code"
    $bb base64 -w 0 "$dir/out"
    printf ' '
    $bb base64 -w 0 "$dir/err"
    printf '\n'
  } >"$dir/reply"
  reply "$dir/reply"
  rm -rf "$dir"
}

echo "loam-agent: listening on $port"
while :; do
  # read fails (end of file) while no host is connected to the socket; wait for one.
  if ! read -r verb id arg1 arg2 <&3; then
    $bb usleep 100000
    continue
  fi
  case $verb in
    PING) echo "PONG $id" >"$state/pong-$id"; reply "$state/pong-$id"; rm -f "$state/pong-$id" ;;
    RUN) run_request "$id" "$arg1" "$arg2" & ;;
    *) echo "loam-agent: ignoring request '$verb'" ;;
  esac
done
