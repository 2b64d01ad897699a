//! A built-in example as a user's spec file: the examples' keys are
//! placeholders `build` and `secrets` refuse, so a test that writes one to
//! `homelab.toml` and runs those commands gives it keys of its own first.

/// Public keys made for the tests with `ssh-keygen` (the private halves
/// were not kept): valid ed25519 keys, one per example key.
const TEST_KEYS: &[&str] = &[
    "AAAAC3NzaC1lZDI1NTE5AAAAIKxvdSzfFbgBFW3wZmZjF3YqAb0H2kFyQ3wZjAfSLw+6",
    "AAAAC3NzaC1lZDI1NTE5AAAAIOs5wQ6t1wHAy6jU2x5ZoQMoMojLcGqTW5pBVpSmZxYQ",
    "AAAAC3NzaC1lZDI1NTE5AAAAIP50jw5AojbJDYKpXVZST2eUKObZ2iWIc0qlCbN7NhZQ",
    "AAAAC3NzaC1lZDI1NTE5AAAAIISS84gP96w9nOER1HzLpeIZiWX4FLB6EXEbZUE0oF54",
    "AAAAC3NzaC1lZDI1NTE5AAAAIDwhf5ECa9a5ziZTsJ3jQytfF0Jm/ElEQo4/53NLXVFR",
    "AAAAC3NzaC1lZDI1NTE5AAAAIDjITwsBRUDkC8IFlqJjsFn5/GUoTpYC+SgbDgdi0X0v",
    "AAAAC3NzaC1lZDI1NTE5AAAAID3yp89gRuplLXBeeGP0MSIcxX58cAD8+UJYqYEuIng5",
    "AAAAC3NzaC1lZDI1NTE5AAAAIB5tHSE4P98M8Imr2/9jMOQdGLTgrzxUTmocy66ATXQ6",
    "AAAAC3NzaC1lZDI1NTE5AAAAIBG+Rd+nbGGyc2okG7WehwMxO0jTYTRDgPwfWw+v9k4V",
    "AAAAC3NzaC1lZDI1NTE5AAAAIK1N1pU+kY7lSzOaq+KQVQGdIyxD5W54RliX6KubKb60",
    "AAAAC3NzaC1lZDI1NTE5AAAAINxEp42Al7SefBkNQkq5YpjHakEfew9JnJzKmKDDyPe9",
    "AAAAC3NzaC1lZDI1NTE5AAAAIDt8L276w83f0JsheJyY9a7/zMxaSp0BDD6iuGh+BEkU",
    "AAAAC3NzaC1lZDI1NTE5AAAAIGOM7uqeZjE4egOpOjlh59pdakKvBIslRT2vTwhOWsTV",
];

/// `text` with every example key the project ships replaced by a test
/// key (each example key by its own, so distinct keys stay distinct).
pub fn own_keys(text: &str) -> String {
    let examples = compile::check::placeholders::EXAMPLE_KEYS;
    assert!(
        examples.len() <= TEST_KEYS.len(),
        "a test key per example key"
    );
    examples
        .iter()
        .zip(TEST_KEYS)
        .fold(text.to_string(), |t, ((example, _), ours)| {
            t.replace(example, ours)
        })
}
