//! omniroute-lambda: the gateway as an AWS Lambda function behind a function URL with
//! `InvokeMode: RESPONSE_STREAM`. It reuses the native ports and bootstrap of omniroute-native
//! (shared with the server); this crate only reads its settings from the Lambda environment,
//! converts the function URL event into a core request, and streams the core's response back,
//! finishing the usage writes before the body ends (Lambda freezes the sandbox as soon as it
//! does).

pub mod body;
pub mod handler;
pub mod request;
pub mod settings;

pub use body::ResponseBody;
pub use handler::LambdaHandler;
