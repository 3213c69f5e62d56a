//! Starting the gateway in-process for tests (filled in with the server crate).
