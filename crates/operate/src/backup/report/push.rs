//! The push to the status page: Gatus's external-endpoint API,
//! `POST {url}/api/v1/endpoints/{key}/external?success=…&error=…&duration=…`
//! with `Authorization: Bearer <token>`. The token is read from its agenix
//! secret file and sent only in that header, never in an argument or a
//! message.
//!
//! `http://` is spoken directly (the usual case: Gatus on the LAN or on
//! loopback); `https://` goes through `curl`, which reads the header from
//! its standard input so the token stays out of the process list.

use crate::backup::progress::Progress;
use crate::backup::restic::secret_file;
use crate::backup::{Context, last_words};
use crate::probe::status_line;
use crate::runner::Cmd;
use std::time::Duration;

/// Pushes one result; a failure is a warning line, never an error.
pub fn report(ctx: &Context, key: &str, error: Option<&str>, took: Duration, progress: &Progress) {
    let Some(page) = &ctx.plan.status_page else {
        return;
    };
    // A public page shows that a run failed, never why: the text names
    // paths, repositories and hosts.
    let shown = error.filter(|_| !page.public);
    let pushed = token(ctx, &page.token_secret).and_then(|token| {
        let url = push_url(&page.url, key, error.is_none(), shown, took);
        if url.starts_with("https://") {
            post_with_curl(ctx, &url, &token)
        } else {
            post_http(&url, &token)
        }
    });
    if let Err(e) = pushed {
        progress.line(format!(
            "warning: the status page did not take the result of {key}: {e}"
        ));
    }
}

fn token(ctx: &Context, secret: &str) -> Result<String, String> {
    let path = ctx.host_path(&secret_file(secret));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the token {}: {e}", path.display()))?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(format!("the token file {} is empty", path.display()));
    }
    Ok(token)
}

/// The push URL with its query, as Gatus reads it (it keeps `error` of
/// a failed run only).
pub(crate) fn push_url(
    base: &str,
    key: &str,
    success: bool,
    error: Option<&str>,
    took: Duration,
) -> String {
    let mut url = format!(
        "{}/api/v1/endpoints/{}/external?success={success}",
        base.trim_end_matches('/'),
        encode(key),
    );
    if let Some(e) = error {
        url.push_str("&error=");
        url.push_str(&encode(e));
    }
    url.push_str(&format!("&duration={}s", took.as_secs().max(1)));
    url
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `POST` over plain HTTP; any 2xx answer is taken.
fn post_http(url: &str, token: &str) -> Result<(), String> {
    let answer = status_line(url, "POST", &format!("Authorization: Bearer {token}\r\n"))?;
    match answer.line.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(()),
        Some(_) => Err(format!("{} answered `{}`", answer.authority, answer.line)),
        None => Err(format!("{}: no HTTP answer", answer.authority)),
    }
}

/// `POST` over HTTPS with curl; the header travels on curl's stdin.
fn post_with_curl(ctx: &Context, url: &str, token: &str) -> Result<(), String> {
    let cmd = Cmd::new("curl")
        .args(["--silent", "--show-error", "--fail", "--max-time", "15"])
        .args(["--request", "POST", "--header", "@-", url])
        .stdin(format!("Authorization: Bearer {token}\n"));
    let out = ctx
        .runner
        .run(&cmd)
        .map_err(|e| format!("cannot run curl: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(last_words(&out.stderr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_url_carries_result_error_and_duration() {
        assert_eq!(
            push_url(
                "http://status.lan:8080/",
                "backups_app-drill",
                false,
                Some("a b/c: 3 rows & more"),
                Duration::from_secs_f64(83.4)
            ),
            "http://status.lan:8080/api/v1/endpoints/backups_app-drill/external\
             ?success=false&error=a%20b%2Fc%3A%203%20rows%20%26%20more&duration=83s"
        );
        assert!(
            push_url("http://s", "k", true, None, Duration::ZERO)
                .ends_with("?success=true&duration=1s")
        );
        assert!(
            push_url("http://s", "k", false, None, Duration::ZERO)
                .ends_with("?success=false&duration=1s")
        );
    }
}
