//! The `patron` command: serves by default; also manages keys, stores, migrations and the
//! OpenAPI file.

use std::process::ExitCode;

use patron::clock::Clock;
use patron::config::{redacted_url, Config, Redact};
use patron::domain::store::StoreInput;
use patron::domain::StoreId;
use patron::service::KeyKind;
use patron::startup::{self, Application};

const USAGE: &str = "\
patron: customer identity and profiles for headless commerce

Usage:
  patron [serve]                        serve the API (configuration from PATRON_* variables)
  patron migrate                        apply database migrations and exit
  patron openapi                        print the OpenAPI document
  patron keys create --public|--secret  create a merchant API key and print it once
  patron keys list                      list keys (prefix, kind, created, revoked)
  patron keys revoke <id|prefix|key>    revoke a key (its id, the prefix keys list shows, or the key)
  patron keys rotate-jwt                sign new customer JWTs with a new key (old ones stay valid)
  patron keys retire-jwt <kid>          stop accepting JWTs signed by that key, at once
  patron keys list-jwt                  list JWT signing keys
  patron stores create --name <name>    create a store and print its id and key pair once
  patron stores list                    list stores (id, created, live, default or deleted, name)
  patron stores purge <id>              erase a deleted store and everything it holds
  patron --version | --help

  keys create, list and revoke act on the default store; --store <id> names another one
  (patron keys create --store store_... --secret).
";

/// glibc gives each thread that allocates its own malloc arena, up to 8 per core, and returns
/// little of them to the system: with SQLite (which allocates on the blocking threads) the
/// server's peak memory grew with every thread that had ever run a query (89 MiB in the
/// benchmark; 47 MiB with two arenas, see bench/RESULTS.md). An operator's own
/// `MALLOC_ARENA_MAX` wins.
///
/// Each password hash allocates 19 MiB. glibc serves a block that large with its own mapping,
/// but after the first one is freed it raises that threshold to the block's size and serves
/// the next ones from the arenas, which keep the memory: peak RSS climbed to 171 MiB after 20
/// logins although no more than two hashes ever ran at once. A fixed threshold (which also
/// turns the raising off) returns every hash's memory when it ends. An operator's own
/// `MALLOC_MMAP_THRESHOLD_` wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only tunes the allocator; this runs first in main, before any other
    // thread exists, and both settings take any positive value.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let _ = dotenvy::dotenv();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["--help" | "-h" | "help"] => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        ["--version" | "-V"] => {
            println!("patron {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        ["openapi"] => {
            print!("{}", patron::http::openapi::document());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    patron::telemetry::init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("patron: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("patron: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.as_slice() {
        [] | ["serve"] => actix_web::rt::System::new().block_on(serve(config)),
        ["migrate"] => runtime.block_on(migrate(config)),
        ["keys", sub @ ("create" | "list" | "revoke"), rest @ ..] => match store_option(rest) {
            Err(message) => return usage_error(&message),
            Ok((store, rest)) => match (*sub, rest.as_slice()) {
                ("create", ["--public"]) => {
                    runtime.block_on(create_key(config, store, KeyKind::Public))
                }
                ("create", ["--secret"]) => {
                    runtime.block_on(create_key(config, store, KeyKind::Secret))
                }
                ("create", [flag]) => {
                    Err(format!("unknown option {flag}: use --public or --secret"))
                }
                ("list", []) => runtime.block_on(list_keys(config, store)),
                ("revoke", [target]) => runtime.block_on(revoke_key(config, store, target)),
                _ => {
                    let mut shown = vec!["keys", *sub];
                    shown.extend(rest);
                    return usage_error(&unknown_command(&shown));
                }
            },
        },
        ["stores", "create", "--name", name] => runtime.block_on(create_store(config, name)),
        ["stores", "list"] => runtime.block_on(list_stores(config)),
        ["stores", "purge", id] => runtime.block_on(purge_store(config, id)),
        ["keys", "rotate-jwt"] => runtime.block_on(rotate_jwt(config)),
        ["keys", "retire-jwt", kid] => runtime.block_on(retire_jwt(config, kid)),
        ["keys", "list-jwt"] => runtime.block_on(list_jwt(config)),
        _ => return usage_error(&unknown_command(&args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("patron: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A command line patron does not know: what is wrong with it, then the usage (exit 2).
fn usage_error(message: &str) -> ExitCode {
    eprintln!("patron: {message}\n");
    eprint!("{USAGE}");
    ExitCode::from(2)
}

/// `--store <id>` anywhere among a key command's arguments: the store it acts on (the default
/// store without it), and the other arguments.
fn store_option<'a>(args: &[&'a str]) -> Result<(Option<&'a str>, Vec<&'a str>), String> {
    let mut store = None;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if *arg == "--store" {
            let Some(id) = args.next() else {
                return Err("--store needs a store id (patron stores list shows them)".into());
            };
            if store.replace(*id).is_some() {
                return Err("--store is given twice".into());
            }
        } else {
            rest.push(*arg);
        }
    }
    Ok((store, rest))
}

/// The line printed before the usage when the command line is not one patron knows.
fn unknown_command(args: &[&str]) -> String {
    match args {
        ["keys", "create"] => "keys create needs --public or --secret".into(),
        ["keys", "revoke"] => "keys revoke needs the key's id, prefix or the key itself".into(),
        ["keys", "retire-jwt"] => "keys retire-jwt needs the kid of the key to retire".into(),
        ["keys", sub @ ("create" | "list" | "revoke"), ..] => {
            format!(
                "unexpected arguments after \"keys {sub}\": {:?}",
                &args[2..]
            )
        }
        ["keys", sub, ..] => format!("unknown keys command {sub:?}"),
        ["stores", "create", ..] => "stores create needs --name <name> (and nothing else)".into(),
        ["stores", "purge", ..] => "stores purge needs the id of one deleted store".into(),
        ["stores", sub, ..] => format!("unknown stores command {sub:?}"),
        [first, ..] if matches!(*first, "serve" | "migrate" | "openapi" | "keys" | "stores") => {
            format!("unexpected arguments after {first:?}: {:?}", &args[1..])
        }
        [first, ..] => format!("unknown command {first:?}"),
        [] => "no command".into(),
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let backend = config.database_url.backend_name();
    let shown_url = config.database_url.to_string();
    let shown_mail = match &config.smtp_url {
        Some(url) => redacted_url(url.expose(), Redact::UserAndPassword),
        None => "stdout".into(),
    };
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    if let Some((public, secret)) = &app.initial_keys {
        println!(
            "\nFirst start: created merchant API keys. They are shown only now; store them safely.\n  \
             public (storefront):  {}\n  secret (back office): {}\n",
            public.key.expose(),
            secret.key.expose()
        );
    }
    tracing::info!(
        address = %app.listening_url(),
        public_url = %app.state().config.public_url.as_ref().map_or("", |u| u.as_str()),
        database = %shown_url,
        backend,
        mail = %shown_mail,
        "patron is listening on {}",
        app.listening_url()
    );
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

async fn migrate(config: Config) -> Result<(), String> {
    open_for_cli(&config)
        .await
        .map(|_| println!("migrations applied"))
}

/// Opens the database a CLI command acts on, saying which on stderr: run in the wrong
/// directory, `patron keys list` would otherwise show an empty list of a new SQLite file.
async fn open_for_cli(config: &Config) -> Result<patron::db::Db, String> {
    let is_new = match &config.database_url {
        patron::config::DatabaseUrl::Sqlite(path) => !path.exists(),
        _ => false,
    };
    eprintln!(
        "patron: database {}{}",
        config.database_url,
        if is_new {
            " (did not exist: created empty; set PATRON_DATABASE_URL or run from the server's directory)"
        } else {
            ""
        }
    );
    startup::open_database_for_command(config)
        .await
        .map_err(|e| e.to_string())
}

/// The services a key command uses, on one database connection pool.
async fn key_services(
    config: &Config,
) -> Result<(patron::service::KeyService, patron::service::StoreService), String> {
    let db = open_for_cli(config).await?;
    Ok((
        patron::service::KeyService::new(db.clone(), Clock::system(), None, None),
        patron::service::StoreService::new(db, Clock::system()),
    ))
}

async fn store_service(config: &Config) -> Result<patron::service::StoreService, String> {
    let db = open_for_cli(config).await?;
    Ok(patron::service::StoreService::new(db, Clock::system()))
}

/// The store a key command acts on: `--store`'s, which must be a store of this database (a live
/// one to be given a key), or the default store.
async fn key_store(
    stores: &patron::service::StoreService,
    store: Option<&str>,
    live: bool,
) -> Result<StoreId, String> {
    let Some(raw) = store else {
        return Ok(StoreId::default_store());
    };
    let unknown = || format!("no store {raw:?} (patron stores list shows them)");
    let id = StoreId::parse(raw).ok_or_else(unknown)?;
    match stores.find_any(&id).await.map_err(|e| e.to_string())? {
        None => Err(unknown()),
        Some(s) if live && s.deleted_at.is_some() => {
            Err(format!("the store {raw} is deleted: it gets no new keys"))
        }
        Some(_) => Ok(id),
    }
}

async fn create_key(config: Config, store: Option<&str>, kind: KeyKind) -> Result<(), String> {
    let (keys, stores) = key_services(&config).await?;
    let store = key_store(&stores, store, true).await?;
    let issued = keys
        .create_in(kind, &store)
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", issued.key.expose());
    eprintln!(
        "created {} key {} of {store} (shown only now)",
        kind.as_str(),
        issued.id
    );
    Ok(())
}

async fn list_keys(config: Config, store: Option<&str>) -> Result<(), String> {
    let (keys, stores) = key_services(&config).await?;
    let store = key_store(&stores, store, false).await?;
    let list = keys.list_in(&store).await.map_err(|e| e.to_string())?;
    println!(
        "{:<20} {:<7} {:<12} {:<20} revoked",
        "id", "kind", "prefix", "created"
    );
    for k in list {
        println!(
            "{:<20} {:<7} {:<12} {:<20} {}",
            k.id,
            k.kind,
            format!("{}…", k.prefix),
            k.created_at.format("%Y-%m-%d %H:%M:%S"),
            k.revoked_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
    Ok(())
}

async fn revoke_key(config: Config, store: Option<&str>, target: &str) -> Result<(), String> {
    use patron::service::keys::Revocation;
    let (keys, stores) = key_services(&config).await?;
    let store = key_store(&stores, store, false).await?;
    match keys
        .revoke_in(&store, target)
        .await
        .map_err(|e| e.to_string())?
    {
        Revocation::Revoked(id) => {
            println!("revoked {id}");
            Ok(())
        }
        Revocation::NotFound if store.is_default() => Err(format!(
            "no live key of the default store has the id, prefix or value {target:?} (patron \
             keys list shows them; --store <id> names another store)"
        )),
        Revocation::NotFound => Err(format!(
            "no live key of {store} has the id, prefix or value {target:?} (patron keys list \
             --store {store} shows them)"
        )),
        Revocation::Ambiguous(ids) => Err(format!(
            "the prefix {target:?} is ambiguous: it matches the live keys {}; revoke one by its id",
            ids.join(", ")
        )),
    }
}

async fn create_store(config: Config, name: &str) -> Result<(), String> {
    let new = StoreInput {
        name: Some(Some(name.to_owned())),
        ..StoreInput::default()
    }
    .into_new()
    .map_err(|e| {
        e.errors
            .into_values()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    })?;
    let stores = store_service(&config).await?;
    let created = stores.create(new).await.map_err(|e| e.to_string())?;
    println!(
        "{}\n  public (storefront):  {}\n  secret (back office): {}",
        created.store.id,
        created.public_key.key.expose(),
        created.secret_key.key.expose()
    );
    eprintln!(
        "created store {} {:?}; its keys are shown only now (store them safely)",
        created.store.id, created.store.name
    );
    Ok(())
}

async fn list_stores(config: Config) -> Result<(), String> {
    let stores = store_service(&config).await?;
    let all = stores.all().await.map_err(|e| e.to_string())?;
    println!("{:<20} {:<20} {:<8} name", "id", "created", "state");
    for s in all {
        let state = match (&s.deleted_at, s.is_default()) {
            (Some(_), _) => "deleted",
            (None, true) => "default",
            (None, false) => "live",
        };
        println!(
            "{:<20} {:<20} {:<8} {}",
            s.id,
            s.created_at.format("%Y-%m-%d %H:%M:%S"),
            state,
            s.name
        );
    }
    Ok(())
}

async fn purge_store(config: Config, raw: &str) -> Result<(), String> {
    use patron::service::stores::Purge;
    let Some(id) = StoreId::parse(raw) else {
        return Err(format!("no store {raw:?} (patron stores list shows them)"));
    };
    let stores = store_service(&config).await?;
    match stores.purge(&id).await.map_err(|e| e.to_string())? {
        Purge::Purged { customers } => {
            println!(
                "purged {id}: its {customers} customer(s), their orders and everything else it \
                 held are erased"
            );
            Ok(())
        }
        Purge::NotFound => Err(format!("no store {raw:?} (patron stores list shows them)")),
        Purge::Live => Err(format!(
            "the store {id} is live: delete it first (DELETE /v1/stores/{id}), so that its keys \
             stop working before its data goes"
        )),
        Purge::Default => Err("the default store cannot be purged".into()),
    }
}

async fn session_service(config: Config) -> Result<patron::service::SessionService, String> {
    let db = open_for_cli(&config).await?;
    let sessions =
        patron::service::SessionService::new(db, Clock::system(), std::sync::Arc::new(config));
    // The same check as at server start: a key that cannot be read stops here, and with
    // PATRON_SECRETS_KEY set, keys still in clear are encrypted.
    startup::secure_signing_keys(&sessions)
        .await
        .map_err(|e| e.to_string())?;
    Ok(sessions)
}

async fn rotate_jwt(config: Config) -> Result<(), String> {
    let sessions = session_service(config).await?;
    let kid = sessions.rotate().await.map_err(|e| e.to_string())?;
    println!("new JWT signing key {kid}; tokens signed by older keys stay valid until they expire");
    Ok(())
}

async fn retire_jwt(config: Config, kid: &str) -> Result<(), String> {
    let sessions = session_service(config).await?;
    match sessions.retire(kid).await.map_err(|e| e.to_string())? {
        true => {
            println!("retired {kid}: tokens it signed are refused from now on");
            sessions
                .ensure_signing_key()
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        false => Err(format!("no JWT signing key {kid:?}")),
    }
}

async fn list_jwt(config: Config) -> Result<(), String> {
    let sessions = session_service(config).await?;
    let keys = sessions.list_keys().await.map_err(|e| e.to_string())?;
    println!("{:<18} {:<6} {:<20} retires", "kid", "alg", "created");
    for k in keys {
        println!(
            "{:<18} {:<6} {:<20} {}",
            k.kid,
            k.algorithm,
            k.created_at.format("%Y-%m-%d %H:%M:%S"),
            k.retired_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
    Ok(())
}
