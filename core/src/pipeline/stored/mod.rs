//! Stored responses, as OpenAI's Responses API keeps them: a Responses request made with
//! `store` (its default) is kept with its input and output items, so a later request can name
//! it (`previous_response_id`) or its items (`{"type":"item_reference","id":…}`), and
//! `GET/DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items` can read it back,
//! whatever provider answered.
//!
//! The request path: [`resolve`] fills in what a request names before anything else reads its
//! body (the hub request is built after it, so every provider gets the whole conversation);
//! [`StorePlan`] decides whether the answer is kept and keeps it once it is complete. Each
//! key sees only its own responses; requests without a key share the anonymous scope.

pub mod api;
mod resolve;
mod tap;
mod write;

#[cfg(test)]
mod tests;

use http::StatusCode;

use crate::auth::Caller;
use crate::error::GatewayError;

pub use resolve::{MAX_CHAIN, Resolved, names_stored_state, resolve};
pub use write::StorePlan;

/// The scope a caller's responses live in: its key, else the anonymous scope an open gateway's
/// requests share. An admin session has a scope of its own, so it neither reads nor writes the
/// responses of requests that came without a key.
pub fn scope(caller: &Caller) -> String {
    match caller {
        Caller::Key(key) => format!("key:{}", key.id),
        Caller::Anonymous => "anonymous".to_owned(),
        Caller::Session => "session".to_owned(),
    }
}

/// `GET`/`DELETE` of a response this caller cannot see: 404 in OpenAI's words.
pub fn response_not_found(id: &str) -> GatewayError {
    GatewayError::NotStored {
        message: format!("Response with id '{id}' not found."),
        status: StatusCode::NOT_FOUND,
        code: "not_found",
    }
}

/// A `previous_response_id` this caller cannot continue: OpenAI answers 400 with this code.
pub fn previous_not_found(id: &str) -> GatewayError {
    GatewayError::NotStored {
        message: format!("Previous response with id '{id}' not found."),
        status: StatusCode::BAD_REQUEST,
        code: "previous_response_not_found",
    }
}

/// An `item_reference` to an item this caller has no stored copy of.
pub fn item_not_found(id: &str) -> GatewayError {
    GatewayError::NotStored {
        message: format!("Item with id '{id}' not found."),
        status: StatusCode::NOT_FOUND,
        code: "not_found",
    }
}
