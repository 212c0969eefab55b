//! `keygate keys ...`: the real binary against a real SQLite file, and the keys it makes
//! checked by the runtime's `Keyring` over the same file.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use keygate::keys::{ActorKind, AuditAction, AuditQuery, KeyStore, Keyring, SqliteStore};
use keygate::spec::{Location, Scheme, SchemeKind};
use keygate::{Credential, OperationRef, Verdict, Verifier, VerifyRequest};
use keygate_tests::{block_on, TempDir};
use secrecy::SecretString;
use serde_json::Value;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    /// The value of a `label: value` line of the text output.
    #[track_caller]
    fn field(&self, label: &str) -> String {
        let prefix = format!("{label}:");
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map(|value| value.trim().to_owned())
            .unwrap_or_else(|| panic!("no `{label}` line in:\n{}", self.stdout))
    }
}

/// `keygate keys --db <db> <args>`, with `KEYGATE_DB` cleared so only `--db` counts.
fn keys(db: &Path, args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_keygate"))
        .arg("keys")
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("KEYGATE_DB")
        .output()
        .expect("run keygate")
        .into()
}

/// Creates a key with `--json` and returns the printed object.
fn create(db: &Path, args: &[&str]) -> Value {
    let mut all = vec!["create", "--json"];
    all.extend_from_slice(args);
    keys(db, &all).ok().json()
}

fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{field}` in {value}"))
        .to_owned()
}

const API_KEY: Scheme = Scheme {
    name: "api_key",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-API-Key",
    },
};
const BASIC: Scheme = Scheme {
    name: "basic",
    kind: SchemeKind::HttpBasic,
};

/// What a `Keyring` over the database says about a credential for `method operation`.
fn verify(db: &Path, scheme: &Scheme, credential: &Credential, method: &str, op: &str) -> Verdict {
    let ring = Keyring::new(SqliteStore::open(db).expect("open"));
    let request = VerifyRequest {
        scheme,
        credential: credential.lend(),
        operation: OperationRef {
            method,
            path: "/pets",
            operation_id: Some(op),
        },
        request: None,
    };
    block_on(ring.verify(request)).expect("verify")
}

fn api_key(full: &str) -> Credential {
    Credential::Key(SecretString::from(full.to_owned()))
}

fn granted(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Granted(_))
}

/// The keys of one `list --json` page.
fn list(db: &Path, args: &[&str]) -> Vec<Value> {
    list_page(db, args).0
}

/// One `list --json` page: its keys and the cursor of the next page.
fn list_page(db: &Path, args: &[&str]) -> (Vec<Value>, Option<String>) {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    let page = keys(db, &all).ok().json();
    let Value::Array(items) = page["items"].clone() else {
        panic!("no `items` array: {page}");
    };
    (items, page["next_cursor"].as_str().map(str::to_owned))
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|item| text(item, "id")).collect()
}

#[test]
fn create_prints_the_key_once_and_defaults_to_read_only() {
    let dir = TempDir::new("create");
    let db = dir.file("keys.db");
    let run = keys(&db, &["create", "--name", "ci"]).ok();
    let (full, id, secret) = (run.field("key"), run.field("key id"), run.field("secret"));
    assert_eq!(full, format!("kg_{id}_{secret}"));
    assert_eq!(run.stdout.matches(&full).count(), 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("cannot be shown again"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.field("permissions"),
        "read-only (default: GET,HEAD,OPTIONS)"
    );
    assert_eq!(run.field("expires"), "never");

    let items = list(&db, &[]);
    assert_eq!(ids(&items), [id.as_str()]);
    let item = &items[0];
    assert_eq!(item["name"], "ci");
    assert_eq!(item["status"], "active");
    assert_eq!(item["expires_at"], Value::Null);
    assert_eq!(item["last_used_at"], Value::Null);
    assert_eq!(item["permissions"]["preset"], "read-only");
    assert_eq!(
        item["permissions"]["default_methods"],
        serde_json::json!(["GET", "HEAD", "OPTIONS"])
    );
    let table = keys(&db, &["list"]).ok();
    let row = table.stdout.lines().nth(1).expect("a row");
    assert!(row.starts_with(&id), "{}", table.stdout);
    assert!(
        row.contains("active") && row.ends_with("read-only GET,HEAD,OPTIONS"),
        "{row}"
    );
    let show = keys(&db, &["show", &id]).ok();
    assert_eq!(show.field("name"), "ci");
    for output in [
        &table.stdout,
        &show.stdout,
        &serde_json::to_string(&items).unwrap(),
    ] {
        assert!(!output.contains(&secret), "a secret was listed: {output}");
    }
    // Only the hash is stored: the secret appears nowhere in the database files.
    for file in ["keys.db", "keys.db-wal"] {
        let bytes = std::fs::read(dir.file(file)).unwrap_or_default();
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "the secret is stored in {file}");
    }

    // The key works, read-only, through the runtime, also as HTTP Basic id + secret.
    assert!(granted(&verify(
        &db,
        &API_KEY,
        &api_key(&full),
        "GET",
        "listPets"
    )));
    let post = verify(&db, &API_KEY, &api_key(&full), "POST", "createPet");
    assert!(matches!(post, Verdict::Forbidden(_)), "{post:?}");
    let basic = Credential::Basic {
        id: id.clone(),
        secret: SecretString::from(secret),
    };
    assert!(granted(&verify(&db, &BASIC, &basic, "GET", "listPets")));
    let used = &list(&db, &[])[0];
    assert!(
        used["last_used_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{used}"
    );
}

#[test]
fn create_options_land_in_the_record() {
    let dir = TempDir::new("options");
    let db = dir.file("keys.db");
    let full = create(
        &db,
        &[
            "--name",
            "deploy",
            "--full",
            "--owner",
            "alice",
            "--roles",
            "admin,ops",
            "--expires",
            "7d",
            "--description",
            "the deploy bot",
        ],
    );
    assert_eq!(
        full["key"]
            .as_str()
            .map(|k| k.ends_with(&text(&full, "secret"))),
        Some(true)
    );
    let custom = create(
        &db,
        &[
            "--name",
            "writer",
            "--methods",
            "get,POST",
            "--op",
            "createPet=POST,GET",
            "--op",
            "deletePet=",
            "--scheme",
            "api_key",
            "--expires",
            "2099-12-31",
        ],
    );
    let explicit = create(
        &db,
        &["--name", "reader", "--read-only", "--expires", "12h"],
    );

    let items = list(&db, &[]);
    assert_eq!(items.len(), 3);
    for item in &items {
        assert!(
            item.get("key").is_none() && item.get("secret").is_none(),
            "{item}"
        );
    }
    // Keys made in the same second are ordered by id, so look them up by id.
    let find = |made: &Value| {
        items
            .iter()
            .find(|item| item["id"] == made["id"])
            .unwrap_or_else(|| panic!("{} is not listed", made["id"]))
    };
    let (f, c, r) = (find(&full), find(&custom), find(&explicit));
    assert_eq!(f["permissions"]["preset"], "full");
    assert_eq!(
        f["permissions"]["default_methods"],
        serde_json::json!(["*"])
    );
    assert_eq!(f["owner"], "alice");
    assert_eq!(f["roles"], serde_json::json!(["admin", "ops"]));
    assert_eq!(f["description"], "the deploy bot");
    assert_eq!(c["permissions"]["preset"], "custom");
    assert_eq!(
        c["permissions"]["default_methods"],
        serde_json::json!(["GET", "POST"])
    );
    assert_eq!(
        c["permissions"]["per_operation"],
        serde_json::json!({ "createPet": ["GET", "POST"], "deletePet": [] })
    );
    assert_eq!(c["schemes"], serde_json::json!(["api_key"]));
    // A date: works through that day, UTC.
    assert_eq!(c["expires_at"], "2100-01-01T00:00:00Z");
    assert_eq!(r["permissions"]["preset"], "read-only");

    // Relative expiry is counted from creation.
    let store = SqliteStore::open(&db).expect("open");
    let span = |id: String| {
        let record = block_on(store.get(&id)).expect("get").expect("record");
        record.expires_at.map(|at| at - record.created_at)
    };
    assert_eq!(span(text(&full, "id")), Some(7 * 86_400));
    assert_eq!(span(text(&explicit, "id")), Some(12 * 3_600));

    let table = keys(&db, &["list"]).ok().stdout;
    assert!(
        table.contains("custom GET,POST; createPet=GET,POST; deletePet=none"),
        "{table}"
    );
    assert!(table.contains("full *"), "{table}");

    // The per-operation overrides and the scheme restriction hold at request time.
    let key = api_key(&text(&custom, "key"));
    assert!(granted(&verify(&db, &API_KEY, &key, "POST", "createPet")));
    assert!(matches!(
        verify(&db, &API_KEY, &key, "DELETE", "deletePet"),
        Verdict::Forbidden(_)
    ));
    assert!(matches!(
        verify(&db, &API_KEY, &key, "PUT", "updatePet"),
        Verdict::Forbidden(_)
    ));
    let bearer = Scheme {
        name: "bearer",
        kind: SchemeKind::HttpBearer,
    };
    assert_eq!(
        verify(&db, &bearer, &key, "GET", "listPets"),
        Verdict::Invalid
    );
}

#[test]
fn show_prints_one_key_as_text_or_json() {
    let dir = TempDir::new("show");
    let db = dir.file("keys.db");
    let made = create(
        &db,
        &["--name", "ops", "--owner", "bob", "--op", "getStats=GET"],
    );
    let id = text(&made, "id");
    let run = keys(&db, &["show", &id]).ok();
    assert_eq!(run.field("id"), id);
    assert_eq!(run.field("owner"), "bob (key issued at epoch 0)");
    assert_eq!(run.field("status"), "active");
    assert_eq!(
        run.field("permissions"),
        "custom (default: GET,HEAD,OPTIONS)"
    );
    assert_eq!(run.field("  getStats"), "GET");
    let json = keys(&db, &["show", &id, "--json"]).ok().json();
    assert_eq!(json["id"], id.as_str());
    assert_eq!(json["created_at"], made["created_at"]);
    assert!(
        json.get("key").is_none() && json.get("secret").is_none(),
        "{json}"
    );
    assert!(!run.stdout.contains(&text(&made, "secret")));
}

/// Each change the CLI makes is in the audit log under the OS user that ran it.
#[test]
fn changes_are_audited_under_the_os_user() {
    let dir = TempDir::new("audit");
    let db = dir.file("keys.db");
    let as_user = |user: &str, args: &[&str]| -> Run {
        Command::new(env!("CARGO_BIN_EXE_keygate"))
            .arg("keys")
            .arg("--db")
            .arg(&db)
            .args(args)
            .env_remove("KEYGATE_DB")
            .env("USER", user)
            .output()
            .expect("run keygate")
            .into()
    };
    let made: Value = as_user(
        "alice",
        &["create", "--json", "--name", "k", "--owner", "o"],
    )
    .ok()
    .json();
    let id = text(&made, "id");
    as_user("bob", &["revoke", &id]).ok();
    as_user("carol", &["disable-owner", "o"]).ok();
    let store = SqliteStore::open(&db).expect("open");
    let log = block_on(store.audit(AuditQuery::new())).expect("audit");
    let seen: Vec<(ActorKind, &str, AuditAction, &str)> = log
        .entries
        .iter()
        .map(|e| (e.actor_kind, e.actor.as_str(), e.action, e.target.id()))
        .collect();
    assert_eq!(
        seen,
        [
            (ActorKind::Cli, "carol", AuditAction::DisableOwner, "o"),
            (ActorKind::Cli, "bob", AuditAction::Revoke, id.as_str()),
            (ActorKind::Cli, "alice", AuditAction::Create, id.as_str()),
        ]
    );
}

#[test]
fn revoke_stops_the_key() {
    let dir = TempDir::new("revoke");
    let db = dir.file("keys.db");
    let made = create(&db, &["--name", "old"]);
    let kept = create(&db, &["--name", "kept"]);
    let (id, key) = (text(&made, "id"), api_key(&text(&made, "key")));
    assert!(granted(&verify(&db, &API_KEY, &key, "GET", "listPets")));

    let run = keys(&db, &["revoke", &id]).ok();
    assert!(
        run.stdout.contains(&format!("revoked key `{id}`")),
        "{}",
        run.stdout
    );
    assert_eq!(
        verify(&db, &API_KEY, &key, "GET", "listPets"),
        Verdict::Revoked
    );
    assert_eq!(ids(&list(&db, &["--status", "revoked"])), [id.as_str()]);
    assert_eq!(
        ids(&list(&db, &["--status", "active"])),
        [text(&kept, "id")]
    );
    let statuses: Vec<(String, String)> = list(&db, &[])
        .iter()
        .map(|item| (text(item, "id"), text(item, "status")))
        .collect();
    assert!(
        statuses.contains(&(id.clone(), "revoked".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(text(&kept, "id"), "active".into())),
        "{statuses:?}"
    );
    let again = keys(&db, &["revoke", &id]).ok();
    assert!(again.stdout.contains("already revoked"), "{}", again.stdout);
}

#[test]
fn rotate_prints_a_new_key_and_keeps_the_old_one_for_the_grace() {
    let dir = TempDir::new("rotate");
    let db = dir.file("keys.db");
    let made = create(&db, &["--name", "svc"]);
    let (id, first) = (text(&made, "id"), text(&made, "key"));

    let run = keys(&db, &["rotate", &id, "--grace", "1h"]).ok();
    let second = run.field("key");
    assert_ne!(second, first);
    assert_eq!(run.field("key id"), id);
    assert_eq!(second, format!("kg_{id}_{}", run.field("secret")));
    assert_eq!(run.stdout.matches(&second).count(), 1);
    assert!(
        run.stdout.contains("The old key keeps working until 20"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("cannot be shown again"),
        "{}",
        run.stderr
    );
    let shown = keys(&db, &["show", &id, "--json"]).ok().json();
    assert!(shown["previous_secret_valid_until"].is_string(), "{shown}");
    assert!(granted(&verify(
        &db,
        &API_KEY,
        &api_key(&first),
        "GET",
        "listPets"
    )));
    assert!(granted(&verify(
        &db,
        &API_KEY,
        &api_key(&second),
        "GET",
        "listPets"
    )));

    let rotated = keys(&db, &["rotate", &id, "--grace", "0", "--json"])
        .ok()
        .json();
    let third = text(&rotated, "key");
    assert!(third != first && third != second);
    assert_eq!(rotated["previous_secret_valid_until"], Value::Null);
    assert_eq!(
        verify(&db, &API_KEY, &api_key(&second), "GET", "listPets"),
        Verdict::Invalid
    );
    assert!(granted(&verify(
        &db,
        &API_KEY,
        &api_key(&third),
        "GET",
        "listPets"
    )));
}

#[test]
fn owner_commands_stop_and_restore_an_owners_keys() {
    let dir = TempDir::new("owner");
    let db = dir.file("keys.db");
    let made = create(&db, &["--name", "laptop", "--owner", "alice"]);
    let other = create(&db, &["--name", "ci", "--owner", "bob"]);
    let key = api_key(&text(&made, "key"));
    let alice = |db: &Path| list(db, &["--owner", "alice"]);

    let run = keys(&db, &["disable-owner", "alice"]).ok();
    assert!(
        run.stdout.contains("disabled owner `alice`"),
        "{}",
        run.stdout
    );
    // Disabled, as the keyring answers (401 "disabled"), not revoked: enabling undoes it.
    assert_eq!(
        verify(&db, &API_KEY, &key, "GET", "listPets"),
        Verdict::Disabled
    );
    assert_eq!(alice(&db)[0]["status"], "disabled");
    assert_eq!(alice(&db)[0]["status_reason"], "owner disabled");
    let shown = keys(&db, &["show", &text(&made, "id")]).ok();
    assert_eq!(shown.field("status"), "disabled (owner)");
    let table = keys(&db, &["list", "--owner", "alice"]).ok().stdout;
    assert!(table.contains("  disabled (owner)  "), "{table}");
    assert!(!table.contains("revoked"), "{table}");
    assert_eq!(
        ids(&list(&db, &["--status", "disabled"])),
        [text(&made, "id")]
    );
    assert!(list(&db, &["--status", "revoked"]).is_empty());
    let bob = list(&db, &["--owner", "bob"]);
    assert_eq!(ids(&bob), [text(&other, "id")]);
    assert_eq!(bob[0]["status"], "active");

    keys(&db, &["enable-owner", "alice"]).ok();
    assert_eq!(alice(&db)[0]["status"], "active");
    assert!(granted(&verify(&db, &API_KEY, &key, "GET", "listPets")));

    let run = keys(&db, &["bump-epoch", "alice"]).ok();
    assert!(run.stdout.contains("now at epoch 1"), "{}", run.stdout);
    assert_eq!(alice(&db)[0]["status_reason"], "owner epoch bumped");
    assert_eq!(
        verify(&db, &API_KEY, &key, "GET", "listPets"),
        Verdict::Revoked
    );
    let fresh = create(&db, &["--name", "new laptop", "--owner", "alice"]);
    assert_eq!(fresh["owner_epoch"], 1);
    assert!(granted(&verify(
        &db,
        &API_KEY,
        &api_key(&text(&fresh, "key")),
        "GET",
        "x"
    )));
    assert_eq!(
        ids(&list(&db, &["--owner", "alice", "--status", "active"])),
        [text(&fresh, "id")]
    );
}

#[test]
fn an_unknown_key_id_fails_naming_it_and_the_database() {
    let dir = TempDir::new("unknown");
    let db = dir.file("keys.db");
    create(&db, &["--name", "one"]);
    for args in [
        &["show", "nosuchkey234"][..],
        &["revoke", "nosuchkey234"],
        &["rotate", "nosuchkey234", "--grace", "0"],
    ] {
        let run = keys(&db, args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("keygate: "), "{}", run.stderr);
        assert!(
            run.stderr.contains(&db.display().to_string()),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("no key with id `nosuchkey234`"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
}

#[test]
fn bad_values_are_usage_errors_and_create_nothing() {
    let dir = TempDir::new("usage");
    let db = dir.file("keys.db");
    for (args, bad) in [
        (&["create", "--name", "a", "--expires", "5x"][..], "5x"),
        (
            &["create", "--name", "a", "--expires", "2001-01-01"],
            "2001-01-01",
        ),
        (
            &["create", "--name", "a", "--methods", "GET,FETCH"],
            "FETCH",
        ),
        (&["create", "--name", "a", "--op", "createPet"], "createPet"),
        (
            &["create", "--name", "a", "--op", "x=GET", "--op", "x=POST"],
            "`x`",
        ),
        (&["rotate", "abc", "--grace", "5x"], "5x"),
    ] {
        let run = keys(&db, args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(bad), "{args:?}: {}", run.stderr);
    }
    assert!(!db.exists(), "a refused command created the database");
}

#[test]
fn spec_check_refuses_unknown_operations_and_schemes() {
    let dir = TempDir::new("spec");
    let db = dir.file("keys.db");
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/petstore.yaml");
    let spec = spec.to_str().expect("utf-8 path");
    let run = keys(
        &db,
        &[
            "create",
            "--name",
            "a",
            "--spec",
            spec,
            "--op",
            "creatPet=POST",
        ],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("no operation `creatPet`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `createPet`"),
        "{}",
        run.stderr
    );
    let run = keys(
        &db,
        &[
            "create", "--name", "a", "--spec", spec, "--scheme", "apikey",
        ],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("no security scheme `apikey`"),
        "{}",
        run.stderr
    );
    assert!(!db.exists(), "a refused key created the database");

    let made = create(
        &db,
        &[
            "--name",
            "a",
            "--spec",
            spec,
            "--op",
            "createPet=POST",
            "--scheme",
            "api_key",
        ],
    );
    assert_eq!(
        made["permissions"]["per_operation"]["createPet"],
        serde_json::json!(["POST"])
    );
}

#[test]
fn a_file_that_is_not_sqlite_is_reported_as_such() {
    let dir = TempDir::new("garbage");
    let db = dir.file("keys.db");
    let garbage = b"definitely not sqlite\n".repeat(100);
    std::fs::write(&db, &garbage).expect("write");
    for args in [
        &["list"][..],
        &["create", "--name", "a"],
        &["revoke", "abc"],
    ] {
        let run = keys(&db, args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("keygate: "), "{}", run.stderr);
        assert!(
            run.stderr.contains(&db.display().to_string()),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("not an SQLite database"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        std::fs::read(&db).expect("read"),
        garbage,
        "the file was changed"
    );
}

#[test]
fn a_locked_database_is_reported_after_a_bounded_wait() {
    let dir = TempDir::new("locked");
    let db = dir.file("keys.db");
    let id = text(&create(&db, &["--name", "a"]), "id");
    let holder = rusqlite::Connection::open(&db).expect("open");
    holder.execute_batch("BEGIN EXCLUSIVE").expect("lock");

    let started = Instant::now();
    let run = keys(&db, &["revoke", &id]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.starts_with("keygate: "), "{}", run.stderr);
    assert!(
        run.stderr.contains(&db.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("locked"), "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "waited {:?}",
        started.elapsed()
    );
    // Readers are not blocked by a writer (WAL).
    assert_eq!(list(&db, &[])[0]["status"], "active");

    holder.execute_batch("ROLLBACK").expect("unlock");
    keys(&db, &["revoke", &id]).ok();
    assert_eq!(list(&db, &[])[0]["status"], "revoked");
}

#[test]
fn read_commands_on_a_missing_file_create_nothing() {
    let dir = TempDir::new("missing");
    let db = dir.file("keys.db");
    for args in [
        &["list"][..],
        &["show", "abc"],
        &["revoke", "abc"],
        &["disable-owner", "alice"],
    ] {
        let run = keys(&db, args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        let expected = format!("keygate: no database exists at {}", db.display());
        assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
        assert!(run.stderr.contains("create --name"), "{}", run.stderr);
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read dir").collect();
    assert!(left.is_empty(), "files were created: {left:?}");
}

#[test]
fn the_database_path_can_come_from_keygate_db() {
    let dir = TempDir::new("env");
    let db = dir.file("from-env.db");
    let run: Run = Command::new(env!("CARGO_BIN_EXE_keygate"))
        .args(["keys", "create", "--name", "a", "--json"])
        .env("KEYGATE_DB", &db)
        .current_dir(dir.path())
        .output()
        .expect("run keygate")
        .into();
    let id = text(&run.ok().json(), "id");
    assert_eq!(ids(&list(&db, &[])), [id]);
    assert!(!dir.file("keygate.db").exists());
}

/// A document with operations without an `operationId` (issue 26, item 8).
const SPOTS: &str = r#"
openapi: 3.0.3
info: { title: spots, version: "1" }
components:
  securitySchemes:
    api_key: { type: apiKey, in: header, name: X-API-Key }
security: [{ api_key: [] }]
paths:
  /spots:
    get: { operationId: listSpots, responses: { "200": { description: ok } } }
  /spotsets/{id}:
    get: { responses: { "200": { description: ok } } }
    delete: { responses: { "200": { description: ok } } }
"#;

/// What a `Keyring` over the database says about `method path` of an operation without
/// an `operationId`.
fn verify_unnamed(db: &Path, credential: &Credential, method: &str, path: &str) -> Verdict {
    let ring = Keyring::new(SqliteStore::open(db).expect("open"));
    let request = VerifyRequest {
        scheme: &API_KEY,
        credential: credential.lend(),
        operation: OperationRef {
            method,
            path,
            operation_id: None,
        },
        request: None,
    };
    block_on(ring.verify(request)).expect("verify")
}

#[test]
fn operations_without_an_id_are_named_by_type_name_or_method_and_path() {
    let dir = TempDir::new("unnamed");
    let db = dir.file("keys.db");
    let spec = dir.file("spots.yaml");
    std::fs::write(&spec, SPOTS).expect("write spec");
    let spec = spec.to_str().expect("utf-8 path");
    let run = keys(
        &db,
        &[
            "create",
            "--json",
            "--name",
            "spots",
            "--spec",
            spec,
            "--op",
            "GetSpotsetsId=",
            "--op",
            "delete /spotsets/{id}=DELETE",
            "--op",
            "GET /spots=GET,HEAD",
        ],
    )
    .ok();
    let made = run.json();
    // Stored under the names the runtime looks up: `METHOD /path`, or the operationId.
    assert_eq!(
        made["permissions"]["per_operation"],
        serde_json::json!({
            "DELETE /spotsets/{id}": ["DELETE"],
            "GET /spotsets/{id}": [],
            "listSpots": ["GET", "HEAD"],
        })
    );
    assert!(
        run.stderr
            .contains("--op `GetSpotsetsId` is stored as `GET /spotsets/{id}`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("--op `GET /spots` is stored as `listSpots`"),
        "{}",
        run.stderr
    );
    let key = api_key(&text(&made, "key"));
    assert!(matches!(
        verify_unnamed(&db, &key, "GET", "/spotsets/{id}"),
        Verdict::Forbidden(_)
    ));
    assert!(granted(&verify_unnamed(
        &db,
        &key,
        "DELETE",
        "/spotsets/{id}"
    )));

    // A near miss is refused with what it meant, and creates nothing.
    let run = keys(
        &db,
        &[
            "create",
            "--name",
            "x",
            "--spec",
            spec,
            "--op",
            "GetSpotsetId=GET",
        ],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no operation `GetSpotsetId`; did you mean `GetSpotsetsId`?"),
        "{}",
        run.stderr
    );
    assert_eq!(list(&db, &[]).len(), 1);
}

#[test]
fn names_given_without_a_spec_are_stored_with_a_warning() {
    let dir = TempDir::new("unchecked");
    let db = dir.file("keys.db");
    let run = keys(
        &db,
        &[
            "create",
            "--json",
            "--name",
            "typo",
            "--op",
            "creatPet=POST",
            "--op",
            "get /pets/{id}=GET",
            "--scheme",
            "apikey",
        ],
    )
    .ok();
    assert!(
        run.stderr.contains(
            "warning: without --spec these names are stored unchecked: --op `creatPet`, \
             --op `GET /pets/{id}`, --scheme `apikey`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Keyring::check_names"),
        "{}",
        run.stderr
    );
    // `METHOD /path` is stored as the runtime looks it up, even unchecked.
    assert_eq!(
        run.json()["permissions"]["per_operation"],
        serde_json::json!({ "GET /pets/{id}": ["GET"], "creatPet": ["POST"] })
    );
    // Nothing to check, nothing to warn about.
    let plain = keys(&db, &["create", "--name", "plain"]).ok();
    assert!(!plain.stderr.contains("unchecked"), "{}", plain.stderr);
}

#[test]
fn create_says_when_the_key_is_usable_in_the_query_string() {
    let dir = TempDir::new("query");
    let db = dir.file("keys.db");
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/petstore.yaml");
    let spec = spec.to_str().expect("utf-8 path");
    let every_scheme = keys(&db, &["create", "--name", "all", "--spec", spec]).ok();
    assert!(
        every_scheme.stderr.contains(
            "warning: this key is usable in the query string: scheme `query_key` reads it \
             from the query parameter `api_key`"
        ),
        "{}",
        every_scheme.stderr
    );
    let named = keys(
        &db,
        &[
            "create",
            "--name",
            "q",
            "--spec",
            spec,
            "--scheme",
            "query_key",
        ],
    )
    .ok();
    assert!(
        named.stderr.contains("usable in the query string"),
        "{}",
        named.stderr
    );
    let header = keys(
        &db,
        &[
            "create", "--name", "h", "--spec", spec, "--scheme", "api_key",
        ],
    )
    .ok();
    assert!(!header.stderr.contains("query"), "{}", header.stderr);
}

#[test]
fn list_shows_roles_and_schemes() {
    let dir = TempDir::new("columns");
    let db = dir.file("keys.db");
    let limited = create(
        &db,
        &[
            "--name",
            "limited",
            "--roles",
            "writer,admin",
            "--scheme",
            "api_key",
            "--scheme",
            "bearer",
        ],
    );
    let open = create(&db, &["--name", "open"]);
    let table = keys(&db, &["list"]).ok().stdout;
    let cells = |line: &str| -> Vec<String> {
        let cells = line.split("  ").map(str::trim).filter(|c| !c.is_empty());
        cells.map(str::to_owned).collect()
    };
    let lines: Vec<&str> = table.lines().collect();
    let header = cells(lines[0]);
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column:\n{table}"))
    };
    let (roles, schemes) = (column("ROLES"), column("SCHEMES"));
    let row = |id: &str| {
        let line = lines.iter().find(|l| l.starts_with(id)).expect("a row");
        cells(line)
    };
    let limited = row(&text(&limited, "id"));
    assert_eq!(
        (&*limited[roles], &*limited[schemes]),
        ("admin,writer", "api_key,bearer")
    );
    let open = row(&text(&open, "id"));
    assert_eq!((&*open[roles], &*open[schemes]), ("-", "all"));
}
