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
use serde_json::{json, Value};

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

/// Without a variable naming the user (as in many containers), the CLI names its user id
/// rather than nobody.
#[cfg(target_os = "linux")]
#[test]
fn without_a_user_variable_changes_name_the_user_id() {
    use std::os::unix::fs::MetadataExt;
    let dir = TempDir::new("uid");
    let db = dir.file("keys.db");
    let made: Value = Run::from(
        Command::new(env!("CARGO_BIN_EXE_keygate"))
            .args(["keys", "--db"])
            .arg(&db)
            .args(["create", "--json", "--name", "k"])
            .env_remove("KEYGATE_DB")
            .env_remove("USER")
            .env_remove("LOGNAME")
            .env_remove("USERNAME")
            .output()
            .expect("run keygate"),
    )
    .ok()
    .json();
    let uid = std::fs::metadata("/proc/self").expect("/proc/self").uid();
    assert_eq!(
        made["created_by"],
        json!({ "kind": "cli", "name": format!("uid-{uid}") })
    );
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
    assert_eq!(
        made["created_by"],
        json!({ "kind": "cli", "name": "alice" })
    );
    as_user("bob", &["revoke", &id]).ok();
    // The creator stays alice's, whoever changes the key or shows it.
    let shown = as_user("dave", &["show", &id]).ok();
    assert_eq!(shown.field("created by"), "cli:alice");
    let shown = as_user("dave", &["show", &id, "--json"]).ok().json();
    assert_eq!(
        shown["created_by"],
        json!({ "kind": "cli", "name": "alice" })
    );
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
        &["update", "nosuchkey234", "--name", "x"],
        &["disable", "nosuchkey234"],
        &["enable", "nosuchkey234"],
        &["delete", "nosuchkey234", "--yes"],
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
        &["owners", "list"],
        &["owners", "delete", "alice", "--yes"],
        &["audit"],
        &["update", "abc", "--name", "x"],
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

/// `keygate keys` as the OS user `user`.
fn keys_as(db: &Path, user: &str, args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_keygate"))
        .arg("keys")
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("KEYGATE_DB")
        .env("USER", user)
        .output()
        .expect("run keygate")
        .into()
}

fn record(db: &Path, id: &str) -> Option<keygate::keys::KeyRecord> {
    let store = SqliteStore::open(db).expect("open");
    block_on(store.get(id))
        .expect("get")
        .map(std::sync::Arc::unwrap_or_clone)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[test]
fn update_changes_the_fields_it_names_and_keeps_the_secret() {
    let dir = TempDir::new("update");
    let db = dir.file("keys.db");
    let made = create(
        &db,
        &[
            "--name",
            "old",
            "--description",
            "was",
            "--op",
            "createPet=POST",
            "--roles",
            "a",
            "--expires",
            "7d",
        ],
    );
    let (id, key) = (text(&made, "id"), api_key(&text(&made, "key")));
    let post = |db: &Path| verify(db, &API_KEY, &key, "POST", "createPet");
    let delete = |db: &Path| verify(db, &API_KEY, &key, "DELETE", "deletePet");
    assert!(granted(&post(&db)));
    assert!(matches!(delete(&db), Verdict::Forbidden(_)));

    let updated = keys(
        &db,
        &[
            "update",
            &id,
            "--json",
            "--name",
            "new",
            "--no-description",
            "--expires-in",
            "30d",
            "--full",
            "--remove-op",
            "createPet",
            "--op",
            "listPets=",
            "--roles",
            "x,y",
            "--scheme",
            "api_key",
            "--metadata",
            r#"{"team":"web","tier":2}"#,
        ],
    )
    .ok()
    .json();
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["name"], "new");
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(updated["roles"], serde_json::json!(["x", "y"]));
    assert_eq!(updated["schemes"], serde_json::json!(["api_key"]));
    assert_eq!(
        updated["metadata"],
        serde_json::json!({"team": "web", "tier": 2})
    );
    assert_eq!(
        updated["permissions"],
        serde_json::json!({
            "preset": "custom",
            "default_methods": ["*"],
            "per_operation": { "listPets": [] },
        })
    );
    // The expiry counts from now, not from creation; the store holds the same.
    let stored = record(&db, &id).expect("kept");
    let expires = stored.expires_at.expect("an expiry");
    assert!((expires - (now() + 30 * 86_400)).abs() < 60, "{expires}");
    assert_eq!(stored.metadata["team"], "web");

    // The same key, with what the update gave it: the keyring reads the new fields.
    assert!(granted(&delete(&db)), "--full now allows DELETE");
    assert!(granted(&post(&db)), "the createPet override is gone");
    let Verdict::Granted(principal) = post(&db) else {
        panic!("not granted");
    };
    assert_eq!(principal.metadata()["tier"], 2);
    assert!(matches!(
        verify(&db, &API_KEY, &key, "GET", "listPets"),
        Verdict::Forbidden(_)
    ));

    let cleared = keys(
        &db,
        &[
            "update",
            &id,
            "--no-expiry",
            "--all-schemes",
            "--no-roles",
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(cleared["expires_at"], Value::Null);
    assert_eq!(cleared["schemes"], Value::Null);
    assert_eq!(cleared["roles"], serde_json::json!([]));
    assert_eq!(cleared["name"], "new", "fields not named stay");
    let dated = keys(&db, &["update", &id, "--expires-at", "2099-12-31"]).ok();
    assert_eq!(dated.field("expires"), "2100-01-01T00:00:00Z");
    let timed = keys(
        &db,
        &["update", &id, "--expires-at", "2099-06-01T12:00:00+02:00"],
    )
    .ok();
    assert_eq!(timed.field("expires"), "2099-06-01T10:00:00Z");
    assert_eq!(
        record(&db, &id).and_then(|r| r.expires_at),
        Some(4_083_991_200)
    );
}

#[test]
fn update_refusals_name_the_problem() {
    let dir = TempDir::new("update-refused");
    let db = dir.file("keys.db");
    let made = create(&db, &["--name", "k", "--op", "createPet=POST"]);
    let id = text(&made, "id");
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/petstore.yaml");
    let spec = spec.to_str().expect("utf-8 path");
    for (args, code, says) in [
        (&["update", &id][..], 2, "nothing to change"),
        (&["update", &id, "--json"], 2, "nothing to change"),
        (&["update", &id, "--metadata", "[1]"], 2, "--metadata"),
        (&["update", &id, "--metadata", "{team}"], 2, "not JSON"),
        (&["update", &id, "--expires-in", "0s"], 2, "--expires-in"),
        (
            &["update", &id, "--expires-at", "2001-01-01"],
            2,
            "in the past",
        ),
        (
            &["update", &id, "--no-expiry", "--expires-in", "1d"],
            2,
            "--expires-in",
        ),
        (
            &["update", &id, "--op", "a=GET", "--remove-op", "a"],
            2,
            "`a`",
        ),
        (
            &["update", &id, "--remove-op", "deletePet"],
            1,
            "has no override for this operation (it has: createPet)",
        ),
        (
            &["update", &id, "--spec", spec, "--remove-op", "creatPet"],
            1,
            "--remove-op `creatPet`",
        ),
        (
            &["update", &id, "--spec", spec, "--scheme", "apikey"],
            1,
            "no security scheme `apikey`",
        ),
        (
            &["update", "nosuchkey234", "--name", "x"],
            1,
            "no key with id `nosuchkey234`",
        ),
    ] {
        let run = keys(&db, args);
        assert_eq!(run.code, Some(code), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    let unknown = keys(&db, &["update", "nosuchkey234", "--name", "x"]);
    assert!(
        unknown.stderr.contains(&db.display().to_string()),
        "{}",
        unknown.stderr
    );
    // Nothing changed, and nothing was logged but the creation.
    assert_eq!(record(&db, &id).expect("kept").name, "k");
    let store = SqliteStore::open(&db).expect("open");
    let log = block_on(store.audit(AuditQuery::new())).expect("audit");
    assert_eq!(log.entries.len(), 1);

    // With --spec, a removal is found under any name the operation answers to.
    let run = keys(
        &db,
        &["update", &id, "--spec", spec, "--remove-op", "post /pets"],
    )
    .ok();
    assert!(
        run.stderr
            .contains("--remove-op `POST /pets` is stored as `createPet`"),
        "{}",
        run.stderr
    );
    let permissions = record(&db, &id).expect("kept").permissions;
    assert!(permissions.per_operation.is_empty(), "{permissions:?}");
}

#[test]
fn disable_enable_and_delete_act_on_verification() {
    let dir = TempDir::new("disable");
    let db = dir.file("keys.db");
    let made = create(&db, &["--name", "k"]);
    let other = create(&db, &["--name", "other"]);
    let (id, key) = (text(&made, "id"), api_key(&text(&made, "key")));
    let verdict = |db: &Path| verify(db, &API_KEY, &key, "GET", "listPets");

    let run = keys(&db, &["disable", &id]).ok();
    assert!(
        run.stdout.contains(&format!("disabled key `{id}`")),
        "{}",
        run.stdout
    );
    assert_eq!(verdict(&db), Verdict::Disabled);
    assert_eq!(ids(&list(&db, &["--status", "disabled"])), [id.as_str()]);
    let again = keys(&db, &["disable", &id]).ok();
    assert!(
        again.stdout.contains("already disabled"),
        "{}",
        again.stdout
    );

    let run = keys(&db, &["enable", &id]).ok();
    assert!(
        run.stdout.contains("its status now: active"),
        "{}",
        run.stdout
    );
    assert!(granted(&verdict(&db)));
    let again = keys(&db, &["enable", &id]).ok();
    assert!(
        again.stdout.contains("was already enabled"),
        "{}",
        again.stdout
    );

    // Delete is permanent, so it needs --yes; without it nothing happens.
    let refused = keys(&db, &["delete", &id]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert!(refused.stderr.contains("for good"), "{}", refused.stderr);
    assert!(record(&db, &id).is_some());

    let run = keys(&db, &["delete", &id, "--yes"]).ok();
    assert!(
        run.stdout.contains(&format!("deleted key `{id}`")),
        "{}",
        run.stdout
    );
    assert_eq!(record(&db, &id), None);
    assert_eq!(verdict(&db), Verdict::Invalid);
    // The id stays among the deleted ones, which the store never issues again.
    let sqlite = rusqlite::Connection::open(&db).expect("open");
    let kept: i64 = sqlite
        .query_row(
            "SELECT count(*) FROM deleted_keys WHERE id = ?1",
            [&id],
            |row| row.get(0),
        )
        .expect("deleted ids");
    assert_eq!(kept, 1);
    assert_eq!(ids(&list(&db, &[])), [text(&other, "id")]);
    for args in [
        &["show", &id][..],
        &["delete", &id, "--yes"],
        &["enable", &id],
    ] {
        let run = keys(&db, args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("no key with id `{id}`")),
            "{}",
            run.stderr
        );
    }
    // A revoked key cannot come back.
    let revoked = text(&other, "id");
    keys(&db, &["revoke", &revoked]).ok();
    let run = keys(&db, &["enable", &revoked]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("revoked for good"), "{}", run.stderr);
}

#[test]
fn owners_are_listed_shown_stopped_and_deleted() {
    let dir = TempDir::new("owners");
    let db = dir.file("keys.db");
    let a1 = create(&db, &["--name", "a1", "--owner", "alice"]);
    let a2 = create(&db, &["--name", "a2", "--owner", "alice"]);
    let b = create(&db, &["--name", "b", "--owner", "bob"]);
    for owner in ["carol", "dave"] {
        create(&db, &["--name", "x", "--owner", owner]);
    }
    let key = api_key(&text(&a1, "key"));
    let verdict = |db: &Path| verify(db, &API_KEY, &key, "GET", "listPets");

    // Pages of two cover the four owners once each, in id order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["owners", "list", "--json", "--limit", "2"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let page = keys(&db, &args).ok().json();
        for item in page["items"].as_array().expect("items") {
            seen.push((text(item, "id"), item["keys"].as_u64()));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<(String, Option<u64>)> =
        [("alice", 2), ("bob", 1), ("carol", 1), ("dave", 1)]
            .iter()
            .map(|(o, n)| ((*o).to_owned(), Some(*n)))
            .collect();
    assert_eq!(seen, expected);
    let table = keys(&db, &["owners", "list", "--limit", "3"]).ok().stdout;
    assert!(
        table.ends_with("next page: keygate keys owners list --cursor carol --limit 3\n"),
        "{table}"
    );

    let shown = keys(&db, &["owners", "show", "alice", "--json"])
        .ok()
        .json();
    assert_eq!(
        shown,
        serde_json::json!({"id": "alice", "enabled": true, "epoch": 0, "keys": 2})
    );
    keys(&db, &["owners", "disable", "alice"]).ok();
    assert_eq!(verdict(&db), Verdict::Disabled);
    let shown = keys(&db, &["owners", "show", "alice"]).ok();
    assert_eq!(shown.field("enabled"), "no");
    keys(&db, &["owners", "enable", "alice"]).ok();
    assert!(granted(&verdict(&db)));
    let bumped = keys(&db, &["owners", "bump-epoch", "bob"]).ok();
    assert!(
        bumped.stdout.contains("now at epoch 1"),
        "{}",
        bumped.stdout
    );
    assert_eq!(
        keys(&db, &["owners", "show", "bob"]).ok().field("epoch"),
        "1"
    );

    let refused = keys(&db, &["owners", "delete", "alice"]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert!(granted(&verdict(&db)));

    let run = keys(&db, &["owners", "delete", "alice", "--yes"]).ok();
    assert!(
        run.stdout.contains("deleted owner `alice` and its 2 keys"),
        "{}",
        run.stdout
    );
    assert_eq!(verdict(&db), Verdict::Invalid);
    for made in [&a1, &a2] {
        assert_eq!(record(&db, &text(made, "id")), None);
    }
    assert!(record(&db, &text(&b, "id")).is_some());
    assert!(list(&db, &["--owner", "alice"]).is_empty());
    for args in [
        &["owners", "show", "alice"][..],
        &["owners", "delete", "alice", "--yes"],
    ] {
        let run = keys(&db, args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("no owner with id `alice`"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn audit_shows_who_changed_what_and_never_a_secret() {
    let dir = TempDir::new("audit-cmd");
    let db = dir.file("keys.db");
    let made: Value = keys_as(
        &db,
        "alice",
        &["create", "--json", "--name", "k", "--owner", "o"],
    )
    .ok()
    .json();
    let (id, secret) = (text(&made, "id"), text(&made, "secret"));
    keys_as(
        &db,
        "bob",
        &["update", &id, "--name", "k2", "--expires-at", "2099-12-31"],
    )
    .ok();
    keys_as(&db, "bob", &["disable", &id]).ok();
    keys_as(&db, "carol", &["owners", "disable", "o"]).ok();
    let rotated = keys_as(&db, "carol", &["rotate", &id, "--grace", "1h", "--json"])
        .ok()
        .json();

    let page = keys(&db, &["audit", "--json"]).ok().json();
    let items = page["items"].as_array().expect("items").clone();
    let seen: Vec<(String, String, String, String)> = items
        .iter()
        .map(|e| {
            (
                text(e, "actor_kind"),
                text(e, "actor"),
                text(e, "action"),
                text(e, "target"),
            )
        })
        .collect();
    let row = |kind: &str, actor: &str, action: &str, target: &str| {
        (
            kind.to_owned(),
            actor.to_owned(),
            action.to_owned(),
            target.to_owned(),
        )
    };
    assert_eq!(
        seen,
        [
            row("cli", "carol", "rotate", &id),
            row("cli", "carol", "disable_owner", "o"),
            row("cli", "bob", "disable", &id),
            row("cli", "bob", "update", &id),
            row("cli", "alice", "create", &id),
        ]
    );
    assert_eq!(page["next_cursor"], Value::Null);
    let update = &items[3];
    assert_eq!(
        update["changes"],
        serde_json::json!([
            { "field": "name", "before": "k", "after": "k2" },
            { "field": "expires_at", "before": null, "after": 4_102_444_800_i64 },
        ])
    );

    let table = keys(&db, &["audit", "--target", &id]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(
        lines[0].starts_with("TIME") && lines[0].ends_with("CHANGES"),
        "{}",
        lines[0]
    );
    let updated = lines
        .iter()
        .find(|l| l.contains(" update "))
        .expect("update row");
    assert!(updated.contains("cli:bob"), "{updated}");
    assert!(updated.contains(&format!("key:{id}")), "{updated}");
    assert!(
        updated.contains(r#"name: "k" → "k2"; expires_at: null → 2100-01-01T00:00:00Z"#),
        "{updated}"
    );
    let json_text = keys(&db, &["audit", "--json"]).ok().stdout;
    for output in [&table, &json_text] {
        assert!(!output.contains(&secret), "a secret in the audit: {output}");
        assert!(!output.contains(&text(&rotated, "secret")), "{output}");
        assert!(!output.contains("hash"), "{output}");
    }

    // Filters: actor by name or kind and name, time, and pages that chain.
    let actors = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["audit", "--json"];
        all.extend_from_slice(args);
        let page = keys(&db, &all).ok().json();
        let items = page["items"].as_array().expect("items").clone();
        items.iter().map(|e| text(e, "action")).collect()
    };
    assert_eq!(actors(&["--actor", "bob"]), ["disable", "update"]);
    assert_eq!(actors(&["--actor", "cli:bob"]), ["disable", "update"]);
    assert!(actors(&["--actor", "app:bob"]).is_empty());
    assert!(actors(&["--since", "2099-01-01"]).is_empty());
    assert!(actors(&["--until", "2000-01-01"]).is_empty());
    assert_eq!(actors(&["--since", "1h"]).len(), 5);
    assert_eq!(actors(&["--target", "o"]), ["disable_owner"]);
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["audit", "--json", "--limit", "2"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let page = keys(&db, &args).ok().json();
        let items = page["items"].as_array().expect("items").clone();
        walked.extend(items.iter().map(|e| text(e, "action")));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        walked,
        ["rotate", "disable_owner", "disable", "update", "create"]
    );
    let text_page = keys(&db, &["audit", "--limit", "1", "--actor", "cli:bob"])
        .ok()
        .stdout;
    let last = text_page.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("next page: keygate keys audit --cursor ")
            && last.ends_with(" --actor cli:bob --limit 1"),
        "{text_page}"
    );
}

#[test]
fn list_pages_cover_every_key_once() {
    let dir = TempDir::new("pages");
    let db = dir.file("keys.db");
    let mut all = Vec::new();
    let mut owned = Vec::new();
    for i in 0..7 {
        let name = format!("k{i}");
        let mut args = vec!["--name", name.as_str()];
        if i % 2 == 0 {
            args.extend(["--owner", "o"]);
        }
        let expires = if i < 3 { "7d" } else { "30d" };
        args.extend(["--expires", expires]);
        let id = text(&create(&db, &args), "id");
        if i % 2 == 0 {
            owned.push(id.clone());
        }
        all.push(id);
    }
    let walk = |args: &[&str], limit: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut page_args = vec!["--limit", limit];
            page_args.extend_from_slice(args);
            if let Some(c) = &cursor {
                page_args.extend(["--cursor", c.as_str()]);
            }
            let (items, next) = list_page(&db, &page_args);
            assert!(items.len() <= limit.parse().unwrap());
            out.extend(ids(&items));
            pages += 1;
            assert!(pages < 20, "the pages never end");
            match next {
                Some(next) => cursor = Some(next),
                None => return out,
            }
        }
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let every = walk(&[], "2");
    assert_eq!(every.len(), 7, "{every:?}");
    assert_eq!(sorted(every), sorted(all.clone()));
    assert_eq!(sorted(walk(&["--owner", "o"], "3")), sorted(owned.clone()));
    assert_eq!(walk(&["--name", "k3"], "1"), [all[3].clone()]);
    assert_eq!(
        sorted(walk(&["--expiring-before", "10d"], "2")),
        sorted(all[..3].to_vec())
    );
    // A status the owner decides is filtered page by page too.
    keys(&db, &["disable", &all[1]]).ok();
    keys(&db, &["owners", "disable", "o"]).ok();
    let mut disabled = owned.clone();
    disabled.push(all[1].clone());
    assert_eq!(
        sorted(walk(&["--status", "disabled"], "2")),
        sorted(disabled)
    );
    assert_eq!(
        sorted(walk(&["--status", "active"], "1")),
        sorted(vec![all[3].clone(), all[5].clone()])
    );

    // The text page ends with the command of the next one, which works as printed.
    let first = keys(&db, &["list", "--limit", "3", "--owner", "o"])
        .ok()
        .stdout;
    let last = first.lines().last().expect("lines");
    let command = last.strip_prefix("next page: keygate keys ").expect(last);
    let words: Vec<&str> = command.split(' ').collect();
    assert_eq!(words[0], "list");
    assert!(command.ends_with("--owner o --limit 3"), "{command}");
    let second = keys(&db, &words).ok().stdout;
    assert_eq!(
        second.lines().count(),
        2,
        "the header and the last key: {second}"
    );
    let shown = |table: &str| -> Vec<String> {
        let rows = table
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with("next page"));
        rows.map(|l| l.split(' ').next().unwrap_or("").to_owned())
            .collect()
    };
    let mut both = shown(&first);
    both.extend(shown(&second));
    assert_eq!(sorted(both), sorted(owned));
    let bad = keys(&db, &["list", "--cursor", "garbage"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("--cursor `garbage`"), "{}", bad.stderr);
}

#[test]
fn list_searches_names_and_pages_newest_first() {
    let dir = TempDir::new("search");
    let db = dir.file("keys.db");
    let names = ["Deploy-CI", "deploy-ci-2", "100%", "1000", "other"];
    let made: Vec<String> = names
        .iter()
        .map(|name| text(&create(&db, &["--name", name]), "id"))
        .collect();
    let names_of = |items: &[Value]| -> Vec<String> {
        let mut names: Vec<String> = items.iter().map(|item| text(item, "name")).collect();
        names.sort();
        names
    };
    assert_eq!(
        names_of(&list(&db, &["--name-contains", "dEpLoY-c"])),
        ["Deploy-CI", "deploy-ci-2"]
    );
    assert_eq!(names_of(&list(&db, &["--name-contains", "0%"])), ["100%"]);
    assert!(list(&db, &["--name-contains", "nothing"]).is_empty());

    // Newest first is the oldest-first list reversed, a page at a time.
    let mut newest = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["--newest-first", "--limit", "2"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let (items, next) = list_page(&db, &args);
        newest.extend(ids(&items));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut oldest = ids(&list(&db, &[]));
    assert_eq!(oldest.len(), made.len());
    oldest.reverse();
    assert_eq!(newest, oldest);

    // The next page's command carries the search and the order, and works as printed.
    let first = keys(
        &db,
        &[
            "list",
            "--limit",
            "1",
            "--name-contains",
            "ci",
            "--newest-first",
        ],
    )
    .ok()
    .stdout;
    let last = first.lines().last().expect("lines");
    let command = last.strip_prefix("next page: keygate keys ").expect(last);
    assert!(
        command.starts_with("list --cursor newest.")
            && command.ends_with(" --name-contains ci --newest-first --limit 1"),
        "{command}"
    );
    let words: Vec<&str> = command.split(' ').collect();
    let second = keys(&db, &words).ok().stdout;
    let row_names = |table: &str| -> Vec<String> {
        let rows = table
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with("next page"));
        rows.map(|l| l.split_whitespace().nth(1).unwrap_or("").to_owned())
            .collect()
    };
    let mut both = row_names(&first);
    both.extend(row_names(&second));
    both.sort();
    assert_eq!(both, ["Deploy-CI", "deploy-ci-2"], "{first}{second}");
    assert!(!second.contains("next page"), "{second}");

    // A cursor continues its own order only, and the error says which flag it needs.
    let newest_cursor = words[2];
    let crossed = keys(&db, &["list", "--cursor", newest_cursor]);
    assert_eq!(crossed.code, Some(2), "{}", crossed.stderr);
    assert!(
        crossed.stderr.contains("pass it with --newest-first"),
        "{}",
        crossed.stderr
    );
    let (_, oldest_cursor) = list_page(&db, &["--limit", "1"]);
    let oldest_cursor = oldest_cursor.expect("a next page");
    let crossed = keys(&db, &["list", "--newest-first", "--cursor", &oldest_cursor]);
    assert_eq!(crossed.code, Some(2), "{}", crossed.stderr);
    assert!(
        crossed.stderr.contains("without --newest-first"),
        "{}",
        crossed.stderr
    );
}
