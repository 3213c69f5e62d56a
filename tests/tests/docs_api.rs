//! The docs stay true: every operation of the gateway's OpenAPI document has its row in
//! `docs/management-api.md` (management) or `docs/endpoints.md` (inference) and every row there
//! is an operation of the document; every relative link in README.md and docs/*.md resolves
//! (to a file, and to a heading of it when it names one).

use std::collections::BTreeSet;

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::tools::workspace_root;

/// (method in upper case, path as the OpenAPI document writes it).
type Operation = (String, String);

const METHODS: [&str; 8] = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"];

/// The management API: `/api/*` besides Ollama's inference paths, and `/metrics`.
fn is_management(path: &str) -> bool {
    path == "/metrics" || (path.starts_with("/api/") && !["/api/chat", "/api/tags", "/api/version"].contains(&path))
}

/// The operations of the OpenAPI document.
fn spec_operations(spec: &serde_json::Value) -> BTreeSet<Operation> {
    let paths = spec["paths"].as_object().expect("the document has paths");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().expect("a path item is an object").keys() {
            let upper = method.to_ascii_uppercase();
            if METHODS.contains(&upper.as_str()) {
                operations.insert((upper, path.clone()));
            }
        }
    }
    operations
}

/// The rows of a page's operation tables: `` | `GET` | `/api/keys` | what it does | ``. A table
/// row whose first cell opens with a backtick must be such a row (no silently skipped typo);
/// header and separator rows are not.
fn documented_operations(page: &str) -> Vec<Operation> {
    let text = std::fs::read_to_string(workspace_root().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        if !line.trim_start().starts_with('|') || cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let code = |cell: &str| cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')).map(str::to_string);
        let (Some(method), Some(path)) = (code(cells[1]), code(cells[2])) else {
            panic!("{page}:{}: a row must start | `METHOD` | `/path` |: {line}", number + 1)
        };
        assert!(
            METHODS.contains(&method.as_str()) && path.starts_with('/') && !path.contains(' '),
            "{page}:{}: not a method and a path: {line}",
            number + 1
        );
        rows.push((method, path));
    }
    rows
}

/// Every operation in `expected` has exactly one row in `page`, and `page` has no other row.
fn check_page(page: &str, expected: &BTreeSet<Operation>) -> Vec<String> {
    let rows = documented_operations(page);
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for row in &rows {
        if !seen.insert(row.clone()) {
            problems.push(format!("{page}: `{} {}` has two rows", row.0, row.1));
        }
        if !expected.contains(row) {
            problems.push(format!("{page}: `{} {}` is not in the OpenAPI document (stale row?)", row.0, row.1));
        }
    }
    for operation in expected.difference(&seen) {
        problems.push(format!("{page}: `{} {}` is in the OpenAPI document but has no row", operation.0, operation.1));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_openapi_operation_is_documented_and_every_documented_one_exists() {
    let gw = TestGateway::start("", &[]).await;
    let spec = gw.admin_get("/api/openapi/spec").await;
    gw.stop().await;

    let operations = spec_operations(&spec);
    let (management, inference): (BTreeSet<Operation>, BTreeSet<Operation>) =
        operations.into_iter().partition(|(_, path)| is_management(path));
    assert!(management.len() > 50 && inference.len() > 5, "the document lists operations: {spec}");

    let mut problems = check_page("docs/management-api.md", &management);
    problems.extend(check_page("docs/endpoints.md", &inference));
    assert!(problems.is_empty(), "the docs and the OpenAPI document disagree:\n{}", problems.join("\n"));
}

/// The relative link targets in a markdown text, outside fenced code blocks: `](target)`.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            let external = target.contains("://") || target.starts_with("mailto:");
            if !external && !target.is_empty() {
                links.push(target.to_string());
            }
            rest = &rest[end..];
        }
    }
    links
}

/// The anchors of a markdown page's headings, as GitHub writes them: lower case, blanks to
/// `-`, punctuation other than `-` and `_` dropped.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut anchors = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        let Some(title) = line.strip_prefix('#').filter(|_| !fenced) else { continue };
        let title = title.trim_start_matches('#').trim();
        let anchor = title
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                '-' | '_' => Some(c),
                c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        anchors.insert(anchor);
    }
    anchors
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let root = workspace_root();
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/ exists") {
        let path = entry.expect("a docs entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("page readable");
        let dir = page.parent().expect("a page has a folder");
        let shown = page.strip_prefix(&root).unwrap_or(page).display();
        for link in relative_links(&text) {
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            checked += 1;
            let target = if file.is_empty() { page.clone() } else { dir.join(file) };
            if target.is_file() {
                let heading_missing = !anchor.is_empty()
                    && !anchors(&std::fs::read_to_string(&target).expect("target readable")).contains(anchor);
                if heading_missing {
                    broken.push(format!("{shown}: {link} (no such heading)"));
                }
                continue;
            }
            if target.is_dir() {
                continue;
            }
            broken.push(format!("{shown}: {link}"));
        }
    }
    assert!(checked > 10, "the pages link to each other ({checked} links found)");
    assert!(broken.is_empty(), "links to nothing:\n{}", broken.join("\n"));
}
