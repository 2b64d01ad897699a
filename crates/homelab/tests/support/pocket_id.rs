//! A stand-in for the part of Pocket ID's v2 admin API the provisioning
//! unit uses (Pocket ID itself does not run here): groups, users and OIDC
//! clients in memory, the `X-API-Key` header checked, every request that
//! changes something logged. Served on a loopback port by a thread.

#[path = "http.rs"]
mod http;

use serde_json::{Value, json};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Default, Debug)]
pub struct State {
    pub groups: Vec<Value>,
    pub users: Vec<Value>,
    pub clients: Vec<Value>,
    /// `METHOD path` of each change.
    pub changes: Vec<String>,
}

pub struct PocketId {
    pub port: u16,
    pub state: Arc<Mutex<State>>,
}

impl PocketId {
    pub fn start(api_key: &str) -> PocketId {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, key) = (state.clone(), api_key.to_string());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &shared, &key);
            }
        });
        PocketId { port, state }
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, key: &str) {
    let req = http::read(&stream);
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let target = match req.query.as_str() {
        "" => req.path.clone(),
        query => format!("{}?{query}", req.path),
    };
    let (status, reply) = if req.header("x-api-key") == Some(key) {
        route(&mut state.lock().unwrap(), &req.method, &target, body)
    } else {
        (401, json!({"error": "unauthorized"}))
    };
    http::reply(stream, status, &reply.to_string());
}

fn route(s: &mut State, method: &str, target: &str, body: Value) -> (u16, Value) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let search = query
        .strip_prefix("search=")
        .unwrap_or("")
        .replace("%40", "@");
    let path: Vec<&str> = path.trim_start_matches("/api/").split('/').collect();
    if method != "GET" {
        s.changes.push(format!("{method} /{}", path.join("/")));
    }
    let found = |list: &[Value], field: &str| -> Vec<Value> {
        list.iter()
            .filter(|v| v[field].as_str().unwrap().contains(&search))
            .cloned()
            .collect()
    };
    match (method, path.as_slice()) {
        ("GET", ["user-groups"]) => (200, json!({"data": found(&s.groups, "name")})),
        ("GET", ["users"]) => (200, json!({"data": found(&s.users, "username")})),
        ("POST", ["user-groups"]) => {
            let g = json!({"id": format!("g{}", s.groups.len()), "name": body["name"], "friendlyName": body["friendlyName"], "users": []});
            s.groups.push(g.clone());
            (201, g)
        }
        ("POST", ["users"]) => {
            let u = json!({"id": format!("u{}", s.users.len()), "username": body["username"]});
            s.users.push(u.clone());
            (201, u)
        }
        ("PUT", ["user-groups", id, "users"]) => match s.groups.iter_mut().find(|g| g["id"] == *id)
        {
            Some(g) => {
                g["users"] = body["userIds"].clone();
                (200, g.clone())
            }
            None => (404, json!({})),
        },
        ("GET", ["oidc", "clients", id]) => match s.clients.iter().find(|c| c["id"] == *id) {
            Some(c) => (200, c.clone()),
            None => (404, json!({"error": "not found"})),
        },
        ("POST", ["oidc", "clients"]) => {
            s.clients.push(body.clone());
            (201, body)
        }
        ("PUT", ["oidc", "clients", id]) => match s.clients.iter_mut().find(|c| c["id"] == *id) {
            Some(c) => {
                for (k, v) in body.as_object().unwrap() {
                    c[k] = v.clone();
                }
                (200, c.clone())
            }
            None => (404, json!({})),
        },
        ("POST", ["oidc", "clients", id, "secret"]) => {
            match s.clients.iter_mut().find(|c| c["id"] == *id) {
                Some(c) => {
                    c["secret"] = body["secret"].clone();
                    (200, json!({"secret": body["secret"]}))
                }
                None => (404, json!({})),
            }
        }
        ("PUT", ["oidc", "clients", id, "allowed-user-groups"]) => {
            match s.clients.iter_mut().find(|c| c["id"] == *id) {
                Some(c) => {
                    c["allowedUserGroups"] = body["userGroupIds"].clone();
                    (200, c.clone())
                }
                None => (404, json!({})),
            }
        }
        _ => (404, json!({"error": "no such route"})),
    }
}
