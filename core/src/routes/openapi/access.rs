//! Documentation of keys, login and the audit log.
#![allow(dead_code)]

use utoipa::OpenApi;

use super::common::ManagementErrors;
use crate::admin::audit_api::AuditLog;
use crate::admin::auth_api::{AuthStatus, LoginRequest, LoginResponse, OkResponse, PasswordChange, RequireLogin};
use crate::admin::json::ErrorBody;
use crate::admin::keys::{CreatedKey, Deleted, KeyInput, KeyList, KeyView};

#[derive(OpenApi)]
#[openapi(
    paths(
        list_keys,
        create_key,
        get_key,
        update_key,
        patch_key,
        delete_key,
        revoke_key,
        login,
        logout,
        auth_status,
        change_password,
        get_require_login,
        put_require_login,
        audit_log,
        openapi_spec
    ),
    components(schemas(
        KeyView,
        KeyList,
        CreatedKey,
        Deleted,
        KeyInput,
        LoginRequest,
        LoginResponse,
        OkResponse,
        AuthStatus,
        PasswordChange,
        RequireLogin,
        AuditLog,
        ErrorBody
    ))
)]
pub struct Doc;

/// List every API key (revoked ones included); never the keys themselves.
#[utoipa::path(get, path = "/api/keys", tag = "keys", responses((status = 200, body = KeyList), ManagementErrors))]
fn list_keys() {}

/// Create a key; the answer carries the key this once.
#[utoipa::path(post, path = "/api/keys", tag = "keys", request_body = KeyInput, responses((status = 201, body = CreatedKey), ManagementErrors))]
fn create_key() {}

/// One key.
#[utoipa::path(get, path = "/api/keys/{id}", tag = "keys", params(("id" = String, Path, description = "The key's id (`key_…`)")),
    responses((status = 200, body = KeyView), ManagementErrors))]
fn get_key() {}

/// Change a key; fields left out keep their value.
#[utoipa::path(put, path = "/api/keys/{id}", tag = "keys", params(("id" = String, Path)), request_body = KeyInput,
    responses((status = 200, body = KeyView), ManagementErrors))]
fn update_key() {}

/// Change a key; fields left out keep their value.
#[utoipa::path(patch, path = "/api/keys/{id}", tag = "keys", params(("id" = String, Path)), request_body = KeyInput,
    responses((status = 200, body = KeyView), ManagementErrors))]
fn patch_key() {}

/// Delete a key (its usage rows keep its id).
#[utoipa::path(delete, path = "/api/keys/{id}", tag = "keys", params(("id" = String, Path)), responses((status = 200, body = Deleted), ManagementErrors))]
fn delete_key() {}

/// Revoke a key: requests with it are refused from now on.
#[utoipa::path(post, path = "/api/keys/{id}/revoke", tag = "keys", params(("id" = String, Path)), responses((status = 200, body = KeyView), ManagementErrors))]
fn revoke_key() {}

/// Log in with the admin password: sets the `auth_token` cookie (HttpOnly, SameSite=Strict).
/// Failed attempts are limited per client address (429 with Retry-After once locked out).
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse, headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 429, body = ErrorBody, headers(("retry-after" = u64)))
    ))]
fn login() {}

/// End the session the cookie names and clear the cookie.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 200, body = OkResponse), (status = 413, body = ErrorBody)))]
fn logout() {}

/// Whether this request is authenticated, and how login works here.
#[utoipa::path(get, path = "/api/auth/status", tag = "auth", responses((status = 200, body = AuthStatus)))]
fn auth_status() {}

/// Change the admin password (every session ends).
#[utoipa::path(put, path = "/api/auth/password", tag = "auth", request_body = PasswordChange, responses((status = 200, body = OkResponse), ManagementErrors))]
fn change_password() {}

/// Whether the management API needs a login.
#[utoipa::path(get, path = "/api/settings/require-login", tag = "settings", responses((status = 200, body = RequireLogin), ManagementErrors))]
fn get_require_login() {}

/// Switch the login requirement.
#[utoipa::path(put, path = "/api/settings/require-login", tag = "settings", request_body = RequireLogin, responses((status = 200, body = RequireLogin), ManagementErrors))]
fn put_require_login() {}

/// The newest management changes, newest first.
#[utoipa::path(get, path = "/api/compliance/audit-log", tag = "audit", params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "How many entries (default 100)")),
    responses((status = 200, body = AuditLog), ManagementErrors))]
fn audit_log() {}

/// This document.
#[utoipa::path(get, path = "/api/openapi/spec", tag = "operations", responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object), ManagementErrors))]
fn openapi_spec() {}

/// A create takes the same fields as an update, but the name is required: the schema of the
/// create body is `KeyInput` with `name` required and not nullable.
pub fn name_required_on_create(doc: &mut serde_json::Value) {
    let Some(mut create) = doc.pointer("/components/schemas/KeyInput").cloned() else { return };
    create["required"] = serde_json::json!(["name"]);
    create["properties"]["name"]["type"] = serde_json::json!("string");
    create["description"] = serde_json::json!("A new key's fields; the name is required.");
    doc["components"]["schemas"]["CreateKeyInput"] = create;
    if let Some(schema) = doc.pointer_mut("/paths/~1api~1keys/post/requestBody/content/application~1json/schema") {
        *schema = serde_json::json!({ "$ref": "#/components/schemas/CreateKeyInput" });
    }
}
