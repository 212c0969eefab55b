//! `keygate keys --db postgres://..`: the same commands as on an SQLite file, against the
//! real PostgreSQL server of `KEYGATE_TEST_DATABASE_URL`, with the keys they make checked
//! by the runtime's `Keyring` over the same database, in a schema of the test's own.

use std::process::Command;

use keygate::keys::{AuditQuery, KeyRecord, KeyStore, Keyring, PostgresStore};
use keygate::spec::{Location, Scheme, SchemeKind};
use keygate::{Credential, OperationRef, Verdict, Verifier, VerifyRequest};
use secrecy::SecretString;
use serde_json::Value;

const API_KEY: Scheme = Scheme {
    name: "api_key",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-API-Key",
    },
};

/// A schema of this test's own on the test server, dropped before and after.
struct Schema {
    url: String,
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl Schema {
    fn new(test: &str) -> Option<Schema> {
        let url = keygate_tests::postgres_url()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let schema = Schema {
            url,
            name: format!("kgt_cli_{test}_{}", std::process::id()),
            runtime,
        };
        schema.drop_schema();
        Some(schema)
    }

    fn drop_schema(&self) {
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        self.runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                .await
                .expect("connect to KEYGATE_TEST_DATABASE_URL");
            tokio::spawn(connection);
            client.batch_execute(&sql).await.expect("drop the schema");
        });
    }

    /// `keygate keys --db URL --schema NAME <args>`, as JSON when it prints any.
    #[track_caller]
    fn keys(&self, args: &[&str]) -> Value {
        let output = Command::new(env!("CARGO_BIN_EXE_keygate"))
            .args(["keys", "--db", &self.url, "--schema", &self.name])
            .args(args)
            .env_remove("KEYGATE_DB")
            .env_remove("KEYGATE_PG_SCHEMA")
            .env("USER", "pgadmin")
            .output()
            .expect("run keygate");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "keygate keys {args:?}: {}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or(Value::Null)
    }

    /// `keygate keys --db URL --schema NAME <args>`: exit code, stdout and stderr.
    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_keygate"))
            .args(["keys", "--db", &self.url, "--schema", &self.name])
            .args(args)
            .env_remove("KEYGATE_DB")
            .env_remove("KEYGATE_PG_SCHEMA")
            .env("USER", "pgadmin")
            .output()
            .expect("run keygate");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// The store over this schema, as the app opens it.
    fn store(&self) -> PostgresStore {
        self.runtime.block_on(async {
            let store = PostgresStore::builder(&self.url).schema(&self.name);
            store.connect().await.expect("connect the store")
        })
    }

    /// The key `id` as the store holds it.
    fn record(&self, id: &str) -> Option<KeyRecord> {
        let store = self.store();
        self.runtime
            .block_on(store.get(id))
            .expect("get")
            .map(std::sync::Arc::unwrap_or_clone)
    }

    /// What the runtime's keyring over this schema says of `key` on `listPets`.
    fn verify(&self, key: &str) -> Verdict {
        let store = self.store();
        self.runtime.block_on(async {
            let ring = Keyring::new(store);
            let credential = Credential::Key(SecretString::from(key.to_owned()));
            let request = VerifyRequest {
                scheme: &API_KEY,
                credential: credential.lend(),
                operation: OperationRef {
                    method: "GET",
                    path: "/pets",
                    operation_id: Some("listPets"),
                },
                request: None,
            };
            ring.verify(request).await.expect("verify")
        })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.drop_schema();
    }
}

fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no `{field}` in {value}"))
        .to_owned()
}

#[test]
fn every_command_works_on_postgresql() {
    let Some(db) = Schema::new("commands") else {
        return;
    };
    let created = db.keys(&["create", "--json", "--name", "pg", "--owner", "alice"]);
    let (id, key) = (text(&created, "id"), text(&created, "key"));
    assert!(matches!(db.verify(&key), Verdict::Granted(_)));

    let listed = db.keys(&["list", "--json"]);
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(text(&db.keys(&["show", &id, "--json"]), "status"), "active");

    let rotated = db.keys(&["rotate", &id, "--grace", "0", "--json"]);
    let new_key = text(&rotated, "key");
    assert!(
        matches!(db.verify(&key), Verdict::Invalid),
        "the old secret"
    );
    assert!(matches!(db.verify(&new_key), Verdict::Granted(_)));

    db.keys(&["disable-owner", "alice"]);
    assert!(matches!(db.verify(&new_key), Verdict::Disabled));
    assert_eq!(
        text(&db.keys(&["show", &id, "--json"]), "status"),
        "disabled"
    );
    db.keys(&["enable-owner", "alice"]);
    assert!(matches!(db.verify(&new_key), Verdict::Granted(_)));

    db.keys(&["revoke", &id]);
    assert!(matches!(db.verify(&new_key), Verdict::Revoked));
    let revoked = db.keys(&["list", "--json", "--status", "revoked"]);
    assert_eq!(
        revoked["items"].as_array().map(Vec::len),
        Some(1),
        "{revoked}"
    );
}

/// A URL's password never reaches the terminal, even when the server is not there.
#[test]
fn a_postgresql_url_is_shown_without_its_password() {
    let output = Command::new(env!("CARGO_BIN_EXE_keygate"))
        .args([
            "keys",
            "--db",
            "postgres://keygate:s3cretpw@127.0.0.1:1/keys",
            "list",
        ])
        .env_remove("KEYGATE_DB")
        .output()
        .expect("run keygate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("keygate: postgres://keygate@127.0.0.1:1/keys (schema keygate): "),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cretpw"), "{stderr}");
}

/// The commands of issue 27 on PostgreSQL: update, disable, enable, delete, owners,
/// audit, and list pages, each checked through the store or a keyring.
#[test]
fn lifecycle_owner_and_audit_commands_work_on_postgresql() {
    let Some(db) = Schema::new("lifecycle") else {
        return;
    };
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for (name, owner) in [
        ("a", "alice"),
        ("b", "alice"),
        ("c", "bob"),
        ("d", "bob"),
        ("e", "carol"),
    ] {
        let made = db.keys(&["create", "--json", "--name", name, "--owner", owner]);
        ids.push(text(&made, "id"));
        keys.push(text(&made, "key"));
    }

    // update: the fields change, the secret stays.
    let updated = db.keys(&[
        "update",
        &ids[0],
        "--json",
        "--name",
        "renamed",
        "--expires-at",
        "2099-12-31",
        "--methods",
        "GET,POST",
        "--op",
        "listPets=",
        "--metadata",
        r#"{"team":"web"}"#,
    ]);
    assert_eq!(updated["name"], "renamed");
    assert_eq!(updated["expires_at"], "2100-01-01T00:00:00Z");
    let stored = db.record(&ids[0]).expect("kept");
    assert_eq!(stored.expires_at, Some(4_102_444_800));
    assert_eq!(stored.metadata["team"], "web");
    assert!(
        matches!(db.verify(&keys[0]), Verdict::Forbidden(_)),
        "listPets denied"
    );
    let (code, _, stderr) = db.run(&["update", &ids[0]]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("nothing to change"), "{stderr}");
    let (code, _, stderr) = db.run(&["update", "nosuchkey234", "--name", "x"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no key with id `nosuchkey234`"), "{stderr}");
    assert!(stderr.contains("(schema kgt_cli_lifecycle_"), "{stderr}");
    assert!(
        !stderr.contains(":keygate@"),
        "the password is shown: {stderr}"
    );

    // disable / enable.
    db.keys(&["disable", &ids[1]]);
    assert!(matches!(db.verify(&keys[1]), Verdict::Disabled));
    db.keys(&["enable", &ids[1]]);
    assert!(matches!(db.verify(&keys[1]), Verdict::Granted(_)));

    // list: pages of two cover the five keys once each; a filter pages too.
    let walk = |args: &[&str]| -> Vec<String> {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut all = vec!["list", "--json", "--limit", "2"];
            all.extend_from_slice(args);
            if let Some(c) = &cursor {
                all.extend(["--cursor", c.as_str()]);
            }
            let page = db.keys(&all);
            let items = page["items"].as_array().expect("items").clone();
            seen.extend(items.iter().map(|item| text(item, "id")));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        seen.sort();
        seen
    };
    let mut every = ids.clone();
    every.sort();
    assert_eq!(walk(&[]), every);
    let mut bobs = ids[2..4].to_vec();
    bobs.sort();
    assert_eq!(walk(&["--owner", "bob"]), bobs);
    assert_eq!(walk(&["--name", "renamed"]), [ids[0].clone()]);

    // owners.
    let owners = db.keys(&["owners", "list", "--json", "--limit", "2"]);
    assert_eq!(owners["next_cursor"], "bob", "{owners}");
    assert_eq!(owners["items"][0]["keys"], 2, "{owners}");
    let bob = db.keys(&["owners", "show", "bob", "--json"]);
    assert_eq!(
        bob,
        serde_json::json!({"id": "bob", "enabled": true, "epoch": 0, "keys": 2})
    );
    db.keys(&["owners", "bump-epoch", "carol"]);
    assert!(matches!(db.verify(&keys[4]), Verdict::Revoked));
    let (code, _, stderr) = db.run(&["owners", "delete", "bob"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(db.record(&ids[2]).is_some(), "deleted without --yes");
    let (code, stdout, stderr) = db.run(&["owners", "delete", "bob", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("deleted owner `bob` and its 2 keys"),
        "{stdout}"
    );
    assert!(db.record(&ids[2]).is_none() && db.record(&ids[3]).is_none());
    assert!(matches!(db.verify(&keys[2]), Verdict::Invalid));

    // delete.
    let (code, _, stderr) = db.run(&["delete", &ids[1]]);
    assert_eq!(code, Some(2), "{stderr}");
    db.keys(&["delete", &ids[1], "--yes"]);
    assert!(db.record(&ids[1]).is_none());
    assert!(matches!(db.verify(&keys[1]), Verdict::Invalid));

    // audit: every change above, by the CLI's OS user, with its fields.
    let store = db.store();
    let log = db
        .runtime
        .block_on(store.audit(AuditQuery::new().target(ids[0].clone())))
        .expect("audit");
    assert_eq!(log.entries[0].actor, "pgadmin");
    let page = db.keys(&["audit", "--json", "--target", &ids[0]]);
    let items = page["items"].as_array().expect("items").clone();
    let actions: Vec<String> = items.iter().map(|e| text(e, "action")).collect();
    assert_eq!(actions, ["update", "create"]);
    assert_eq!(items[0]["actor_kind"], "cli");
    assert_eq!(items[0]["actor"], "pgadmin");
    let fields: Vec<&str> = items[0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(fields, ["name", "expires_at", "permissions", "metadata"]);
    let (_, table, _) = db.run(&["audit", "--actor", "cli:pgadmin", "--limit", "3"]);
    assert!(table.contains("cli:pgadmin  delete "), "{table}");
    assert!(
        table
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("next page: keygate keys audit --cursor ")),
        "{table}"
    );
    for key in &keys {
        let secret = key.rsplit('_').next().unwrap_or(key);
        assert!(!table.contains(secret), "a secret in the audit: {table}");
    }
}
