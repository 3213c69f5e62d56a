//! Pieces every group's documentation shares: the management error responses.

use crate::admin::json::ErrorBody;

/// The errors any management operation may answer, in the management error shape.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ManagementErrors {
    /// Invalid request; `error.param` names the field at fault.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No valid session or admin key.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// A credential that may not do this (a user key; a cross-site cookie write).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such resource.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// Not allowed with this method.
    #[response(status = 405)]
    MethodNotAllowed(ErrorBody),
    /// The body is larger than the limit.
    #[response(status = 413)]
    TooLarge(ErrorBody),
}
