//! `GET /api/openapi/spec`: the OpenAPI document of every route, in runtimes built with it
//! (not the Worker, whose wasm stays small without it).

use crate::gateway::call::{Answer, Call};

pub async fn serve(_call: Call<'_>) -> Answer {
    #[cfg(feature = "openapi")]
    return super::openapi::spec();
    #[cfg(not(feature = "openapi"))]
    Err(crate::error::GatewayError::NotFound(
        "/api/openapi/spec (this runtime is built without the OpenAPI document)".into(),
    ))
}
