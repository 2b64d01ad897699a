# The forced command of the replica host's key on a source host (its
# `command=` in authorized_keys): sshd runs it for every session of that
# key, with what the replica asked for in SSH_ORIGINAL_COMMAND. It runs
# only what syncoid (sanoid 2.3.0) runs on the source of a pull with
# --no-sync-snap, --compress=none and --no-privilege-elevation, and only
# on the replicated datasets (`replicated`, `replicated_pool` above);
# everything else is refused. `zfs allow` backs it: the login holds `send`
# and `hold` on those datasets, nothing more.
set -f
asked=${SSH_ORIGINAL_COMMAND-}

refuse() {
  printf 'homelab: the replication key may not run: %s\n' "$1" >&2
  exit 1
}

# syncoid quotes every name with single quotes and needs no other
# character: without `$`, backquotes, `;`, `&`, `|`, redirections,
# brackets, globs or line breaks, no word can expand, chain or redirect.
case $asked in
'') refuse "a login without a command" ;;
*[!A-Za-z0-9_./:@,#\'\ -]*) refuse "a command with characters syncoid never sends" ;;
esac
# The words, as the shell splits them, quotes removed.
eval "set -- $asked" || refuse "$asked"

# A snapshot (`dataset@name`) of a replicated dataset.
snapshot() {
  case $1 in
  *@*) replicated "${1%%@*}" ;;
  *) return 1 ;;
  esac
}

# A bookmark (`dataset#name`) of a replicated dataset.
bookmark() {
  case $1 in
  *'#'*) replicated "${1%%#*}" ;;
  *) return 1 ;;
  esac
}

# A receive resume token (hexadecimal digits and dashes).
token() {
  case $1 in
  '' | *[!0-9a-f-]*) return 1 ;;
  *) return 0 ;;
  esac
}

# `zfs get` (syncoid's getzfsvalue, getsnaps, getsnapsfallback,
# getbookmarks): the `syncoid:sync` property, the snapshots and the
# bookmarks of a replicated dataset.
get() {
  case $# in
  3) [ "$1|$2" = "-H|syncoid:sync" ] ;;
  4) [ "$1|$2|$3" = "-Hpd|1|type,guid,creation" ] ;;
  6) [ "$1|$2|$3|$5" = "-Hpd|1|-t|guid,creation" ] &&
    { [ "$4" = snapshot ] || [ "$4" = bookmark ]; } ;;
  *) false ;;
  esac || return 1
  for dataset; do :; done
  replicated "$dataset"
}

# `zfs send` (syncfull, syncincremental, syncbookmark, syncresume, each
# also as getsendsize's estimate, -nvP): a full stream of a snapshot, an
# incremental one from a snapshot (-I, -i) or a bookmark (-i), the rest of
# an interrupted one (-t).
send() {
  if [ "$1" = -nvP ]; then shift; fi
  case $#:$1 in
  1:*) snapshot "$1" ;;
  2:-t) token "$2" ;;
  3:-I) snapshot "$2" && snapshot "$3" ;;
  3:-i) { snapshot "$2" || bookmark "$2"; } && snapshot "$3" ;;
  *) return 1 ;;
  esac
}

case $# in 0) refuse "$asked" ;; esac
case $1 in
exit)
  # The master connection syncoid opens first.
  [ $# -eq 1 ] && exit 0
  ;;
echo)
  # Its connection test.
  [ $# -eq 2 ] && [ "$2" = -n ] && exit 0
  ;;
command)
  # Whether mbuffer is here (checkcommands): it is not, so the stream
  # is `zfs send` alone, with nothing piped after it.
  [ $# -eq 3 ] && [ "$2" = -v ] && exit 1
  ;;
zpool)
  # Whether the pool can resume an interrupted stream.
  if [ $# -eq 7 ] &&
    [ "$2|$3|$4|$5|$6" = "get|-o|value|-H|feature@extensible_dataset" ] &&
    replicated_pool "$7"; then
    shift
    exec zpool "$@"
  fi
  ;;
zfs)
  shift
  case $# in 0) refuse "$asked" ;; esac
  verb=$1
  shift
  case $verb in
  get) get "$@" && exec zfs get "$@" ;;
  send) send "$@" && exec zfs send "$@" ;;
  esac
  ;;
esac
refuse "$asked"
