set -euo pipefail
shopt -s inherit_errexit
# The realm, its groups, members and OIDC clients of the spec, made to
# match through Keycloak's admin REST API. $PLAN is the store file with
# names and URLs; the admin client's secret and the client secrets are
# systemd credentials; request bodies and the token go through stdin and
# a private file, so no secret is on a command line.
headers="$(mktemp)"
trap 'rm -f "$headers"' EXIT

# A fresh admin token (they live a minute) in the header file.
login() {
  local token
  token="$(jq -rn --rawfile s "$CREDENTIALS_DIRECTORY/admin" --arg id "$ADMIN_CLIENT_ID" \
    '"grant_type=client_credentials&client_id=\($id | @uri)&client_secret=\($s | rtrimstr("\n") | @uri)"' |
    curl -fsS --retry 30 --retry-connrefused --retry-delay 2 \
      "$KEYCLOAK_URL/realms/master/protocol/openid-connect/token" --data @- |
    jq -r .access_token)"
  printf 'Authorization: Bearer %s\n' "$token" > "$headers"
}

call() {
  local method="$1" path="$2"
  shift 2
  curl -fsS -X "$method" -H @"$headers" -H 'Content-Type: application/json' \
    "$KEYCLOAK_URL/admin/realms$path" "$@"
}

uri() { jq -rn --arg v "$1" '$v | @uri'; }

realm="/$(uri "$REALM")"

group_id() {
  call GET "$realm/groups?exact=true&search=$(uri "$1")" |
    jq -r --arg n "$1" '.[] | select(.name == $n) | .id' | head -n 1
}

ensure_group() {
  if [ -z "$(group_id "$1")" ]; then
    jq -n --arg n "$1" '{name: $n}' | call POST "$realm/groups" --data @- > /dev/null
  fi
  group_id "$1"
}

user_id() {
  call GET "$realm/users?exact=true&username=$(uri "$1")" |
    jq -r --arg u "$1" '.[] | select(.username == $u) | .id' | head -n 1
}

ensure_user() {
  if [ -z "$(user_id "$1")" ]; then
    jq -n --arg u "$1" '{username: $u, enabled: true}' |
      call POST "$realm/users" --data @- > /dev/null
  fi
  user_id "$1"
}

client_uuid() {
  call GET "$realm/clients?clientId=$(uri "$1")" |
    jq -r --arg c "$1" '.[] | select(.clientId == $c) | .id' | head -n 1
}

login
if ! call GET "$realm" > /dev/null 2>&1; then
  jq -n --arg r "$REALM" '{realm: $r, enabled: true}' | call POST "" --data @- > /dev/null
fi

jq -c '.groups[]' "$PLAN" | while read -r group; do
  gid="$(ensure_group "$(jq -r .name <<< "$group")")"
  while read -r user; do
    call PUT "$realm/users/$(ensure_user "$user")/groups/$gid" > /dev/null
  done < <(jq -r '.members[]' <<< "$group")
  # Whom the spec no longer names leaves the group (the account stays), so
  # taking someone out of a group in the spec takes their access away.
  while read -r uid name; do
    if ! jq -e --arg u "$name" '.members | index($u)' <<< "$group" > /dev/null; then
      call DELETE "$realm/users/$uid/groups/$gid" > /dev/null
    fi
  done < <(call GET "$realm/groups/$gid/members?briefRepresentation=true&max=10000" |
    jq -r '.[] | "\(.id) \(.username)"')
done

jq -c '.clients[]' "$PLAN" | while read -r client; do
  login
  id="$(jq -r .id <<< "$client")"
  # The client's file may hold the secret after a prefix (an environment
  # file line): Keycloak gets the bare value.
  body="$(jq -n --rawfile s "$CREDENTIALS_DIRECTORY/client-$id" --argjson c "$client" '{
    clientId: $c.id, name: $c.name, enabled: true, protocol: "openid-connect",
    publicClient: false, clientAuthenticatorType: "client-secret",
    standardFlowEnabled: true, directAccessGrantsEnabled: false,
    redirectUris: $c.redirects,
    secret: ($s | rtrimstr("\n") | ltrimstr($c.secretPrefix)),
    attributes: (if $c.pkce then {"pkce.code.challenge.method": "S256"} else {} end)
  }')"
  uuid="$(client_uuid "$id")"
  if [ -z "$uuid" ]; then
    call POST "$realm/clients" --data @- > /dev/null <<< "$body"
    uuid="$(client_uuid "$id")"
  else
    call PUT "$realm/clients/$uuid" --data @- > /dev/null <<< "$body"
  fi
  # The user's groups in the ID token, the access token and userinfo.
  mappers="$realm/clients/$uuid/protocol-mappers/models"
  if ! call GET "$mappers" | jq -e '.[] | select(.name == "groups")' > /dev/null; then
    jq -n '{name: "groups", protocol: "openid-connect",
      protocolMapper: "oidc-group-membership-mapper",
      config: {"claim.name": "groups", "full.path": "false",
        "id.token.claim": "true", "access.token.claim": "true",
        "userinfo.token.claim": "true"}}' |
      call POST "$mappers" --data @- > /dev/null
  fi
done
