//! The `fetch` event: convert the runtime's request, serve it with the isolate's gateway, and
//! convert the response back, streaming. Every failure becomes an OpenAI-shaped error answer.

use std::rc::Rc;

use http::StatusCode;
use omniroute_core::Body;
use worker::worker_sys::web_sys;
use worker::{Context, Env, event};

use crate::convert::{request_from_js, response_to_js};
use crate::error::{error_response, internal};
use crate::gateway::gateway;
use crate::spawner::InRequest;
use crate::usage_flush::flush_when_done;

#[event(fetch)]
async fn fetch(request: web_sys::Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    let ctx = Rc::new(ctx);
    let response = InRequest::new(ctx.clone(), Box::pin(serve(request, env))).await;
    match response_to_js(response, ctx.clone()) {
        Ok(response) => Ok(response),
        Err(err) => {
            worker::console_error!("omniroute: {err}");
            let fallback = internal("internal_error", "the gateway could not send its response");
            // If even this fails, the macro answers a plain 500.
            response_to_js(fallback, ctx).map_err(worker::Error::RustError)
        }
    }
}

async fn serve(request: web_sys::Request, env: Env) -> http::Response<Body> {
    let gateway = match gateway(&env).await {
        Ok(gateway) => gateway,
        Err(err) => return internal(err.code, &err.message),
    };
    let request = match request_from_js(&request) {
        Ok(request) => request,
        Err(reason) => {
            return error_response(StatusCode::BAD_REQUEST, "invalid_request_error", "invalid_request", &reason);
        }
    };
    // An isolate has no loop of its own: on a shared database it catches up with the other
    // instances here, at most once a second (`omniroute_core::gateway::catch_up`).
    gateway.catch_up().await;
    let response = gateway.handle(request).await;
    flush_when_done(&gateway, response)
}
