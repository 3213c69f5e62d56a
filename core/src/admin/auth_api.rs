//! Admin login: `POST /api/auth/login` (password → `auth_token` cookie), `logout`, `status`,
//! `PUT /api/auth/password`, `GET/PUT /api/settings/require-login`, and the first-run password.

use http::header::{HeaderValue, SET_COOKIE};
use http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit, write};
use crate::admin::json::{invalid, ok, parse, timestamp};
use crate::auth::Caller;
use crate::auth::guard::SESSION_COOKIE;
use crate::auth::password::{MIN_PASSWORD_LEN, hash_password, verify_password};
use crate::auth::tokens::{new_session_token, sha256_hex};
use crate::config::settings::{AdminAuth, SecuritySettings, keys};
use crate::config::{AdminSession, AuditEntry, ConfigChange};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};

/// How long a login lasts.
pub const SESSION_TTL_MS: u64 = 24 * 60 * 60 * 1000;

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub password: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub ok: bool,
    pub expires_at: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OkResponse {
    pub ok: bool,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthStatus {
    /// This request carries a valid session or admin key.
    pub authenticated: bool,
    /// `session`, `key` or null.
    pub via: Option<String>,
    pub require_login: bool,
    pub password_set: bool,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequireLogin {
    pub require_login: bool,
}

fn internal(what: &'static str) -> impl Fn(String) -> GatewayError {
    move |e| GatewayError::internal(what, e)
}

/// Where login attempts are counted: the client address, else one shared bucket.
fn attempt_key(ctx: &RequestContext) -> String {
    ctx.client_addr.map(|a| a.to_string()).unwrap_or_else(|| "unknown".into())
}

/// Whether the client reached us over TLS (directly or through a proxy that says so).
fn over_tls(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https")
        || parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

fn cookie(value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("auth_token=; Path=/; Max-Age=0"))
}

/// `POST /api/auth/login`.
pub async fn login(mut call: Call<'_>) -> Answer {
    let (gateway, ctx, parts) = (call.gateway, call.ctx, call.parts);
    let now_ms = gateway.ports.clock.now_unix_ms();
    let bucket = attempt_key(ctx);
    let request: LoginRequest = parse(&call.body_bytes().await?)?;
    if let Err(retry_after_secs) = gateway.login_limiter.begin(&bucket, now_ms) {
        tracing::warn!(client = %bucket, "login refused: too many failed attempts from this address");
        return Err(GatewayError::RateLimited {
            message: "too many failed logins; try again later".into(),
            retry_after_secs,
        });
    }
    let snapshot = gateway.snapshot();
    let verified =
        snapshot.access.password_hash.as_deref().is_some_and(|hash| verify_password(&request.password, hash));
    let audit = |action: &str| AuditEntry {
        timestamp_ms: now_ms,
        actor: "admin".into(),
        ip: ctx.client_addr.map(|a| a.to_string()),
        action: action.into(),
        target: "session".into(),
        ..Default::default()
    };
    if !verified {
        gateway.login_limiter.failed(&bucket, now_ms);
        // Failures are worth auditing too (a brute force shows up), but write nothing else.
        write(gateway, Vec::new(), Some(audit("auth.login_failed"))).await?;
        return Err(GatewayError::Unauthorized("wrong password".into()));
    }
    gateway.login_limiter.succeeded(&bucket);
    let token = new_session_token(gateway.ports.entropy.as_ref())
        .map_err(|e| internal("cannot mint a session")(e.to_string()))?;
    let session =
        AdminSession { token_hash: sha256_hex(&token), created_ms: now_ms, expires_ms: now_ms + SESSION_TTL_MS };
    let changes = vec![ConfigChange::PruneSessions { before_ms: now_ms }, ConfigChange::PutSession(session.clone())];
    write(gateway, changes, Some(audit("auth.login"))).await?;
    let mut response = ok(&LoginResponse { ok: true, expires_at: timestamp(session.expires_ms) });
    response.headers_mut().insert(SET_COOKIE, cookie(&token, SESSION_TTL_MS / 1000, over_tls(parts)));
    Ok(response)
}

/// `POST /api/auth/logout`: ends the session the cookie names (if any) and clears the cookie.
pub async fn logout(call: Call<'_>) -> Answer {
    let (gateway, parts) = (call.gateway, call.parts);
    if let Some(token) = crate::auth::guard::session_cookie(&parts.headers) {
        write(gateway, vec![ConfigChange::DeleteSession(sha256_hex(token))], None).await?;
    }
    let mut response = ok(&OkResponse { ok: true });
    response.headers_mut().insert(SET_COOKIE, cookie("", 0, over_tls(parts)));
    Ok(response)
}

/// `GET /api/auth/status`: public; says whether this request is authenticated.
pub async fn status(call: Call<'_>) -> Answer {
    let (gateway, parts) = (call.gateway, call.parts);
    let snapshot = gateway.snapshot();
    let now_ms = gateway.ports.clock.now_unix_ms();
    let caller = crate::auth::guard::management(&snapshot.access, parts, now_ms).ok();
    let via = match caller {
        Some(Caller::Session) => Some("session".to_owned()),
        Some(Caller::Key(_)) => Some("key".to_owned()),
        _ => None,
    };
    Ok(ok(&AuthStatus {
        authenticated: via.is_some(),
        via,
        require_login: snapshot.access.security.require_login,
        password_set: snapshot.access.password_hash.is_some(),
    }))
}

/// `PUT /api/auth/password`: needs the current password, even with an admin key.
pub async fn change_password(mut call: Call<'_>) -> Answer {
    let (gateway, ctx) = (call.gateway, call.ctx);
    let request: PasswordChange = parse(&call.body_bytes().await?)?;
    let snapshot = gateway.snapshot();
    if !snapshot.access.password_hash.as_deref().is_some_and(|h| verify_password(&request.current_password, h)) {
        return Err(invalid("currentPassword", "is not the current password"));
    }
    if request.new_password.chars().count() < MIN_PASSWORD_LEN {
        return Err(invalid("newPassword", format!("must be at least {MIN_PASSWORD_LEN} characters")));
    }
    let hash = hash_password(&request.new_password, gateway.ports.entropy.as_ref())
        .map_err(|e| internal("cannot hash the password")(e.to_string()))?;
    let value =
        serde_json::to_value(AdminAuth { password_hash: hash }).map_err(|e| internal("encode")(e.to_string()))?;
    // Every session ends with the old password.
    let changes = vec![
        ConfigChange::PutSetting { key: keys::ADMIN_AUTH.into(), value },
        ConfigChange::PruneSessions { before_ms: u64::MAX },
    ];
    commit(
        gateway,
        ctx,
        Change { action: "auth.password_change", target: "admin".into(), before: None, after: None, changes },
    )
    .await?;
    Ok(ok(&OkResponse { ok: true }))
}

/// `GET /api/settings/require-login`.
pub async fn require_login(call: Call<'_>) -> Answer {
    Ok(ok(&RequireLogin { require_login: call.gateway.snapshot().access.security.require_login }))
}

/// `PUT /api/settings/require-login`.
pub async fn set_require_login(mut call: Call<'_>) -> Answer {
    let request: RequireLogin = parse(&call.body_bytes().await?)?;
    let snapshot = call.gateway.snapshot();
    let current = snapshot.access.security.clone();
    if !request.require_login && snapshot.access.password_hash.is_none() {
        // Harmless, but worth saying: with login off, anyone reaching /api gets in.
        tracing::warn!("login switched off: the management API is open to every client that reaches it");
    }
    let updated = SecuritySettings { require_login: request.require_login, ..current.clone() };
    put_security(call.gateway, call.ctx, &current, updated).await?;
    Ok(ok(&request))
}

/// Stores new security settings, audited.
pub async fn put_security(
    gateway: &Gateway,
    ctx: &RequestContext,
    before: &SecuritySettings,
    after: SecuritySettings,
) -> Result<(), GatewayError> {
    let value = serde_json::to_value(&after).map_err(|e| internal("encode")(e.to_string()))?;
    let change = Change {
        action: "settings.security",
        target: keys::SECURITY.into(),
        before: serde_json::to_value(before).ok(),
        after: Some(value.clone()),
        changes: vec![ConfigChange::PutSetting { key: keys::SECURITY.into(), value }],
    };
    commit(gateway, ctx, change).await
}

/// First run: with no admin password stored, sets `initial` (e.g. `INITIAL_PASSWORD`) or a
/// generated one. Returns the generated password so the runtime can show it once.
pub async fn ensure_admin_password(gateway: &Gateway, initial: Option<&str>) -> Result<Option<String>, GatewayError> {
    if gateway.snapshot().access.password_hash.is_some() {
        return Ok(None);
    }
    let entropy = gateway.ports.entropy.as_ref();
    let (password, generated) = match initial.map(str::trim).filter(|p| !p.is_empty()) {
        Some(given) if given.chars().count() >= MIN_PASSWORD_LEN => (given.to_owned(), false),
        Some(_) => {
            return Err(GatewayError::InvalidRequest(format!(
                "INITIAL_PASSWORD must be at least {MIN_PASSWORD_LEN} characters"
            )));
        }
        None => (
            new_session_token(entropy).map_err(|e| internal("cannot generate a password")(e.to_string()))?[..24]
                .to_owned(),
            true,
        ),
    };
    let hash = hash_password(&password, entropy).map_err(|e| internal("cannot hash the password")(e.to_string()))?;
    let value =
        serde_json::to_value(AdminAuth { password_hash: hash }).map_err(|e| internal("encode")(e.to_string()))?;
    let audit = AuditEntry {
        timestamp_ms: gateway.ports.clock.now_unix_ms(),
        actor: "system".into(),
        action: "auth.password_init".into(),
        target: "admin".into(),
        ..Default::default()
    };
    write(gateway, vec![ConfigChange::PutSetting { key: keys::ADMIN_AUTH.into(), value }], Some(audit)).await?;
    Ok(generated.then_some(password))
}
