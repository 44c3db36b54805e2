//! The README, docker-compose.yml and the Dockerfile tell one story: a newcomer who follows the
//! README gets the database URL it names, pinned images, a health check and a non-root server.

fn read(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of one top-level service of docker-compose.yml (two-space indented).
fn service<'a>(compose: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("  {name}:");
    compose
        .lines()
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    ") || l.starts_with('#'))
        .collect()
}

#[test]
fn compose_postgres_is_the_one_the_readme_names() {
    let compose = read("docker-compose.yml");
    let readme = read("README.md");
    let pg = service(&compose, "postgres");
    assert!(!pg.is_empty(), "a postgres service");
    let has = |needle: &str| pg.iter().any(|l| l.contains(needle));
    assert!(has("POSTGRES_USER: postgres"), "{pg:#?}");
    assert!(has("POSTGRES_DB: test"), "{pg:#?}");
    assert!(
        has("POSTGRES_HOST_AUTH_METHOD: trust"),
        "the README's URL has no password"
    );
    let published = pg
        .iter()
        .find_map(|l| {
            let l = l.trim().trim_start_matches("- ").trim_matches('"');
            l.strip_prefix("127.0.0.1:")?.strip_suffix(":5432")
        })
        .expect("postgres is published on loopback");
    let port = published
        .strip_prefix("${PATRON_COMPOSE_PG_PORT:-")
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(published);
    assert_ne!(port, "5432", "a local PostgreSQL already has 5432");
    let url = format!("postgres://postgres@127.0.0.1:{port}/test");
    assert!(
        readme.contains(&url) && readme.contains("docker compose up -d postgres"),
        "the README names {url} for `docker compose up -d postgres`"
    );
}

#[test]
fn images_are_pinned_and_patron_is_checked_and_unprivileged() {
    let compose = read("docker-compose.yml");
    let dockerfile = read("Dockerfile");
    let images: Vec<&str> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image:"))
        .chain(
            dockerfile
                .lines()
                .filter_map(|l| l.strip_prefix("FROM "))
                .map(|l| l.split_whitespace().next().unwrap_or("")),
        )
        .map(str::trim)
        .collect();
    assert!(images.len() >= 4, "{images:?}");
    for image in images {
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(
            !tag.is_empty()
                && tag != "latest"
                && tag.contains(|c: char| c.is_ascii_digit() || c == '-'),
            "{image} is pinned to a version"
        );
    }
    let patron = service(&compose, "patron");
    assert!(
        patron.iter().any(|l| l.contains("healthcheck:"))
            && patron.iter().any(|l| l.contains("/readyz")),
        "patron's container is checked on /readyz: {patron:#?}"
    );
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the image names its user");
    assert!(!matches!(user.trim(), "root" | "0"), "runs as {user}");
}
