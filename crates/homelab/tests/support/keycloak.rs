//! A stand-in for the part of Keycloak's admin REST API the provisioning
//! unit uses (Keycloak, a Java server with a database, does not run
//! here): the master realm's token endpoint for a client-credentials
//! grant, realms, groups, users, group membership (joining, leaving and
//! the members of a group), clients and their
//! protocol mappers, in memory. Like Keycloak it answers 409 to a second
//! create of the same name and wants the bearer token it issued. Every
//! request that changes something is logged. Served on a loopback port by
//! a thread.

#[path = "http.rs"]
mod http;

use http::Request;
use serde_json::{Value, json};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Default, Debug)]
pub struct State {
    pub realms: Vec<String>,
    pub groups: Vec<Value>,
    /// Users with `groups`, the ids of the groups they joined.
    pub users: Vec<Value>,
    /// Clients with `mappers`, their protocol mappers.
    pub clients: Vec<Value>,
    /// `METHOD path` of each change.
    pub changes: Vec<String>,
    tokens: Vec<String>,
}

pub struct Keycloak {
    pub port: u16,
    pub state: Arc<Mutex<State>>,
}

/// The admin service account the stand-in accepts.
struct Admin {
    client_id: String,
    secret: String,
}

impl Keycloak {
    pub fn start(client_id: &str, secret: &str) -> Keycloak {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let admin = Admin {
            client_id: client_id.into(),
            secret: secret.into(),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &shared, &admin);
            }
        });
        Keycloak { port, state }
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, admin: &Admin) {
    let req = http::read(&stream);
    let (status, reply) = {
        let mut s = state.lock().unwrap();
        if req.path == "/realms/master/protocol/openid-connect/token" {
            token(&mut s, &req, admin)
        } else if bearer(&req).is_some_and(|t| s.tokens.iter().any(|k| k == t)) {
            route(&mut s, &req)
        } else {
            (401, json!({"error": "HTTP 401 Unauthorized"}))
        }
    };
    let text = if reply.is_null() {
        String::new()
    } else {
        reply.to_string()
    };
    http::reply(stream, status, &text);
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(req: &Request) -> Option<&str> {
    req.header("authorization")?.strip_prefix("Bearer ")
}

fn param(query: &str, key: &str) -> String {
    http::form(query)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn token(s: &mut State, req: &Request, admin: &Admin) -> (u16, Value) {
    let fields = http::form(std::str::from_utf8(&req.body).unwrap());
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("grant_type") == Some("client_credentials")
        && get("client_id") == Some(admin.client_id.as_str())
        && get("client_secret") == Some(admin.secret.as_str())
    {
        let t = format!("token-{}", s.tokens.len());
        s.tokens.push(t.clone());
        (200, json!({"access_token": t, "expires_in": 60}))
    } else {
        (401, json!({"error": "unauthorized_client"}))
    }
}

fn route(s: &mut State, req: &Request) -> (u16, Value) {
    let path: Vec<&str> = req
        .path
        .trim_start_matches("/admin/realms")
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    if req.method != "GET" {
        s.changes.push(format!("{} {}", req.method, req.path));
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    match (req.method.as_str(), path.as_slice()) {
        ("POST", []) => create_realm(s, &body),
        (_, [realm, ..]) if !s.realms.iter().any(|r| r == realm) => {
            (404, json!({"error": "Realm not found."}))
        }
        ("GET", [realm]) => (200, json!({"realm": realm, "enabled": true})),
        ("GET", [_, "groups"]) => {
            let q = param(&req.query, "search");
            let found = s
                .groups
                .iter()
                .filter(|g| g["name"].as_str().unwrap().contains(&q));
            (200, Value::Array(found.cloned().collect()))
        }
        ("POST", [_, "groups"]) => create(&mut s.groups, "name", &body, "g"),
        ("GET", [_, "users"]) => {
            let q = param(&req.query, "username");
            let found = s
                .users
                .iter()
                .filter(|u| u["username"].as_str().unwrap().contains(&q));
            (200, Value::Array(found.cloned().collect()))
        }
        ("POST", [_, "users"]) => {
            let user =
                json!({"username": body["username"], "enabled": body["enabled"], "groups": []});
            create(&mut s.users, "username", &user, "u")
        }
        ("PUT", [_, "users", uid, "groups", gid]) => join(s, uid, gid),
        ("DELETE", [_, "users", uid, "groups", gid]) => leave(s, uid, gid),
        ("GET", [_, "groups", gid, "members"]) => {
            let members = s
                .users
                .iter()
                .filter(|u| u["groups"].as_array().unwrap().iter().any(|g| g == *gid));
            let brief = members.map(|u| json!({"id": u["id"], "username": u["username"]}));
            (200, Value::Array(brief.collect()))
        }
        ("GET", [_, "clients"]) => {
            let q = param(&req.query, "clientId");
            let found = s.clients.iter().filter(|c| c["clientId"] == q.as_str());
            (200, Value::Array(found.cloned().collect()))
        }
        ("POST", [_, "clients"]) => {
            let mut client = body.clone();
            client["mappers"] = json!([]);
            create_by(&mut s.clients, "clientId", client, "c")
        }
        ("PUT", [_, "clients", uuid]) => match s.clients.iter_mut().find(|c| c["id"] == *uuid) {
            Some(c) => {
                for (k, v) in body.as_object().unwrap() {
                    c[k] = v.clone();
                }
                (204, Value::Null)
            }
            None => (404, json!({"error": "Could not find client"})),
        },
        ("GET", [_, "clients", uuid, "protocol-mappers", "models"]) => {
            match s.clients.iter().find(|c| c["id"] == *uuid) {
                Some(c) => (200, c["mappers"].clone()),
                None => (404, json!({})),
            }
        }
        ("POST", [_, "clients", uuid, "protocol-mappers", "models"]) => {
            match s.clients.iter_mut().find(|c| c["id"] == *uuid) {
                Some(c) => {
                    let mappers = c["mappers"].as_array_mut().unwrap();
                    if mappers.iter().any(|m| m["name"] == body["name"]) {
                        return (409, json!({"errorMessage": "Protocol mapper exists"}));
                    }
                    mappers.push(body);
                    (201, Value::Null)
                }
                None => (404, json!({})),
            }
        }
        _ => (404, json!({"error": "no such route"})),
    }
}

fn create_realm(s: &mut State, body: &Value) -> (u16, Value) {
    let name = body["realm"].as_str().unwrap_or("").to_string();
    if s.realms.contains(&name) {
        return (409, json!({"errorMessage": "Conflict detected"}));
    }
    s.realms.push(name);
    (201, Value::Null)
}

fn create(list: &mut Vec<Value>, key: &str, body: &Value, prefix: &str) -> (u16, Value) {
    let mut item = json!({ key: body[key] });
    for (k, v) in body.as_object().unwrap() {
        item[k] = v.clone();
    }
    create_by(list, key, item, prefix)
}

/// Adds `item` with a new id, unless one with the same `key` exists.
fn create_by(list: &mut Vec<Value>, key: &str, mut item: Value, prefix: &str) -> (u16, Value) {
    if list.iter().any(|o| o[key] == item[key]) {
        return (409, json!({"errorMessage": format!("same {key} exists")}));
    }
    item["id"] = json!(format!("{prefix}{}", list.len()));
    list.push(item);
    (201, Value::Null)
}

fn join(s: &mut State, uid: &str, gid: &str) -> (u16, Value) {
    if !s.groups.iter().any(|g| g["id"] == gid) {
        return (404, json!({"error": "Could not find group by id"}));
    }
    match s.users.iter_mut().find(|u| u["id"] == uid) {
        Some(u) => {
            let groups = u["groups"].as_array_mut().unwrap();
            if !groups.iter().any(|g| g == gid) {
                groups.push(json!(gid));
            }
            (204, Value::Null)
        }
        None => (404, json!({"error": "User not found"})),
    }
}

fn leave(s: &mut State, uid: &str, gid: &str) -> (u16, Value) {
    match s.users.iter_mut().find(|u| u["id"] == uid) {
        Some(u) => {
            u["groups"].as_array_mut().unwrap().retain(|g| g != gid);
            (204, Value::Null)
        }
        None => (404, json!({"error": "User not found"})),
    }
}
