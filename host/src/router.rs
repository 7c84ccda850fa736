//! Spin's HTTP routing: exact routes and trailing `/...` wildcards, the most specific match wins
//! (an exact route beats any wildcard; a longer wildcard prefix beats a shorter one), and the
//! `spin-*` request headers a component sees.

/// One route from the manifest, owned by a component.
#[derive(Debug, Clone)]
pub struct Route {
    /// The route as written in the manifest, e.g. `/api/users/...`.
    pub raw: String,
    /// The route without the wildcard suffix, e.g. `/api/users` (`""` for `/...`).
    pub prefix: String,
    pub wildcard: bool,
    pub component: String,
}

impl Route {
    pub fn new(raw: &str, component: &str) -> Self {
        let (prefix, wildcard) = match raw.strip_suffix("/...") {
            Some(p) => (p.to_owned(), true),
            None => (raw.trim_end_matches('/').to_owned(), false),
        };
        Route {
            raw: raw.to_owned(),
            prefix,
            wildcard,
            component: component.to_owned(),
        }
    }

    /// The route a component sees in `spin-component-route` (empty for the catch-all, as Spin
    /// sends it).
    fn component_route(&self) -> &str {
        self.prefix.as_str()
    }
}

/// The routes of one application.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

/// A successful match: the route and the path below it.
#[derive(Debug, Clone)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    /// The part of the path after the matched prefix (`spin-path-info`), `""` when none.
    pub path_info: String,
}

impl Router {
    pub fn new(routes: Vec<Route>) -> Self {
        Router { routes }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Finds the most specific route for a request path (without query string). As in Spin,
    /// repeated leading slashes count as one (`//api/x` is `/api/x`, path info included);
    /// repeated slashes further in are kept.
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        let path = format!("/{}", path.trim_start_matches('/'));
        let path = path.as_str();
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        if let Some(route) = self.routes.iter().find(|r| {
            !r.wildcard && (r.prefix == trimmed || (r.prefix.is_empty() && trimmed == "/"))
        }) {
            return Some(RouteMatch {
                route,
                path_info: String::new(),
            });
        }
        self.routes
            .iter()
            .filter(|r| r.wildcard)
            .filter(|r| {
                r.prefix.is_empty()
                    || path == r.prefix
                    || path
                        .strip_prefix(r.prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|r| r.prefix.len())
            .map(|route| RouteMatch {
                route,
                path_info: path[route.prefix.len()..].to_owned(),
            })
    }
}

/// The `spin-*` headers Spin adds to every request it hands to a component.
pub fn spin_headers(
    m: &RouteMatch<'_>,
    full_url: &str,
    client_addr: &str,
) -> Vec<(&'static str, String)> {
    let component_route = m.route.component_route().to_owned();
    vec![
        ("spin-full-url", full_url.to_owned()),
        ("spin-path-info", m.path_info.clone()),
        ("spin-matched-route", m.route.raw.clone()),
        ("spin-base-path", "/".to_owned()),
        ("spin-raw-component-route", m.route.raw.clone()),
        ("spin-component-route", component_route),
        ("spin-client-addr", client_addr.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        Router::new(vec![
            Route::new("/...", "static"),
            Route::new("/api/...", "system"),
            Route::new("/api/health", "system-health"),
            Route::new("/api/users/...", "users"),
            Route::new("/api/users/me", "me"),
        ])
    }

    fn hit(path: &str) -> (String, String) {
        let r = router();
        let m = r.route(path).expect("a route matches");
        (m.route.component.clone(), m.path_info)
    }

    #[test]
    fn most_specific_route_wins() {
        assert_eq!(hit("/api/health"), ("system-health".into(), "".into()));
        assert_eq!(hit("/api/health/"), ("system-health".into(), "".into()));
        assert_eq!(hit("/api/health/x"), ("system".into(), "/health/x".into()));
        assert_eq!(hit("/api/users"), ("users".into(), "".into()));
        assert_eq!(hit("/api/users/42"), ("users".into(), "/42".into()));
        assert_eq!(hit("/api/users/me"), ("me".into(), "".into()));
        assert_eq!(hit("/api/usersx"), ("system".into(), "/usersx".into()));
        assert_eq!(hit("/api"), ("system".into(), "".into()));
        assert_eq!(hit("/"), ("static".into(), "/".into()));
        assert_eq!(hit("/jobs/12"), ("static".into(), "/jobs/12".into()));
    }

    /// What Spin 3.5 does (seen with the hostprobe fixture under `spin up`).
    #[test]
    fn repeated_leading_slashes_count_as_one() {
        assert_eq!(hit("//api/users/42"), ("users".into(), "/42".into()));
        assert_eq!(hit("///api/users/42"), ("users".into(), "/42".into()));
        assert_eq!(hit("//api/health"), ("system-health".into(), "".into()));
        assert_eq!(hit("//x"), ("static".into(), "/x".into()));
        assert_eq!(hit(""), ("static".into(), "/".into()));
        // Further in they stay.
        assert_eq!(
            hit("/api//users/42"),
            ("system".into(), "//users/42".into())
        );
        assert_eq!(hit("/api/users//42"), ("users".into(), "//42".into()));
    }

    #[test]
    fn no_catch_all_means_no_match() {
        let r = Router::new(vec![Route::new("/api/...", "system")]);
        assert!(r.route("/index.html").is_none());
        assert!(r.route("/apix").is_none());
    }

    #[test]
    fn headers_follow_spin() {
        let r = router();
        let m = r.route("/api/users/42").expect("match");
        let h = spin_headers(
            &m,
            "http://127.0.0.1:3000/api/users/42?x=1",
            "127.0.0.1:5555",
        );
        let get = |k: &str| h.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("spin-path-info").as_deref(), Some("/42"));
        assert_eq!(get("spin-matched-route").as_deref(), Some("/api/users/..."));
        assert_eq!(get("spin-component-route").as_deref(), Some("/api/users"));
        assert_eq!(get("spin-base-path").as_deref(), Some("/"));
        assert_eq!(get("spin-client-addr").as_deref(), Some("127.0.0.1:5555"));
        assert_eq!(
            get("spin-full-url").as_deref(),
            Some("http://127.0.0.1:3000/api/users/42?x=1")
        );
    }
}
