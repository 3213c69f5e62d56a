//! Which remote database an instance shares, the same way on every runtime:
//! `OMNIROUTE_DATABASE_URL` (or Turso's `TURSO_DATABASE_URL`, or `[database] url`), its token
//! from `OMNIROUTE_DATABASE_AUTH_TOKEN`, `TURSO_AUTH_TOKEN` or the variable `[database]
//! auth_token_env` names (none is fine for a local sqld without auth).

use super::file::DatabaseSection;

/// A remote libSQL database (Turso, sqld) to connect to.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteDatabase {
    pub url: String,
    /// Empty for none.
    pub auth_token: String,
}

/// Never prints the token (nor the URL's path or query, where a token may ride).
impl std::fmt::Debug for RemoteDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("", ""));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        f.debug_struct("RemoteDatabase")
            .field("url", &format!("{scheme}://{host}"))
            .field("auth_token", &if self.auth_token.is_empty() { "(none)" } else { "(set)" })
            .finish()
    }
}

/// The remote database `env` and the file's `[database]` name, or `None` (the runtime's own
/// store: the embedded file, or memory on a Worker).
pub fn remote_database(
    section: Option<&DatabaseSection>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<RemoteDatabase> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let url = set("OMNIROUTE_DATABASE_URL")
        .or_else(|| set("TURSO_DATABASE_URL"))
        .or_else(|| section.and_then(|d| d.url.clone()).filter(|u| !u.trim().is_empty()))?;
    let token = set("OMNIROUTE_DATABASE_AUTH_TOKEN")
        .or_else(|| set("TURSO_AUTH_TOKEN"))
        .or_else(|| section.and_then(|d| d.auth_token_env.as_deref()).and_then(set))
        .unwrap_or_default();
    Some(RemoteDatabase { url: url.trim().to_owned(), auth_token: token.trim().to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_over_the_file_and_turso_names_are_accepted() {
        let section = DatabaseSection { url: Some("http://file:8080".into()), auth_token_env: Some("MY_TOKEN".into()) };
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let none = env(&[]);
        assert_eq!(remote_database(None, &none), None);
        let from_file = remote_database(Some(&section), &env(&[("MY_TOKEN", "t1")])).unwrap();
        assert_eq!((from_file.url.as_str(), from_file.auth_token.as_str()), ("http://file:8080", "t1"));
        let turso = env(&[("TURSO_DATABASE_URL", "libsql://db.turso.io"), ("TURSO_AUTH_TOKEN", "t2")]);
        let chosen = remote_database(Some(&section), &turso).unwrap();
        assert_eq!((chosen.url.as_str(), chosen.auth_token.as_str()), ("libsql://db.turso.io", "t2"));
        let shown = format!("{chosen:?}");
        assert!(shown.contains("db.turso.io") && !shown.contains("t2"), "{shown}");
    }
}
