set -euo pipefail
# Groups, members and OIDC clients of the spec, made to match through
# Pocket ID's API. $PLAN is the store file with names and URLs; the API key
# and client secrets are systemd credentials; request bodies go through
# stdin so no secret is on a command line.
headers="$(mktemp)"
printf 'X-API-Key: %s\n' "$(< "$CREDENTIALS_DIRECTORY/admin")" > "$headers"

call() {
  local method="$1" path="$2"
  shift 2
  curl -fsS --retry 30 --retry-connrefused --retry-delay 2 \
    -X "$method" -H @"$headers" -H 'Content-Type: application/json' \
    "$POCKET_ID_API$path" "$@"
}

uri() { jq -rn --arg v "$1" '$v | @uri'; }

find_id() { # collection field value
  call GET "/$1?search=$(uri "$3")" |
    jq -r --arg f "$2" --arg v "$3" '.data[] | select(.[$f] == $v) | .id' | head -n 1
}

group_id() {
  local id
  id="$(find_id user-groups name "$1")"
  if [ -z "$id" ]; then
    id="$(jq -n --arg n "$1" '{name: $n, friendlyName: $n}' |
      call POST /user-groups --data @- | jq -r .id)"
  fi
  printf '%s\n' "$id"
}

user_id() {
  local id
  id="$(find_id users username "$1")"
  if [ -z "$id" ]; then
    id="$(jq -n --arg u "$1" '{username: $u, firstName: $u}' |
      call POST /users --data @- | jq -r .id)"
  fi
  printf '%s\n' "$id"
}

jq -c '.groups[]' "$PLAN" | while read -r group; do
  gid="$(group_id "$(jq -r .name <<< "$group")")"
  members=()
  while read -r user; do
    members+=("$(user_id "$user")")
  done < <(jq -r '.members[]' <<< "$group")
  jq -n '{userIds: $ARGS.positional}' --args "${members[@]}" |
    call PUT "/user-groups/$gid/users" --data @- > /dev/null
done

jq -c '.clients[]' "$PLAN" | while read -r client; do
  id="$(jq -r .id <<< "$client")"
  body="$(jq -c '{name, callbackURLs: .redirects, isPublic: false, pkceEnabled: .pkce,
    isGroupRestricted: (.groups | length > 0)}' <<< "$client")"
  if call GET "/oidc/clients/$id" > /dev/null 2>&1; then
    call PUT "/oidc/clients/$id" --data @- > /dev/null <<< "$body"
  else
    jq -c --arg id "$id" '. + {id: $id}' <<< "$body" |
      call POST /oidc/clients --data @- > /dev/null
  fi
  # The client's file may hold the secret after a prefix (an environment
  # file line): the provider gets the bare value.
  jq -n --rawfile s "$CREDENTIALS_DIRECTORY/client-$id" --argjson c "$client" \
    '{secret: ($s | rtrimstr("\n") | ltrimstr($c.secretPrefix))}' |
    call POST "/oidc/clients/$id/secret" --data @- > /dev/null
  allowed=()
  while read -r name; do
    allowed+=("$(group_id "$name")")
  done < <(jq -r '.groups[]' <<< "$client")
  if [ "${#allowed[@]}" -gt 0 ]; then
    jq -n '{userGroupIds: $ARGS.positional}' --args "${allowed[@]}" |
      call PUT "/oidc/clients/$id/allowed-user-groups" --data @- > /dev/null
  fi
done
rm -f "$headers"
