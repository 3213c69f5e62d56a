//! One routed request as a handler sees it: the gateway, the request's context, its head, the
//! path parameters the route table matched, and its body (read on demand, within the limit).
//! Every handler of the route table (`routes::table`) takes a [`Call`], so a new endpoint needs
//! no plumbing of its own.

use std::borrow::Cow;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method};

use crate::body::{Body, CollectError};
use crate::error::GatewayError;
use crate::gateway::{Gateway, RequestContext};
use crate::percent::percent_decode;

/// A request matched to a route: what its handler reads.
pub struct Call<'a> {
    pub gateway: &'a Gateway,
    pub ctx: &'a RequestContext,
    pub parts: &'a Parts,
    /// The path parameters of the matched pattern (`{id}` in `/api/keys/{id}`), as sent.
    pub params: matchit::Params<'a, 'a>,
    /// The request body, untouched until a handler reads it.
    pub body: Body,
}

impl<'a> Call<'a> {
    pub fn method(&self) -> &'a Method {
        &self.parts.method
    }

    pub fn headers(&self) -> &'a HeaderMap {
        &self.parts.headers
    }

    pub fn query(&self) -> Option<&'a str> {
        self.parts.uri.query()
    }

    /// A path parameter as sent (still `%`-encoded). The route table names every parameter its
    /// handler reads, so a missing one is a table/handler mismatch: it reads as empty and the
    /// handler's own validation answers.
    pub fn param(&self, name: &str) -> &'a str {
        self.params.get(name).unwrap_or_default()
    }

    /// A path parameter with `%XX` escapes decoded (ids that may hold `/` or spaces).
    pub fn decoded_param(&self, name: &str) -> Cow<'a, str> {
        percent_decode(self.param(name))
    }

    /// Takes the body as it arrives (streaming handlers); later reads see it empty.
    pub fn take_body(&mut self) -> Body {
        std::mem::replace(&mut self.body, Body::empty())
    }

    /// The whole body, within the gateway's size limit.
    pub async fn body_bytes(&mut self) -> Result<Bytes, GatewayError> {
        read_body(self.gateway, self.take_body()).await
    }
}

/// A request body, within the size limit: 413 past it, 400 when the client's stream broke.
pub async fn read_body(gateway: &Gateway, body: Body) -> Result<Bytes, GatewayError> {
    body.collect(gateway.options.max_body_bytes).await.map_err(|err| match err {
        CollectError::TooLarge { limit } => GatewayError::BodyTooLarge(limit),
        CollectError::Read(e) => GatewayError::InvalidRequest(format!("request body could not be read: {e}")),
    })
}

/// What a handler answers: a response, or an error its route renders in the route's format.
pub type Answer = Result<http::Response<Body>, GatewayError>;
